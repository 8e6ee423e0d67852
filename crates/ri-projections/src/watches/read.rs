//! Reads of watches and notifications for their owners, the calendar feed, marking read, and
//! the deadline reminders. Every function names the tenant and the user it acts for; the
//! calendar feed is found by watch id and token hash alone.

use ri_domain::watch::WatchFilter;
use serde::Serialize;
use sqlx::PgPool;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::ChangedField;
use crate::catalogue::ReadError;

/// A watch as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRow {
    pub id: String,
    pub tenant: String,
    pub owner: String,
    /// The aggregate's version: the `expectedVersion` to send.
    pub version: i64,
    pub name: String,
    pub filter: WatchFilter,
    pub reminder_days: Vec<i32>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

type WatchTuple = (
    String,
    String,
    String,
    i64,
    String,
    Json<WatchFilter>,
    Vec<i32>,
    OffsetDateTime,
    OffsetDateTime,
);

macro_rules! watch_columns {
    () => {
        "SELECT id, tenant, owner, version, name, filter, reminder_days, created_at, \
         updated_at FROM watches"
    };
}

fn watch_row(t: WatchTuple) -> WatchRow {
    WatchRow {
        id: t.0,
        tenant: t.1,
        owner: t.2,
        version: t.3,
        name: t.4,
        filter: t.5.0,
        reminder_days: t.6,
        created_at: t.7,
        updated_at: t.8,
    }
}

/// The watches of `owner` in `tenant`, newest first.
pub async fn watches_of(
    pool: &PgPool,
    tenant: &str,
    owner: &str,
) -> Result<Vec<WatchRow>, ReadError> {
    let mut tx = pool.begin().await?;
    let rows: Vec<WatchTuple> = sqlx::query_as(concat!(
        watch_columns!(),
        " WHERE tenant = $1 AND owner = $2 ORDER BY created_at DESC, id"
    ))
    .bind(tenant)
    .bind(owner)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.into_iter().map(watch_row).collect())
}

/// Watch `id`, when `owner` of `tenant` owns it.
pub async fn watch(
    pool: &PgPool,
    tenant: &str,
    owner: &str,
    id: &str,
) -> Result<Option<WatchRow>, ReadError> {
    let mut tx = pool.begin().await?;
    let row: Option<WatchTuple> = sqlx::query_as(concat!(
        watch_columns!(),
        " WHERE id = $1 AND tenant = $2 AND owner = $3"
    ))
    .bind(id)
    .bind(tenant)
    .bind(owner)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(row.map(watch_row))
}

/// The instruments watch `id` follows (they meet its filter and are published), soonest
/// deadline first, at most `limit`.
pub async fn watched_instruments(
    pool: &PgPool,
    id: &str,
    limit: i64,
) -> Result<Vec<String>, ReadError> {
    let mut tx = pool.begin().await?;
    let value = sqlx::query_scalar(
        "SELECT m.instrument_id FROM watch_matches m \
         JOIN watch_instruments i ON i.id = m.instrument_id \
         WHERE m.watch_id = $1 AND m.current AND i.state->>'published_at' IS NOT NULL \
         ORDER BY coalesce(i.deadline, 'infinity'::timestamptz), i.id LIMIT $2",
    )
    .bind(id)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(value)
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationKind {
    /// An instrument newly matches a watch.
    NewMatch,
    /// A followed instrument changed.
    Changed,
    /// A followed instrument's deadline is near.
    DeadlineReminder,
    /// An instrument newly scores at or above a project's match threshold.
    ProjectMatch,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::NewMatch => "NEW_MATCH",
            NotificationKind::Changed => "CHANGED",
            NotificationKind::DeadlineReminder => "DEADLINE_REMINDER",
            NotificationKind::ProjectMatch => "PROJECT_MATCH",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "NEW_MATCH" => Some(NotificationKind::NewMatch),
            "CHANGED" => Some(NotificationKind::Changed),
            "DEADLINE_REMINDER" => Some(NotificationKind::DeadlineReminder),
            "PROJECT_MATCH" => Some(NotificationKind::ProjectMatch),
            _ => None,
        }
    }
}

/// One notification in a user's inbox; also the body of its NATS message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: Uuid,
    /// Order of creation: the page cursor.
    pub seq: i64,
    pub tenant: String,
    pub recipient: String,
    pub kind: NotificationKind,
    pub watch_id: Option<String>,
    /// For PROJECT_MATCH: the project.
    #[serde(default)]
    pub project_id: Option<String>,
    pub instrument_id: Option<String>,
    /// The instrument's title.
    pub title: String,
    pub message: String,
    /// For CHANGED: each field with its old and new value.
    pub changes: Vec<ChangedField>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub read_at: Option<OffsetDateTime>,
}

type NotificationTuple = (
    Uuid,
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Json<Vec<ChangedField>>,
    Option<OffsetDateTime>,
    OffsetDateTime,
    Option<OffsetDateTime>,
);

macro_rules! notification_columns {
    () => {
        "SELECT id, seq, tenant, recipient, kind, watch_id, project_id, instrument_id, title, \
         message, changes, deadline, created_at, read_at FROM notifications"
    };
}

fn notification(t: NotificationTuple) -> Notification {
    Notification {
        id: t.0,
        seq: t.1,
        tenant: t.2,
        recipient: t.3,
        // The table's CHECK admits only the three kinds.
        kind: NotificationKind::parse(&t.4).unwrap_or(NotificationKind::Changed),
        watch_id: t.5,
        project_id: t.6,
        instrument_id: t.7,
        title: t.8,
        message: t.9,
        changes: t.10.0,
        deadline: t.11,
        created_at: t.12,
        read_at: t.13,
    }
}

/// A page of a user's notifications, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    pub has_next: bool,
    /// Unread notifications in the whole inbox.
    pub unread: i64,
}

/// The notifications of `recipient` in `tenant`, newest first, after the one with sequence
/// `before` (the cursor), unread ones only if asked.
pub async fn notifications(
    pool: &PgPool,
    tenant: &str,
    recipient: &str,
    unread_only: bool,
    first: u32,
    before: Option<i64>,
) -> Result<NotificationPage, ReadError> {
    let mut tx = pool.begin().await?;
    let mut rows: Vec<NotificationTuple> = sqlx::query_as(concat!(
        notification_columns!(),
        " WHERE tenant = $1 AND recipient = $2 AND ($3 = false OR read_at IS NULL) \
          AND ($4::int8 IS NULL OR seq < $4) ORDER BY seq DESC LIMIT $5"
    ))
    .bind(tenant)
    .bind(recipient)
    .bind(unread_only)
    .bind(before)
    .bind(i64::from(first) + 1)
    .fetch_all(&mut *tx)
    .await?;
    let has_next = rows.len() > first as usize;
    rows.truncate(first as usize);
    let unread: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM notifications \
         WHERE tenant = $1 AND recipient = $2 AND read_at IS NULL",
    )
    .bind(tenant)
    .bind(recipient)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(NotificationPage {
        items: rows.into_iter().map(notification).collect(),
        has_next,
        unread,
    })
}

/// Marks notifications of `recipient` read: those in `ids`, or all when `ids` is `None`.
/// Returns how many were unread and are now read; others' ids are ignored.
pub async fn mark_notifications_read(
    pool: &PgPool,
    tenant: &str,
    recipient: &str,
    ids: Option<&[Uuid]>,
    at: OffsetDateTime,
) -> Result<u64, ReadError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "UPDATE notifications SET read_at = $4 \
         WHERE tenant = $1 AND recipient = $2 AND read_at IS NULL \
           AND ($3::uuid[] IS NULL OR id = ANY($3))",
    )
    .bind(tenant)
    .bind(recipient)
    .bind(ids)
    .bind(at)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// A watch's deadlines, for its calendar feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarFeed {
    pub watch_id: String,
    pub name: String,
    pub entries: Vec<CalendarEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEntry {
    pub instrument_id: String,
    pub title: String,
    pub deadline: OffsetDateTime,
    pub link: Option<String>,
    pub tenant: String,
    pub status: String,
    /// Changes with every change of the instrument (calendar clients update on it).
    pub version: i64,
}

type EntryTuple = (
    String,
    String,
    OffsetDateTime,
    Option<String>,
    String,
    String,
    i64,
);

/// The deadlines of the published instruments watch `id` follows, when `token_sha256` is the
/// hash of its feed token; `None` for an unknown watch or a wrong token alike.
pub async fn calendar_feed(
    pool: &PgPool,
    id: &str,
    token_sha256: &str,
) -> Result<Option<CalendarFeed>, ReadError> {
    let mut tx = pool.begin().await?;
    let name: Option<String> =
        sqlx::query_scalar("SELECT name FROM watches WHERE id = $1 AND calendar_token_sha256 = $2")
            .bind(id)
            .bind(token_sha256)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(name) = name else {
        tx.commit().await?;
        return Ok(None);
    };
    let rows: Vec<EntryTuple> = sqlx::query_as(
        "SELECT i.id, i.state->>'title', i.deadline, i.state->>'link', i.tenant, i.status, \
                 (i.state->>'version')::int8 \
             FROM watch_matches m JOIN watch_instruments i ON i.id = m.instrument_id \
             WHERE m.watch_id = $1 AND m.current AND i.deadline IS NOT NULL \
               AND i.status IN ('OPEN', 'CLOSED') AND i.state->>'published_at' IS NOT NULL \
             ORDER BY i.deadline, i.id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(CalendarFeed {
        watch_id: id.to_owned(),
        name,
        entries: rows
            .into_iter()
            .map(
                |(instrument_id, title, deadline, link, tenant, status, version)| CalendarEntry {
                    instrument_id,
                    title,
                    deadline,
                    link,
                    tenant,
                    status,
                    version,
                },
            )
            .collect(),
    }))
}

/// Makes the deadline reminders due at `now`: for each open instrument a watch follows, the
/// smallest of the watch's reminder days `d` with `deadline - d days <= now < deadline`, once
/// per (watch, instrument, d, deadline) — a moved deadline reminds again. Safe to run from
/// several processes at once (the id is derived from those four). Returns how many it made.
pub async fn issue_deadline_reminders(
    pool: &PgPool,
    now: OffsetDateTime,
) -> Result<u64, ReadError> {
    let done = sqlx::query(
        "INSERT INTO notifications (id, tenant, recipient, kind, watch_id, instrument_id, title, \
             message, deadline, created_at) \
         SELECT md5(concat_ws(':', 'reminder', w.id, i.id, d.day, \
                    extract(epoch FROM i.deadline)))::uuid, \
             w.tenant, w.owner, 'DEADLINE_REMINDER', w.id, i.id, i.state->>'title', \
             format('\"%s\" closes within %s day%s, on %s', i.state->>'title', d.day, \
                 CASE WHEN d.day = 1 THEN '' ELSE 's' END, \
                 to_char(i.deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')), \
             i.deadline, $1 \
         FROM watch_matches m \
         JOIN watches w ON w.id = m.watch_id \
         JOIN watch_instruments i ON i.id = m.instrument_id \
         CROSS JOIN LATERAL ( \
             SELECT min(x) AS day FROM unnest(w.reminder_days) AS x \
             WHERE i.deadline - make_interval(days => x) <= $1) AS d \
         WHERE m.current AND i.status = 'OPEN' AND i.deadline > $1 AND d.day IS NOT NULL \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// Up to `limit` notifications not yet published to NATS, oldest first.
pub async fn unpublished_notifications(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<Notification>, ReadError> {
    let rows: Vec<NotificationTuple> = sqlx::query_as(concat!(
        notification_columns!(),
        " WHERE published_at IS NULL ORDER BY seq LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(notification).collect())
}

/// Records that the notifications `ids` are in JetStream.
pub async fn mark_notifications_published(
    pool: &PgPool,
    ids: &[Uuid],
    at: OffsetDateTime,
) -> Result<(), ReadError> {
    sqlx::query("UPDATE notifications SET published_at = $2 WHERE id = ANY($1)")
        .bind(ids)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
}

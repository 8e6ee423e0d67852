//! Reads of watches and notifications for their owners, the calendar feed, marking read, and
//! the deadline reminders. Every function names the tenant and the user it acts for; the
//! calendar feed is found by watch id and token hash alone.

use ri_domain::watch::WatchFilter;
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, PgPool};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{ChangedField, MATCHES, MatchedProject};
const MAX_REMINDER_DAYS: u16 = ri_domain::watch::ReminderDays::MAX_DAYS;
use super::notices::ROW_SPAN;
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
    let value = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT i.id FROM watches w JOIN watch_instruments i ON i.published \
         WHERE w.id = $1 AND {MATCHES} \
         ORDER BY coalesce(i.deadline, 'infinity'::timestamptz), i.id LIMIT $2",
    )))
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
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub id: Uuid,
    /// Order of creation: the page cursor.
    pub seq: i64,
    pub tenant: String,
    pub recipient: String,
    pub kind: NotificationKind,
    pub watch_id: Option<String>,
    /// For PROJECT_MATCH: the best-scoring project of `matches`.
    #[serde(default)]
    pub project_id: Option<String>,
    /// For PROJECT_MATCH: every project of the tenant that the event made match, best first
    /// (empty in notices written before migration `20261203150000`, which name one project).
    #[serde(default)]
    pub matches: Vec<MatchedProject>,
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
    /// What made it ([`super::notification_cause`] reads it with the watch then); none in
    /// notices written before migration `20261204060000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<super::StoredCause>,
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
    Json<Vec<MatchedProject>>,
    Option<Json<serde_json::Value>>,
);

/// A recipient's notifications: each notice row expanded to one per recipient, with the
/// recipient's read mark. `notification_rows!("notifications")` reads the whole table.
macro_rules! notification_rows {
    ($rows:literal) => {
        concat!(
            "SELECT r.id, n.seq * 4096 + r.ord - 1 AS seq, r.tenant, r.recipient, n.kind, \
                 r.watch, n.project_id, n.instrument_id, n.title, n.message, n.changes, \
                 n.deadline, n.created_at, d.read_at, n.matches, n.cause \
             FROM ",
            $rows,
            " AS n \
             CROSS JOIN LATERAL unnest(n.ids, n.tenants, n.recipients, n.watches) \
                 WITH ORDINALITY AS r(id, tenant, recipient, watch, ord) \
             LEFT JOIN notification_reads d \
                 ON d.tenant = r.tenant AND d.recipient = r.recipient AND d.id = r.id"
        )
    };
}

/// The rows of `$1`'s user `$2` (the inbox's index), before their expansion.
const RECIPIENT_ROWS: &str = "n.keys @> ARRAY[$1::text || ' ' || $2::text] \
     AND r.tenant = $1 AND r.recipient = $2";

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
        matches: t.14.0,
        instrument_id: t.7,
        title: t.8,
        message: t.9,
        changes: t.10.0,
        deadline: t.11,
        created_at: t.12,
        read_at: t.13,
        // A cause that does not read back (none is written so) is left out, not an error.
        cause: t
            .15
            .and_then(|Json(c)| serde_json::from_value::<super::StoredCause>(c).ok()),
    }
}

/// A page of a user's notifications, newest first.
#[derive(Debug, Clone, PartialEq)]
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
    let rows_before = before.map(|b| b.div_euclid(ROW_SPAN));
    let mut rows: Vec<NotificationTuple> = sqlx::query_as(AssertSqlSafe(format!(
        "{} WHERE {RECIPIENT_ROWS} AND ($3 = false OR d.read_at IS NULL) \
           AND ($4::int8 IS NULL OR (n.seq <= $6 AND n.seq * 4096 + r.ord - 1 < $4)) \
         ORDER BY seq DESC LIMIT $5",
        notification_rows!("notifications")
    )))
    .bind(tenant)
    .bind(recipient)
    .bind(unread_only)
    .bind(before)
    .bind(i64::from(first) + 1)
    .bind(rows_before)
    .fetch_all(&mut *tx)
    .await?;
    let has_next = rows.len() > first as usize;
    rows.truncate(first as usize);
    let unread: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT count(*) FROM notifications n \
         CROSS JOIN LATERAL unnest(n.ids, n.tenants, n.recipients) AS r(id, tenant, recipient) \
         WHERE {RECIPIENT_ROWS} AND NOT EXISTS (SELECT 1 FROM notification_reads d \
             WHERE d.tenant = $1 AND d.recipient = $2 AND d.id = r.id)"
    )))
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
    let done = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO notification_reads (tenant, recipient, id, read_at) \
         SELECT $1, $2, r.id, $4 FROM notifications n \
         CROSS JOIN LATERAL unnest(n.ids, n.tenants, n.recipients) AS r(id, tenant, recipient) \
         WHERE {RECIPIENT_ROWS} AND ($3::uuid[] IS NULL OR r.id = ANY($3)) \
         ON CONFLICT DO NOTHING"
    )))
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
    let rows: Vec<EntryTuple> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT i.id, i.state->>'title', i.deadline, i.state->>'link', i.tenant, i.status, \
                 (i.state->>'version')::int8 \
             FROM watches w JOIN watch_instruments i ON i.published \
             WHERE w.id = $1 AND {MATCHES} AND i.deadline IS NOT NULL \
               AND i.status IN ('OPEN', 'CLOSED') \
             ORDER BY i.deadline, i.id",
    )))
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
    let done = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO notifications (id, kind, instrument_id, title, message, deadline, \
             created_at, ids, tenants, recipients, watches, keys, cause) \
         SELECT r.id, 'DEADLINE_REMINDER', i.id, i.state->>'title', \
             format('\"%s\" closes within %s day%s, on %s', i.state->>'title', d.day, \
                 CASE WHEN d.day = 1 THEN '' ELSE 's' END, \
                 to_char(i.deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI \"UTC\"')), \
             i.deadline, $1, ARRAY[r.id], ARRAY[w.tenant], ARRAY[w.owner], ARRAY[w.id], \
             ARRAY[w.tenant || ' ' || w.owner], \
             jsonb_build_object('events', '[]'::jsonb, 'reminderDays', d.day) \
         FROM watch_instruments i \
         JOIN watches w ON {MATCHES} \
         CROSS JOIN LATERAL ( \
             SELECT min(x) AS day FROM unnest(w.reminder_days) AS x \
             WHERE i.deadline - make_interval(days => x) <= $1) AS d \
         CROSS JOIN LATERAL (SELECT md5(concat_ws(':', 'reminder', w.id, i.id, d.day, \
             extract(epoch FROM i.deadline)))::uuid AS id) AS r \
         WHERE i.published AND i.status = 'OPEN' AND i.deadline > $1 \
             AND i.deadline <= $1 + make_interval(days => {MAX_REMINDER_DAYS}) \
             AND d.day IS NOT NULL \
         ON CONFLICT (id) DO NOTHING",
    )))
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The notifications of up to `limit` notices not yet published to NATS, oldest first (every
/// recipient of a notice at once).
pub async fn unpublished_notifications(
    pool: &PgPool,
    limit: i64,
) -> Result<Vec<Notification>, ReadError> {
    let rows: Vec<NotificationTuple> = sqlx::query_as(concat!(
        notification_rows!(
            "(SELECT * FROM notifications WHERE published_at IS NULL ORDER BY seq LIMIT $1)"
        ),
        " ORDER BY seq"
    ))
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(notification).collect())
}

/// Records that `published` (from [`unpublished_notifications`]) are in JetStream.
pub async fn mark_notifications_published(
    pool: &PgPool,
    published: &[Notification],
    at: OffsetDateTime,
) -> Result<(), ReadError> {
    let mut rows = published
        .iter()
        .map(|n| n.seq.div_euclid(ROW_SPAN))
        .collect::<Vec<_>>();
    rows.dedup();
    sqlx::query("UPDATE notifications SET published_at = $2 WHERE seq = ANY($1)")
        .bind(&rows)
        .bind(at)
        .execute(pool)
        .await?;
    Ok(())
}

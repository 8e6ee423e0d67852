//! The `watches` projection: saved searches, the instruments they match, and the notifications
//! that follow from the log. Events are handled one at a time in log order, so whether an
//! instrument is a *new* match is decided against exactly the events before it, the same way in
//! every replay.
//!
//! - An instrument published, revised, re-tagged or reopened so that it meets a watch's filter
//!   while open, and never did before, makes one `NEW_MATCH` notice for the watch's owner.
//!   Instruments that already matched when the watch was made (or its filter changed) never do.
//! - A change to an instrument a watch follows (it met the filter before the change) makes one
//!   `CHANGED` notice naming the fields, with old and new values.
//! - Deadline reminders depend on the clock, not on events: [`issue_deadline_reminders`].
//! - An instrument published or revised so that a project newly scores at or above its match
//!   threshold: one `PROJECT_MATCH` notice per follow-up manager of the project's tenant
//!   (`alerts`).
//!
//! Notifications land in `public.notifications` (not a table of this projection: replay keeps
//! it, and re-derives only ids it already holds, since ids are UUIDv5s of their cause).

mod alerts;
mod batch;
mod read;

use std::sync::LazyLock;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use ri_domain::instrument::INSTRUMENT;
use ri_domain::project::PROJECT;
use ri_domain::tenant::TENANT;
use ri_domain::watch::{WATCH, WatchEvent, WatchFilter};
use ri_eventstore::StoredEvent;
use serde::Serialize;
use sqlx::PgConnection;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::catalogue::codes::{code, decode};
use crate::error::ProjectionError;
use crate::projection::Projection;

pub use read::{
    CalendarEntry, CalendarFeed, Notification, NotificationKind, NotificationPage, WatchRow,
    calendar_feed, issue_deadline_reminders, mark_notifications_published, mark_notifications_read,
    notifications, unpublished_notifications, watch, watched_instruments, watches_of,
};

/// The watches projection; its match alerts score with `weights`.
#[derive(Debug, Clone, Default)]
pub struct Watches {
    weights: ri_matching::Weights,
}

impl Watches {
    /// Match alerts scored with the service's configured weights (the same as the API's).
    pub fn with_weights(weights: ri_matching::Weights) -> Self {
        Self { weights }
    }
}

/// Namespace of the notifications' UUIDv5 ids.
pub(crate) const NOTIFICATION_NAMESPACE: Uuid =
    Uuid::from_u128(0x6e6f_7469_6669_5249_8000_0000_0000_0001);

/// Whether watch `w` matches instrument `i` (aliases of `watches` and `watch_instruments`),
/// whatever the instrument's status: the search filter, in SQL, for a watch made or changed.
/// A changed instrument is matched against the watches in `batch` (`WatchRow::meets_columns`
/// and `TEXT_MATCHES`, the same conditions).
const MATCHES: &str = "(cardinality(w.cover_levels) = 0 OR i.cover_level = ANY(w.cover_levels)) \
     AND (cardinality(w.countries) = 0 OR i.countries && w.countries) \
     AND (cardinality(w.kinds) = 0 OR i.kind = ANY(w.kinds)) \
     AND (w.features = 0 OR CASE WHEN w.feature_match = 'ALL' \
          THEN i.features & w.features = w.features ELSE i.features & w.features <> 0 END) \
     AND (w.text IS NULL OR i.search @@ websearch_to_tsquery('simple', w.text)) \
     AND (w.tenant_filter IS NULL OR i.tenant = w.tenant_filter)";

/// Whether instrument `i` (a `watch_instruments` row) was ever published: the others, drafts
/// or not, are invisible to every watch (issue 11: an archived draft is not public).
const PUBLISHED: &str = "i.state->>'published_at' IS NOT NULL";

/// Follows, without notice, every instrument ever published that meets watch `$1`'s filter.
static ADOPT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO watch_matches (watch_id, instrument_id, current, notified, since) \
         SELECT w.id, i.id, true, true, $2 \
         FROM watches w JOIN watch_instruments i ON {PUBLISHED} \
         WHERE w.id = $1 AND {MATCHES} \
         ON CONFLICT (watch_id, instrument_id) DO UPDATE SET current = true"
    )
});

/// Stops following what no longer meets watch `$1`'s filter.
static UNFOLLOW_UNMET: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE watch_matches m SET current = false \
         WHERE m.watch_id = $1 AND m.current AND NOT EXISTS ( \
             SELECT 1 FROM watches w JOIN watch_instruments i ON i.id = m.instrument_id \
             WHERE w.id = m.watch_id AND {MATCHES})"
    )
});

/// A field an event changed, as a notification shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChangedField {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

impl Projection for Watches {
    fn name(&self) -> &'static str {
        "watches"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "watches",
            "watch_instruments",
            "watch_matches",
            "alert_projects",
            "alert_tenants",
            "project_alerts",
        ]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            let mut batch = batch::Batch::default();
            let mut run = Vec::new();
            for e in events {
                match e.aggregate_type.as_str() {
                    WATCH => {
                        batch.run(conn, &self.weights, &run).await?;
                        run.clear();
                        batch.barrier(conn).await?;
                        watch_event(conn, e, decode(e)?).await?;
                    }
                    INSTRUMENT | PROJECT | TENANT => run.push(e),
                    _ => {}
                }
            }
            batch.run(conn, &self.weights, &run).await?;
            batch.flush(conn).await
        }
        .boxed()
    }
}

async fn watch_event(
    conn: &mut PgConnection,
    e: &StoredEvent,
    event: WatchEvent,
) -> Result<(), ProjectionError> {
    let id = e.aggregate_id.as_str();
    match event {
        WatchEvent::WatchCreated {
            owner,
            name,
            filter,
            reminder_days,
            calendar_token_sha256,
        } => {
            let days = reminder_days
                .days()
                .iter()
                .map(|d| i32::from(*d))
                .collect::<Vec<_>>();
            sqlx::query(
                "INSERT INTO watches (id, tenant, owner, version, name, filter, text, \
                     cover_levels, countries, kinds, features, feature_match, tenant_filter, \
                     reminder_days, calendar_token_sha256, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                     $16, $16) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(&e.tenant)
            .bind(&owner)
            .bind(e.sequence)
            .bind(name.as_str())
            .bind(Json(&filter))
            .bind(filter.text.as_ref().map(|t| t.as_str()))
            .bind(filter.cover_levels.iter().map(code).collect::<Vec<_>>())
            .bind(filter_countries(&filter))
            .bind(filter.kinds.iter().map(code).collect::<Vec<_>>())
            .bind(filter.features.bits())
            .bind(code(&filter.feature_match))
            .bind(filter.tenant.as_ref().map(|t| t.as_str()))
            .bind(&days)
            .bind(&calendar_token_sha256)
            .bind(e.recorded_at)
            .execute(&mut *conn)
            .await?;
            adopt_current_matches(conn, id, e.recorded_at).await?;
        }
        WatchEvent::WatchUpdated {
            name,
            filter,
            reminder_days,
        } => {
            if let Some(c) = name {
                sqlx::query("UPDATE watches SET name = $2 WHERE id = $1")
                    .bind(id)
                    .bind(c.new.as_str())
                    .execute(&mut *conn)
                    .await?;
            }
            if let Some(c) = reminder_days {
                let days = c
                    .new
                    .days()
                    .iter()
                    .map(|d| i32::from(*d))
                    .collect::<Vec<_>>();
                sqlx::query("UPDATE watches SET reminder_days = $2 WHERE id = $1")
                    .bind(id)
                    .bind(&days)
                    .execute(&mut *conn)
                    .await?;
            }
            if let Some(c) = filter {
                let filter = c.new;
                sqlx::query(
                    "UPDATE watches SET filter = $2, text = $3, cover_levels = $4, \
                         countries = $5, kinds = $6, features = $7, feature_match = $8, \
                         tenant_filter = $9 \
                     WHERE id = $1",
                )
                .bind(id)
                .bind(Json(&filter))
                .bind(filter.text.as_ref().map(|t| t.as_str()))
                .bind(filter.cover_levels.iter().map(code).collect::<Vec<_>>())
                .bind(filter_countries(&filter))
                .bind(filter.kinds.iter().map(code).collect::<Vec<_>>())
                .bind(filter.features.bits())
                .bind(code(&filter.feature_match))
                .bind(filter.tenant.as_ref().map(|t| t.as_str()))
                .execute(&mut *conn)
                .await?;
                // What no longer meets the filter is no longer followed; what newly meets it
                // is followed without a notice (it was not published or revised just now).
                sqlx::query(UNFOLLOW_UNMET.as_str())
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                adopt_current_matches(conn, id, e.recorded_at).await?;
            }
            touch(conn, e).await?;
        }
        WatchEvent::WatchCalendarTokenRotated {
            calendar_token_sha256,
        } => {
            sqlx::query("UPDATE watches SET calendar_token_sha256 = $2 WHERE id = $1")
                .bind(id)
                .bind(&calendar_token_sha256)
                .execute(&mut *conn)
                .await?;
            touch(conn, e).await?;
        }
        WatchEvent::WatchDeleted => {
            sqlx::query("DELETE FROM watch_matches WHERE watch_id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
            sqlx::query("DELETE FROM watches WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

fn filter_countries(filter: &WatchFilter) -> Vec<String> {
    filter.countries.iter().map(|c| c.to_string()).collect()
}

async fn touch(conn: &mut PgConnection, e: &StoredEvent) -> Result<(), ProjectionError> {
    sqlx::query("UPDATE watches SET version = $2, updated_at = $3 WHERE id = $1")
        .bind(&e.aggregate_id)
        .bind(e.sequence)
        .bind(e.recorded_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// Follows, without notice, every published instrument that meets watch `id`'s filter now.
async fn adopt_current_matches(
    conn: &mut PgConnection,
    id: &str,
    at: OffsetDateTime,
) -> Result<(), ProjectionError> {
    sqlx::query(ADOPT.as_str())
        .bind(id)
        .bind(at)
        .execute(conn)
        .await?;
    Ok(())
}

fn changed_fields(changes: &[crate::catalogue::FieldChange]) -> Vec<ChangedField> {
    changes
        .iter()
        .map(|c| ChangedField {
            field: c.field.clone(),
            old: c.old.clone(),
            new: c.new.clone(),
        })
        .collect()
}

/// A notification row as the projection inserts it.
#[derive(Debug, Clone)]
pub(crate) struct NoticeRow {
    /// UUIDv5 of its cause: a replay makes the same id, and inserts nothing twice.
    pub(crate) id: Uuid,
    pub(crate) tenant: String,
    pub(crate) recipient: String,
    pub(crate) kind: &'static str,
    pub(crate) watch_id: Option<String>,
    pub(crate) project_id: Option<String>,
    pub(crate) instrument_id: String,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) changes: serde_json::Value,
    pub(crate) deadline: Option<OffsetDateTime>,
    pub(crate) created_at: OffsetDateTime,
}

/// Inserts `notices` in their order (one statement); ids already present are left alone.
pub(crate) async fn insert_notices(
    conn: &mut PgConnection,
    notices: &[NoticeRow],
) -> Result<(), ProjectionError> {
    if notices.is_empty() {
        return Ok(());
    }
    let col = |f: fn(&NoticeRow) -> Option<String>| notices.iter().map(f).collect::<Vec<_>>();
    // Schema-qualified: during a replay the search path holds only the projection's copies.
    sqlx::query(
        "INSERT INTO public.notifications (id, tenant, recipient, kind, watch_id, project_id, \
             instrument_id, title, message, changes, deadline, created_at) \
         SELECT id, tenant, recipient, kind, watch_id, project_id, instrument_id, title, \
             message, changes, deadline, created_at \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::timestamptz[], \
             $12::timestamptz[]) WITH ORDINALITY \
             AS n(id, tenant, recipient, kind, watch_id, project_id, instrument_id, title, \
                 message, changes, deadline, created_at, ord) \
         ORDER BY ord \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(notices.iter().map(|n| n.id).collect::<Vec<_>>())
    .bind(col(|n| Some(n.tenant.clone())))
    .bind(col(|n| Some(n.recipient.clone())))
    .bind(col(|n| Some(n.kind.to_owned())))
    .bind(col(|n| n.watch_id.clone()))
    .bind(col(|n| n.project_id.clone()))
    .bind(col(|n| Some(n.instrument_id.clone())))
    .bind(col(|n| Some(n.title.clone())))
    .bind(col(|n| Some(n.message.clone())))
    .bind(
        notices
            .iter()
            .map(|n| n.changes.clone())
            .collect::<Vec<_>>(),
    )
    .bind(notices.iter().map(|n| n.deadline).collect::<Vec<_>>())
    .bind(notices.iter().map(|n| n.created_at).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

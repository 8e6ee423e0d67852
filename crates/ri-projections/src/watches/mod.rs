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
mod cause;
mod matcher;
mod notices;
mod read;

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
use uuid::Uuid;

use crate::catalogue::codes::{code, decode};
use crate::error::ProjectionError;
use crate::projection::Projection;
pub(crate) use notices::{NoticeRow, Recipient, insert_notices};

pub use cause::{
    Cause, CauseEvent, StoredCause, WatchMatch, WatchThen, notification_cause, watch_match,
};
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
/// whatever the instrument's status: the search filter, in SQL, for the reads (a watch follows
/// exactly the published instruments it matches). The projection matches in `matcher`
/// (`WatchRow::meets_columns` and `TEXT_MATCHES`, the same conditions).
pub(super) const MATCHES: &str = "(cardinality(w.cover_levels) = 0 OR i.cover_level = ANY(w.cover_levels)) \
     AND (cardinality(w.countries) = 0 OR i.countries && w.countries) \
     AND (cardinality(w.kinds) = 0 OR i.kind = ANY(w.kinds)) \
     AND (w.features = 0 OR CASE WHEN w.feature_match = 'ALL' \
          THEN i.features & w.features = w.features ELSE i.features & w.features <> 0 END) \
     AND (w.text IS NULL OR i.search @@ websearch_to_tsquery('simple', w.text)) \
     AND (w.tenant_filter IS NULL OR i.tenant = w.tenant_filter)";

/// A field an event changed, as a notification shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChangedField {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// For a PROJECT_MATCH notice: one project of the tenant that newly scores at or above its
/// threshold for the instrument, with the score the event gave it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchedProject {
    pub project_id: String,
    pub acronym: String,
    pub score: f64,
    pub threshold: f64,
    /// Why it scored what it did, as the scorer explained it then (none in notices written
    /// before migration `20261204060000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub explanation: Option<ri_matching::Explanation>,
}

impl Projection for Watches {
    fn name(&self) -> &'static str {
        "watches"
    }

    fn tables(&self) -> &'static [&'static str] {
        &[
            "watches",
            "watch_instruments",
            "watch_notified",
            "alert_projects",
            "alert_tenants",
            "instrument_alerts",
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
                        let adopt = watch_event(conn, &mut batch, e, decode(e)?).await?;
                        batch
                            .after_watch_event(conn, &e.aggregate_id, adopt)
                            .await?;
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

/// Applies a watch event to the `watches` table; returns whether the watch was made or its
/// filter changed (what it follows now is then adopted, see [`batch::Batch`]).
async fn watch_event(
    conn: &mut PgConnection,
    batch: &mut batch::Batch,
    e: &StoredEvent,
    event: WatchEvent,
) -> Result<bool, ProjectionError> {
    let id = e.aggregate_id.as_str();
    let mut adopt = false;
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
            adopt = true;
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
                // What newly meets it is followed without a notice (it was not published or
                // revised just now); what no longer meets it is no longer followed.
                adopt = true;
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
            batch.forget(conn, id).await?;
            sqlx::query("DELETE FROM watches WHERE id = $1")
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(adopt)
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

//! Why a notice fired (issue 16). The projection records the event that made a notice with it
//! ([`StoredCause`]); reading the cause ([`notification_cause`]) adds what the log knew then:
//! the watch as it stood when the projection reached that event (its events before it in the
//! log's order, so a filter changed later does not rewrite why an older notice fired), and what
//! of that filter the instrument met as it stood then. A match's explanation is stored with the
//! notice ([`super::MatchedProject::explanation`]): it is what the scorer said at that moment.

use cqrs_es::Aggregate;
use ri_domain::TenantSlug;
use ri_domain::instrument::{CoverLevel, INSTRUMENT, InstrumentKind};
use ri_domain::values::CountryCode;
use ri_domain::watch::{FeatureMatch, WATCH, Watch, WatchEvent, WatchFilter};
use ri_eventstore::{Checkpoint, EventLog, StoredEvent};
use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::read::{Notification, NotificationKind};
use crate::catalogue::codes::decode;
use crate::catalogue::{InstrumentRow, ReadError, Viewer, instrument_as_of};

/// What a notice was made of, as the projection wrote it beside the notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct StoredCause {
    /// The event(s) that made it, in log order; none for a deadline reminder (the clock made it).
    #[serde(default)]
    pub events: Vec<CauseEvent>,
    /// For a deadline reminder: the reminder day that was due (the watch's `reminder_days`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_days: Option<i32>,
}

/// One event of the log, as a cause names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CauseEvent {
    pub event_id: Uuid,
    pub position: i64,
    /// Its writing transaction: with `position`, its place in the log's order.
    pub tx_id: u64,
    pub tenant: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    /// The aggregate's version after it.
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    /// The acting subject (the metadata's `actor`; `system` for the platform).
    pub actor: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl CauseEvent {
    pub(crate) fn of(e: &StoredEvent) -> Self {
        let actor = crate::catalogue::codes::actor(e).unwrap_or_else(|_| "unknown".to_owned());
        CauseEvent {
            event_id: e.event_id,
            position: e.position,
            tx_id: e.tx_id,
            tenant: e.tenant.clone(),
            aggregate_type: e.aggregate_type.clone(),
            aggregate_id: e.aggregate_id.clone(),
            sequence: e.sequence,
            event_type: e.event_type.clone(),
            event_version: e.event_version.clone(),
            actor,
            recorded_at: e.recorded_at,
        }
    }

    /// Its place in the log's order.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            tx_id: self.tx_id,
            position: self.position,
        }
    }
}

impl StoredCause {
    pub(crate) fn event(e: &StoredEvent) -> Self {
        StoredCause {
            events: vec![CauseEvent::of(e)],
            reminder_days: None,
        }
    }
}

/// A notice's cause, read back with what the log knew at that moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// The event(s) that made it; for a deadline reminder, the event that set the deadline it
    /// reminds of.
    pub events: Vec<CauseEvent>,
    pub reminder_days: Option<i32>,
    /// The watch the notice was made for, as it stood then.
    pub watch: Option<WatchThen>,
    /// For NEW_MATCH and CHANGED: what of the watch's filter then the instrument met then.
    pub watch_match: Option<WatchMatch>,
    /// The moment to read the instrument at to see it as the notice saw it.
    pub as_of: OffsetDateTime,
}

/// A watch as it stood at a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct WatchThen {
    /// Its version then (the number of its events before the moment).
    pub version: i64,
    pub name: String,
    pub filter: WatchFilter,
}

/// What of a watch's filter an instrument met: each criterion the filter sets, with the
/// instrument's values that meet it (empty where none did).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WatchMatch {
    /// The filter's features the instrument had.
    pub features: FeatureSet,
    pub feature_match: FeatureMatch,
    /// The filter's countries the instrument covered.
    pub countries: Vec<CountryCode>,
    /// The instrument's kind, when the filter names kinds and it is one of them.
    pub kind: Option<InstrumentKind>,
    /// The instrument's cover level, when the filter names levels and it is one of them.
    pub cover_level: Option<CoverLevel>,
    /// Whether it met every criterion the filter sets but its text (which the search index
    /// decides): false for a notice that it no longer matches.
    pub met: bool,
}

/// The cause of notification `n` (read by its recipient), or `None` for a notice written
/// before causes were recorded (migration `20261204060000`).
pub async fn notification_cause(
    pool: &PgPool,
    log: &EventLog,
    n: &Notification,
) -> Result<Option<Cause>, ReadError> {
    let Some(stored) = &n.cause else {
        return Ok(None);
    };
    let tenant = TenantSlug::parse(&n.tenant).map_err(malformed)?;
    let viewer = Viewer {
        tenant: Some(tenant),
        platform_admin: false,
    };
    let (events, as_of) = match stored.events.first() {
        Some(first) => (stored.events.clone(), first.recorded_at),
        None => (schedule_event(pool, log, n).await?, n.created_at),
    };
    let watch = match (&n.watch_id, events.first()) {
        (Some(id), Some(first)) if stored.reminder_days.is_none() => {
            let before = log
                .reader()
                .aggregate_before(pool, &n.tenant, WATCH, id, first.checkpoint())
                .await
                .map_err(malformed)?;
            fold_watch(&before)?
        }
        (Some(id), _) => {
            let until = log
                .reader()
                .aggregate_until(pool, &n.tenant, WATCH, id, n.created_at)
                .await
                .map_err(malformed)?;
            fold_watch(&until)?
        }
        (None, _) => None,
    };
    let watch_match = match (&watch, &n.instrument_id, &n.kind) {
        (Some(w), Some(id), NotificationKind::NewMatch | NotificationKind::Changed) => {
            instrument_as_of(pool, log, &viewer, id, as_of)
                .await?
                .map(|i| watch_match(&w.filter, &i))
        }
        _ => None,
    };
    Ok(Some(Cause {
        events,
        reminder_days: stored.reminder_days,
        watch,
        watch_match,
        as_of,
    }))
}

/// For a deadline reminder: the instrument's last event that set its deadline, before the
/// reminder.
async fn schedule_event(
    pool: &PgPool,
    log: &EventLog,
    n: &Notification,
) -> Result<Vec<CauseEvent>, ReadError> {
    let Some(id) = &n.instrument_id else {
        return Ok(Vec::new());
    };
    // The tenant as the projection that made the reminder knows it (only published
    // instruments are reminded of).
    let tenant: Option<String> =
        sqlx::query_scalar("SELECT tenant FROM watch_instruments WHERE id = $1 AND published")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    let Some(tenant) = tenant else {
        return Ok(Vec::new());
    };
    let events = log
        .reader()
        .aggregate_until(pool, &tenant, INSTRUMENT, id, n.created_at)
        .await
        .map_err(malformed)?;
    Ok(events
        .iter()
        .rev()
        .find(|e| {
            matches!(
                e.event_type.as_str(),
                "InstrumentScheduleSet" | "InstrumentReopened"
            )
        })
        .map(CauseEvent::of)
        .into_iter()
        .collect())
}

/// The watch folded from `events`; `None` before it was made. An event that does not decode
/// is skipped, as the projection skips it.
fn fold_watch(events: &[StoredEvent]) -> Result<Option<WatchThen>, ReadError> {
    let mut watch = Watch::default();
    let mut version = 0;
    for e in events {
        match decode::<WatchEvent>(e) {
            Ok(event) => {
                watch.apply(event);
                version = e.sequence;
            }
            Err(error) => {
                tracing::warn!(position = e.position, %error, "event skipped in a cause read");
            }
        }
    }
    Ok(watch.owner.as_ref().map(|_| WatchThen {
        version,
        name: watch
            .name
            .as_ref()
            .map(|n| n.to_string())
            .unwrap_or_default(),
        filter: watch.filter.clone(),
    }))
}

/// What of `filter` the instrument `i` met.
pub fn watch_match(filter: &WatchFilter, i: &InstrumentRow) -> WatchMatch {
    let features = filter.features.intersection(i.features);
    let countries = filter
        .countries
        .iter()
        .filter(|c| i.countries.contains(c))
        .cloned()
        .collect::<Vec<_>>();
    let kind = filter.kinds.contains(&i.kind).then_some(i.kind);
    let cover_level = filter
        .cover_levels
        .contains(&i.cover_level)
        .then_some(i.cover_level);
    let features_met = filter.features.is_empty()
        || match filter.feature_match {
            FeatureMatch::All => features == filter.features,
            FeatureMatch::Any => !features.is_empty(),
        };
    let met = features_met
        && (filter.countries.is_empty() || !countries.is_empty())
        && (filter.kinds.is_empty() || kind.is_some())
        && (filter.cover_levels.is_empty() || cover_level.is_some())
        && filter.tenant.as_ref().is_none_or(|t| *t == i.tenant);
    WatchMatch {
        features,
        feature_match: filter.feature_match,
        countries,
        kind,
        cover_level,
        met,
    }
}

fn malformed(reason: impl std::fmt::Display) -> ReadError {
    ReadError::Malformed {
        what: "notification cause",
        reason: reason.to_string(),
    }
}

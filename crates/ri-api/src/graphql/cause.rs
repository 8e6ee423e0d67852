//! `Notification.cause`: why a notice fired, read from the log as it stood then
//! (`ri_projections::watches::notification_cause`), with the sentence the inbox shows.

use async_graphql::{ID, SimpleObject};
use ri_projections::watches::{self as read, Cause, CauseEvent as ReadEvent, NotificationKind};
use time::OffsetDateTime;
use time::macros::format_description;

use super::enums::{CoverLevel, FeatureMatch, InstrumentKind};
use super::objects::{Feature, FieldChange, features};
use super::watches::WatchFilter;

/// Why a notification was made: the event(s) that triggered it, the watch's filter as it stood
/// at that moment, and what of it the instrument met then. For PROJECT_MATCH the explanation
/// of each match then is on `Notification.matches`.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct NotificationCause {
    /// The event(s) that made it, in log order. For DEADLINE_REMINDER: the event that set the
    /// deadline it reminds of.
    pub events: Vec<CauseEvent>,
    /// For DEADLINE_REMINDER: the reminder day of the watch that was due.
    pub reminder_days: Option<i32>,
    /// The watch it was made for, as it stood just before the event (a later change to the
    /// filter does not change this).
    pub watch: Option<WatchThen>,
    /// For NEW_MATCH and CHANGED: what of that filter the instrument met as it stood then.
    pub watch_match: Option<WatchMatch>,
    /// Pass as `instrument(id, asOf:)` to see the instrument as this notice saw it.
    pub as_of: OffsetDateTime,
    /// The cause in one sentence, as the inbox shows it.
    pub summary: String,
}

/// One event of the log.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct CauseEvent {
    pub event_id: ID,
    /// Its position in the log.
    pub position: i64,
    pub event_type: String,
    pub aggregate_type: String,
    pub aggregate_id: ID,
    /// The aggregate's version after it.
    pub version: i64,
    /// The tenant it belongs to.
    pub tenant: String,
    /// Who acted: a subject of your own tenant, or `system`; null for a person of another
    /// tenant (`tenant` says which organisation acted).
    pub actor: Option<String>,
    pub recorded_at: OffsetDateTime,
    /// What it changed, with old and new values (for the event of a NEW_MATCH or CHANGED).
    pub changes: Vec<FieldChange>,
}

/// A watch as it stood at a moment.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct WatchThen {
    pub id: ID,
    pub name: String,
    /// Its version then.
    pub version: i64,
    pub filter: WatchFilter,
}

/// What of a watch's filter an instrument met: each criterion the filter sets, with the
/// instrument's values that met it.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct WatchMatch {
    /// The filter's features the instrument had.
    pub features: Vec<Feature>,
    pub feature_match: FeatureMatch,
    /// The filter's countries the instrument covered.
    pub countries: Vec<String>,
    /// The instrument's kind, when the filter names kinds and it was one of them.
    pub kind: Option<InstrumentKind>,
    /// The instrument's cover level, when the filter names levels and it was one of them.
    pub cover_level: Option<CoverLevel>,
    /// Whether it met every criterion but the text (false: it no longer matched).
    pub met: bool,
}

/// The cause of `n` for its recipient.
pub(crate) fn cause(n: &read::Notification, c: Cause) -> NotificationCause {
    let changes = n
        .changes
        .iter()
        .map(|c| FieldChange {
            field: c.field.clone(),
            old: c.old.clone(),
            new: c.new.clone(),
        })
        .collect::<Vec<_>>();
    let reminder = c.reminder_days.is_some();
    let events = c
        .events
        .iter()
        .map(|e| CauseEvent {
            event_id: ID(e.event_id.to_string()),
            position: e.position,
            event_type: e.event_type.clone(),
            aggregate_type: e.aggregate_type.clone(),
            aggregate_id: ID(e.aggregate_id.clone()),
            version: e.sequence,
            tenant: e.tenant.clone(),
            actor: actor(n, e),
            recorded_at: e.recorded_at,
            changes: if reminder {
                Vec::new()
            } else {
                changes.clone()
            },
        })
        .collect();
    NotificationCause {
        events,
        reminder_days: c.reminder_days,
        watch: c
            .watch
            .as_ref()
            .zip(n.watch_id.as_ref())
            .map(|(w, id)| WatchThen {
                id: ID(id.clone()),
                name: w.name.clone(),
                version: w.version,
                filter: WatchFilter::from(w.filter.clone()),
            }),
        watch_match: c.watch_match.as_ref().map(|m| WatchMatch {
            features: features(m.features),
            feature_match: m.feature_match.into(),
            countries: m.countries.iter().map(|c| c.to_string()).collect(),
            kind: m.kind.map(Into::into),
            cover_level: m.cover_level.map(Into::into),
            met: m.met,
        }),
        as_of: c.as_of,
        summary: summary(n, &c),
    }
}

/// The actor as the recipient may see it: their own tenant's subjects and the platform.
fn actor(n: &read::Notification, e: &ReadEvent) -> Option<String> {
    (e.tenant == n.tenant || e.actor == ri_domain::metadata::SYSTEM_ACTOR).then(|| e.actor.clone())
}

/// "Instrument published by alice on 2026-12-04 09:30 UTC (log position 42). …"
fn summary(n: &read::Notification, c: &Cause) -> String {
    let mut out = match c.events.first() {
        Some(e) => {
            let who = actor(n, e).unwrap_or_else(|| format!("a curator of {}", e.tenant));
            format!(
                "{} by {who} on {} (log position {})",
                event_words(&e.event_type),
                when(e.recorded_at),
                e.position
            )
        }
        None => "No recorded event".to_owned(),
    };
    match n.kind {
        NotificationKind::DeadlineReminder => {
            if let Some(days) = c.reminder_days {
                let plural = if days == 1 { "" } else { "s" };
                out = format!(
                    "{out} set the deadline; your watch reminds you {days} day{plural} before"
                );
            }
        }
        NotificationKind::ProjectMatch => {
            if let Some(best) = n.matches.first() {
                let common = best
                    .explanation
                    .as_ref()
                    .map(|e| codes(e.matched_set()))
                    .filter(|c| !c.is_empty())
                    .map(|c| format!(", sharing {c}"))
                    .unwrap_or_default();
                out = format!(
                    "{out}; {} scored {:.2} against its threshold {:.2}{common}",
                    best.acronym, best.score, best.threshold
                );
            }
        }
        NotificationKind::NewMatch | NotificationKind::Changed => {
            if let Some(w) = &c.watch {
                out = format!(
                    "{out}; your watch \"{}\" (version {}) {}",
                    w.name,
                    w.version,
                    met_words(c.watch_match.as_ref(), w.filter.text.as_ref())
                );
            }
        }
    }
    out.push('.');
    out
}

fn met_words(m: Option<&read::WatchMatch>, text: Option<&ri_domain::values::SearchText>) -> String {
    let Some(m) = m else {
        return "asked for it then".to_owned();
    };
    if !m.met {
        return "no longer matched it".to_owned();
    }
    let mut parts = Vec::new();
    if !m.features.is_empty() {
        parts.push(format!("features {}", codes(m.features)));
    }
    if !m.countries.is_empty() {
        let countries = m
            .countries
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>();
        parts.push(format!("countries {}", countries.join(", ")));
    }
    if let Some(text) = text {
        parts.push(format!("the words \"{}\"", text.as_str()));
    }
    if parts.is_empty() {
        "matched it".to_owned()
    } else {
        format!("matched it on {}", parts.join("; "))
    }
}

fn codes(set: ri_taxonomy::FeatureSet) -> String {
    set.iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `InstrumentFeaturesTagged` → "Instrument features tagged".
fn event_words(event_type: &str) -> String {
    let mut out = String::with_capacity(event_type.len() + 4);
    for (i, ch) in event_type.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push(' ');
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

fn when(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    utc.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute] UTC"
    ))
    .unwrap_or_else(|_| utc.to_string())
}

#[cfg(test)]
mod tests {
    use super::event_words;

    #[test]
    fn event_types_read_as_words() {
        assert_eq!(
            event_words("InstrumentFeaturesTagged"),
            "Instrument features tagged"
        );
        assert_eq!(event_words("InstrumentPublished"), "Instrument published");
    }
}

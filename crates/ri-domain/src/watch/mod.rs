//! Watches: saved searches of one user. A watch holds the search filter (without statuses and
//! dates: it follows open instruments), the days before a deadline at which to remind, and the
//! hash of the secret token of its calendar feed. Only its owner can change or delete it.
//!
//! What a watch *does* (notify on new matches, on changes, before deadlines) is derived from the
//! log by the `watches` projection; this aggregate only records what the user asked for.

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Serialize};

use crate::instrument::{CoverLevel, InstrumentKind};
use crate::tenant::TenantSlug;
use crate::values::{Change, CountryCode, FieldError, SearchText, Title};

pub const WATCH: &str = "Watch";

/// How a filter's features must meet an instrument's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FeatureMatch {
    /// At least one of the features.
    #[default]
    Any,
    /// Every one of the features.
    All,
}

/// The search a watch runs on every published or revised instrument. Empty lists do not
/// restrict; an empty filter matches every open instrument.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchFilter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<SearchText>,
    #[serde(default)]
    pub cover_levels: Vec<CoverLevel>,
    /// Instruments covering any of these countries.
    #[serde(default)]
    pub countries: Vec<CountryCode>,
    #[serde(default)]
    pub kinds: Vec<InstrumentKind>,
    #[serde(default)]
    pub features: FeatureSet,
    #[serde(default)]
    pub feature_match: FeatureMatch,
    /// Only this tenant's instruments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantSlug>,
}

/// Days before a deadline at which a reminder goes out: 1 to 5 distinct values from 1 to 60,
/// largest first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReminderDays(Vec<u16>);

impl ReminderDays {
    pub const MAX_DAYS: u16 = 60;
    pub const MAX_COUNT: usize = 5;

    pub fn parse(field: &'static str, raw: &[i32]) -> Result<Self, FieldError> {
        let mut days = Vec::with_capacity(raw.len());
        for &d in raw {
            let day = u16::try_from(d)
                .ok()
                .filter(|d| (1..=Self::MAX_DAYS).contains(d))
                .ok_or_else(|| {
                    FieldError::new(field, format!("days must be 1 to {}", Self::MAX_DAYS))
                })?;
            if !days.contains(&day) {
                days.push(day);
            }
        }
        if days.len() > Self::MAX_COUNT {
            return Err(FieldError::new(
                field,
                format!("at most {} reminders", Self::MAX_COUNT),
            ));
        }
        days.sort_unstable_by(|a, b| b.cmp(a));
        Ok(Self(days))
    }

    pub fn days(&self) -> &[u16] {
        &self.0
    }
}

impl Default for ReminderDays {
    /// A week before and the day before.
    fn default() -> Self {
        Self(vec![7, 1])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchCommand {
    Create {
        owner: String,
        name: Title,
        filter: WatchFilter,
        reminder_days: ReminderDays,
        /// SHA-256 (hex) of the calendar feed's token; the token itself is never stored.
        calendar_token_sha256: String,
    },
    /// The given fields; the event records only what changed.
    Update {
        by: String,
        name: Option<Title>,
        filter: Option<WatchFilter>,
        reminder_days: Option<ReminderDays>,
    },
    RotateCalendarToken {
        by: String,
        calendar_token_sha256: String,
    },
    Delete {
        by: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WatchEvent {
    WatchCreated {
        owner: String,
        name: Title,
        filter: WatchFilter,
        reminder_days: ReminderDays,
        calendar_token_sha256: String,
    },
    WatchUpdated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<Change<Title>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filter: Option<Change<WatchFilter>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reminder_days: Option<Change<ReminderDays>>,
    },
    WatchCalendarTokenRotated {
        calendar_token_sha256: String,
    },
    WatchDeleted,
}

impl WatchEvent {
    pub const TYPES: [&'static str; 4] = [
        "WatchCreated",
        "WatchUpdated",
        "WatchCalendarTokenRotated",
        "WatchDeleted",
    ];
}

impl DomainEvent for WatchEvent {
    fn event_type(&self) -> String {
        match self {
            WatchEvent::WatchCreated { .. } => "WatchCreated",
            WatchEvent::WatchUpdated { .. } => "WatchUpdated",
            WatchEvent::WatchCalendarTokenRotated { .. } => "WatchCalendarTokenRotated",
            WatchEvent::WatchDeleted => "WatchDeleted",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    /// Never created, deleted, or another user's: all look the same to the caller.
    #[error("no such watch")]
    NotFound,
    #[error("the watch already exists")]
    AlreadyExists,
    #[error("nothing to change")]
    Unchanged,
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    pub owner: Option<String>,
    pub name: Option<Title>,
    pub filter: WatchFilter,
    pub reminder_days: Option<ReminderDays>,
    pub calendar_token_sha256: Option<String>,
    pub deleted: bool,
}

impl Watch {
    /// The live watch, when `by` owns it.
    fn owned_by(&self, by: &str) -> Result<(), WatchError> {
        match &self.owner {
            Some(owner) if owner == by && !self.deleted => Ok(()),
            _ => Err(WatchError::NotFound),
        }
    }
}

fn token_hash(raw: String) -> Result<String, FieldError> {
    if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(FieldError::new(
            "calendarToken",
            "must be a SHA-256 hex digest",
        ))
    }
}

impl Aggregate for Watch {
    const TYPE: &'static str = WATCH;
    type Command = WatchCommand;
    type Event = WatchEvent;
    type Error = WatchError;
    type Services = ();

    async fn handle(
        &mut self,
        command: WatchCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), WatchError> {
        let event = match command {
            WatchCommand::Create {
                owner,
                name,
                filter,
                reminder_days,
                calendar_token_sha256,
            } => {
                if self.owner.is_some() {
                    return Err(WatchError::AlreadyExists);
                }
                let owner = owner.trim().to_owned();
                if owner.is_empty() || owner.chars().any(char::is_control) {
                    return Err(FieldError::new(
                        "owner",
                        "must not be empty nor hold control characters",
                    )
                    .into());
                }
                WatchEvent::WatchCreated {
                    owner,
                    name,
                    filter,
                    reminder_days,
                    calendar_token_sha256: token_hash(calendar_token_sha256)?,
                }
            }
            WatchCommand::Update {
                by,
                name,
                filter,
                reminder_days,
            } => {
                self.owned_by(&by)?;
                let name = match (name, &self.name) {
                    (Some(new), Some(old)) => Change::between(old, &new),
                    _ => None,
                };
                let filter = filter.and_then(|new| Change::between(&self.filter, &new));
                let reminder_days = match (reminder_days, &self.reminder_days) {
                    (Some(new), Some(old)) => Change::between(old, &new),
                    _ => None,
                };
                if name.is_none() && filter.is_none() && reminder_days.is_none() {
                    return Err(WatchError::Unchanged);
                }
                WatchEvent::WatchUpdated {
                    name,
                    filter,
                    reminder_days,
                }
            }
            WatchCommand::RotateCalendarToken {
                by,
                calendar_token_sha256,
            } => {
                self.owned_by(&by)?;
                WatchEvent::WatchCalendarTokenRotated {
                    calendar_token_sha256: token_hash(calendar_token_sha256)?,
                }
            }
            WatchCommand::Delete { by } => {
                self.owned_by(&by)?;
                WatchEvent::WatchDeleted
            }
        };
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: WatchEvent) {
        match event {
            WatchEvent::WatchCreated {
                owner,
                name,
                filter,
                reminder_days,
                calendar_token_sha256,
            } => {
                self.owner = Some(owner);
                self.name = Some(name);
                self.filter = filter;
                self.reminder_days = Some(reminder_days);
                self.calendar_token_sha256 = Some(calendar_token_sha256);
            }
            WatchEvent::WatchUpdated {
                name,
                filter,
                reminder_days,
            } => {
                if let Some(c) = name {
                    self.name = Some(c.new);
                }
                if let Some(c) = filter {
                    self.filter = c.new;
                }
                if let Some(c) = reminder_days {
                    self.reminder_days = Some(c.new);
                }
            }
            WatchEvent::WatchCalendarTokenRotated {
                calendar_token_sha256,
            } => self.calendar_token_sha256 = Some(calendar_token_sha256),
            WatchEvent::WatchDeleted => self.deleted = true,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use cqrs_es::test::TestFramework;

    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn created() -> WatchEvent {
        WatchEvent::WatchCreated {
            owner: "ana".into(),
            name: Title::parse("name", "Border calls").unwrap(),
            filter: WatchFilter {
                features: FeatureSet::parse(["T1"]).unwrap(),
                ..WatchFilter::default()
            },
            reminder_days: ReminderDays::default(),
            calendar_token_sha256: HASH.into(),
        }
    }

    fn watch() -> TestFramework<Watch> {
        TestFramework::with(())
    }

    #[test]
    fn reminder_days_are_distinct_bounded_and_largest_first() {
        let days = ReminderDays::parse("reminderDays", &[1, 14, 7, 1]).unwrap();
        assert_eq!(days.days(), &[14, 7, 1]);
        for bad in [&[0][..], &[61], &[-1], &[1, 2, 3, 4, 5, 6]] {
            let err = ReminderDays::parse("reminderDays", bad).unwrap_err();
            assert_eq!(err.field, "reminderDays");
        }
        assert_eq!(ReminderDays::default().days(), &[7, 1]);
    }

    #[test]
    fn only_the_owner_changes_a_watch_and_only_while_it_lives() {
        watch()
            .given(vec![created()])
            .when(WatchCommand::Delete { by: "bob".into() })
            .then_expect_error(WatchError::NotFound);
        watch()
            .given(vec![created(), WatchEvent::WatchDeleted])
            .when(WatchCommand::Delete { by: "ana".into() })
            .then_expect_error(WatchError::NotFound);
        watch()
            .given(vec![created()])
            .when(WatchCommand::Delete { by: "ana".into() })
            .then_expect_events(vec![WatchEvent::WatchDeleted]);
        watch()
            .given_no_previous_events()
            .when(WatchCommand::Delete { by: "ana".into() })
            .then_expect_error(WatchError::NotFound);
    }

    #[test]
    fn an_update_records_only_what_changed() {
        let new_filter = WatchFilter {
            features: FeatureSet::parse(["T1", "D2"]).unwrap(),
            ..WatchFilter::default()
        };
        watch()
            .given(vec![created()])
            .when(WatchCommand::Update {
                by: "ana".into(),
                name: Some(Title::parse("name", "Border calls").unwrap()),
                filter: Some(new_filter.clone()),
                reminder_days: None,
            })
            .then_expect_events(vec![WatchEvent::WatchUpdated {
                name: None,
                filter: Some(Change {
                    old: WatchFilter {
                        features: FeatureSet::parse(["T1"]).unwrap(),
                        ..WatchFilter::default()
                    },
                    new: new_filter,
                }),
                reminder_days: None,
            }]);
        watch()
            .given(vec![created()])
            .when(WatchCommand::Update {
                by: "ana".into(),
                name: Some(Title::parse("name", "Border calls").unwrap()),
                filter: None,
                reminder_days: Some(ReminderDays::default()),
            })
            .then_expect_error(WatchError::Unchanged);
    }

    #[test]
    fn a_watch_is_created_once_with_a_well_formed_token_hash() {
        watch()
            .given(vec![created()])
            .when(WatchCommand::Create {
                owner: "ana".into(),
                name: Title::parse("name", "Again").unwrap(),
                filter: WatchFilter::default(),
                reminder_days: ReminderDays::default(),
                calendar_token_sha256: HASH.into(),
            })
            .then_expect_error(WatchError::AlreadyExists);
        watch()
            .given_no_previous_events()
            .when(WatchCommand::Create {
                owner: "ana".into(),
                name: Title::parse("name", "Bad").unwrap(),
                filter: WatchFilter::default(),
                reminder_days: ReminderDays::default(),
                calendar_token_sha256: "not-a-hash".into(),
            })
            .then_expect_error(WatchError::Invalid(FieldError::new(
                "calendarToken",
                "must be a SHA-256 hex digest",
            )));
    }

    #[test]
    fn the_filter_round_trips_through_json() {
        let WatchEvent::WatchCreated { filter, .. } = created() else {
            unreachable!()
        };
        let json = serde_json::to_value(&filter).unwrap();
        assert_eq!(json["features"], serde_json::json!(["T1"]));
        let back: WatchFilter = serde_json::from_value(json).unwrap();
        assert_eq!(back, filter);
    }
}

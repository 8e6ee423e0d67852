use std::sync::Arc;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use super::details::{
    CoverLevel, InstrumentChanges, InstrumentDetails, InstrumentKind, InstrumentPatch,
};
use crate::tenant::TenantSlug;
use crate::values::{Change, FieldError, ShortText};
use crate::when;

pub const INSTRUMENT: &str = "FundingInstrument";

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// Where "now" comes from, so that the aggregate stays pure and tests choose the time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

#[derive(Debug, Clone)]
pub struct InstrumentServices {
    pub clock: Arc<dyn Clock>,
}

impl Default for InstrumentServices {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InstrumentStatus {
    #[default]
    Draft,
    Open,
    Closed,
    Withdrawn,
    Archived,
}

/// When an instrument opens and closes. The deadline is an instant (stored in RFC 3339 with
/// the curator's offset); `time_zone` is the IANA zone it was given in, for display.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    #[serde(with = "iso_date::option")]
    pub opening_date: Option<Date>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub deadline: Option<OffsetDateTime>,
    pub time_zone: Option<String>,
}

impl Schedule {
    /// A schedule from raw values: the days and the deadline within the bounds of
    /// [`crate::when`], the deadline not before the opening date, the zone one of the IANA
    /// database.
    pub fn new(
        opening_date: Option<Date>,
        deadline: Option<OffsetDateTime>,
        time_zone: Option<&str>,
    ) -> Result<Self, FieldError> {
        let time_zone = time_zone
            .map(str::trim)
            .filter(|z| !z.is_empty())
            .map(|z| when::time_zone("timeZone", z))
            .transpose()?;
        let schedule = Self {
            opening_date,
            deadline,
            time_zone,
        };
        schedule.check()?;
        Ok(schedule)
    }

    /// What [`new`](Self::new) checks, for a schedule built otherwise: the aggregate checks
    /// every schedule a command gives it.
    pub fn check(&self) -> Result<(), FieldError> {
        if let Some(opens) = self.opening_date {
            when::day("openingDate", opens)?;
        }
        if let Some(closes) = self.deadline {
            when::instant("deadline", closes)?;
        }
        if let (Some(opens), Some(closes)) = (self.opening_date, self.deadline)
            && closes.date() < opens
        {
            return Err(FieldError::new(
                "deadline",
                format!("{} is before the opening date {opens}", closes.date()),
            ));
        }
        if let Some(zone) = &self.time_zone
            && when::time_zone("timeZone", zone)? != *zone
        {
            return Err(FieldError::new(
                "timeZone",
                format!("{zone:?} is not spelled as the IANA database spells it"),
            ));
        }
        Ok(())
    }

    /// The deadline change as people read it: "deadline moved from 2025-05-03 to 2025-05-17".
    pub fn deadline_change(&self, new: &Schedule) -> Option<String> {
        let show =
            |d: Option<OffsetDateTime>| d.map_or("none".to_owned(), |d| d.date().to_string());
        Change::between(&self.deadline, &new.deadline)
            .map(|c| format!("deadline moved from {} to {}", show(c.old), show(c.new)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstrumentCommand {
    Draft {
        tenant: TenantSlug,
        details: InstrumentDetails,
    },
    Revise {
        patch: InstrumentPatch,
    },
    TagFeatures {
        features: FeatureSet,
    },
    UntagFeatures {
        features: FeatureSet,
    },
    SetSchedule {
        schedule: Schedule,
    },
    Publish,
    Withdraw {
        reason: ShortText,
    },
    Archive,
    /// A call stops taking applications: an open call whose deadline has passed (the
    /// platform's expiry), or a call recorded as already closed (history, as in the seed).
    Close,
    /// A closed recurring call opens again with a new schedule.
    Reopen {
        schedule: Schedule,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstrumentEvent {
    InstrumentDrafted {
        tenant: TenantSlug,
        details: InstrumentDetails,
    },
    InstrumentRevised {
        changes: InstrumentChanges,
    },
    InstrumentFeaturesTagged {
        features: FeatureSet,
    },
    InstrumentFeaturesUntagged {
        features: FeatureSet,
    },
    InstrumentScheduleSet {
        old: Schedule,
        new: Schedule,
    },
    InstrumentPublished,
    InstrumentWithdrawn {
        reason: ShortText,
    },
    InstrumentArchived,
    InstrumentClosed,
    InstrumentReopened {
        old: Schedule,
        new: Schedule,
    },
}

impl InstrumentEvent {
    pub const TYPES: [&'static str; 10] = [
        "InstrumentDrafted",
        "InstrumentRevised",
        "InstrumentFeaturesTagged",
        "InstrumentFeaturesUntagged",
        "InstrumentScheduleSet",
        "InstrumentPublished",
        "InstrumentWithdrawn",
        "InstrumentArchived",
        "InstrumentClosed",
        "InstrumentReopened",
    ];
}

impl DomainEvent for InstrumentEvent {
    fn event_type(&self) -> String {
        match self {
            InstrumentEvent::InstrumentDrafted { .. } => "InstrumentDrafted",
            InstrumentEvent::InstrumentRevised { .. } => "InstrumentRevised",
            InstrumentEvent::InstrumentFeaturesTagged { .. } => "InstrumentFeaturesTagged",
            InstrumentEvent::InstrumentFeaturesUntagged { .. } => "InstrumentFeaturesUntagged",
            InstrumentEvent::InstrumentScheduleSet { .. } => "InstrumentScheduleSet",
            InstrumentEvent::InstrumentPublished => "InstrumentPublished",
            InstrumentEvent::InstrumentWithdrawn { .. } => "InstrumentWithdrawn",
            InstrumentEvent::InstrumentArchived => "InstrumentArchived",
            InstrumentEvent::InstrumentClosed => "InstrumentClosed",
            InstrumentEvent::InstrumentReopened { .. } => "InstrumentReopened",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstrumentError {
    #[error("the instrument already exists")]
    AlreadyExists,
    #[error("no such instrument")]
    NotFound,
    #[error("the instrument is {0:?}; {1}")]
    WrongStatus(InstrumentStatus, &'static str),
    #[error("nothing would change")]
    Unchanged,
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingInstrument {
    pub tenant: Option<TenantSlug>,
    pub status: InstrumentStatus,
    pub details: Option<InstrumentDetails>,
    pub features: FeatureSet,
    pub schedule: Schedule,
}

impl FundingInstrument {
    fn existing(&self) -> Result<&InstrumentDetails, InstrumentError> {
        match (&self.details, self.status) {
            (None, _) => Err(InstrumentError::NotFound),
            (Some(_), InstrumentStatus::Archived) => Err(InstrumentError::WrongStatus(
                InstrumentStatus::Archived,
                "an archived instrument cannot change",
            )),
            (Some(details), _) => Ok(details),
        }
    }

    /// What must hold for the instrument to be (or stay) published.
    fn check_publishable(&self, now: OffsetDateTime) -> Result<(), InstrumentError> {
        let details = self.details.as_ref().ok_or(InstrumentError::NotFound)?;
        if self.features.is_empty() {
            return Err(FieldError::new(
                "features",
                "a published instrument needs at least one feature",
            )
            .into());
        }
        if matches!(
            details.cover_level,
            CoverLevel::National | CoverLevel::Regional
        ) && details.countries.is_empty()
        {
            return Err(FieldError::new(
                "countries",
                "a national or regional instrument needs its country",
            )
            .into());
        }
        if details.kind == InstrumentKind::Call {
            match self.schedule.deadline {
                None => return Err(FieldError::new("deadline", "a call needs a deadline").into()),
                Some(deadline) if deadline <= now => {
                    return Err(FieldError::new(
                        "deadline",
                        "a call's deadline must be in the future",
                    )
                    .into());
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// A change to an open instrument must leave it publishable.
    fn still_publishable(
        &self,
        event: &InstrumentEvent,
        now: OffsetDateTime,
    ) -> Result<(), InstrumentError> {
        if self.status != InstrumentStatus::Open {
            return Ok(());
        }
        let mut after = self.clone();
        after.apply(event.clone());
        after.check_publishable(now)
    }
}

impl Aggregate for FundingInstrument {
    const TYPE: &'static str = INSTRUMENT;
    type Command = InstrumentCommand;
    type Event = InstrumentEvent;
    type Error = InstrumentError;
    type Services = InstrumentServices;

    async fn handle(
        &mut self,
        command: InstrumentCommand,
        services: &InstrumentServices,
        sink: &EventSink<Self>,
    ) -> Result<(), InstrumentError> {
        let now = services.clock.now();
        let event = match command {
            InstrumentCommand::Draft { tenant, details } => {
                if self.details.is_some() {
                    return Err(InstrumentError::AlreadyExists);
                }
                InstrumentEvent::InstrumentDrafted { tenant, details }
            }
            InstrumentCommand::Revise { patch } => {
                let changes = InstrumentChanges::from_patch(self.existing()?, patch);
                if changes.is_empty() {
                    return Err(InstrumentError::Unchanged);
                }
                InstrumentEvent::InstrumentRevised { changes }
            }
            InstrumentCommand::TagFeatures { features } => {
                self.existing()?;
                let added = features.difference(self.features);
                if added.is_empty() {
                    return Err(InstrumentError::Unchanged);
                }
                InstrumentEvent::InstrumentFeaturesTagged { features: added }
            }
            InstrumentCommand::UntagFeatures { features } => {
                self.existing()?;
                let removed = features.intersection(self.features);
                if removed.is_empty() {
                    return Err(InstrumentError::Unchanged);
                }
                InstrumentEvent::InstrumentFeaturesUntagged { features: removed }
            }
            InstrumentCommand::SetSchedule { schedule } => {
                self.existing()?;
                schedule.check()?;
                if schedule == self.schedule {
                    return Err(InstrumentError::Unchanged);
                }
                InstrumentEvent::InstrumentScheduleSet {
                    old: self.schedule.clone(),
                    new: schedule,
                }
            }
            InstrumentCommand::Publish => {
                self.existing()?;
                match self.status {
                    InstrumentStatus::Draft | InstrumentStatus::Withdrawn => {}
                    status => {
                        return Err(InstrumentError::WrongStatus(
                            status,
                            "only a draft or withdrawn instrument can be published",
                        ));
                    }
                }
                self.check_publishable(now)?;
                InstrumentEvent::InstrumentPublished
            }
            InstrumentCommand::Withdraw { reason } => {
                self.existing()?;
                match self.status {
                    InstrumentStatus::Open | InstrumentStatus::Closed => {}
                    status => {
                        return Err(InstrumentError::WrongStatus(
                            status,
                            "only a published instrument can be withdrawn",
                        ));
                    }
                }
                InstrumentEvent::InstrumentWithdrawn { reason }
            }
            InstrumentCommand::Archive => {
                self.existing()?;
                InstrumentEvent::InstrumentArchived
            }
            InstrumentCommand::Close => {
                let details = self.existing()?;
                if details.kind != InstrumentKind::Call {
                    return Err(FieldError::new("kind", "only a call closes").into());
                }
                match (self.status, self.schedule.deadline) {
                    (InstrumentStatus::Draft, _) => {}
                    (InstrumentStatus::Open, Some(deadline)) if deadline <= now => {}
                    (InstrumentStatus::Open, _) => {
                        return Err(FieldError::new(
                            "deadline",
                            "the call's deadline has not passed",
                        )
                        .into());
                    }
                    (status, _) => {
                        return Err(InstrumentError::WrongStatus(
                            status,
                            "only a draft or open call can be closed",
                        ));
                    }
                }
                // A closed call is no longer published, so it need not stay publishable.
                sink.write(InstrumentEvent::InstrumentClosed, self).await;
                return Ok(());
            }
            InstrumentCommand::Reopen { schedule } => {
                let details = self.existing()?;
                schedule.check()?;
                if self.status != InstrumentStatus::Closed {
                    return Err(InstrumentError::WrongStatus(
                        self.status,
                        "only a closed call can be reopened",
                    ));
                }
                if details.periodicity == Some(super::details::Periodicity::OneOff) {
                    return Err(
                        FieldError::new("periodicity", "a one-off call does not reopen").into(),
                    );
                }
                let event = InstrumentEvent::InstrumentReopened {
                    old: self.schedule.clone(),
                    new: schedule,
                };
                // Reopened, it is published again: it must be publishable, deadline included.
                let mut after = self.clone();
                after.apply(event.clone());
                after.check_publishable(now)?;
                sink.write(event, self).await;
                return Ok(());
            }
        };
        self.still_publishable(&event, now)?;
        sink.write(event, self).await;
        Ok(())
    }

    fn apply(&mut self, event: InstrumentEvent) {
        match event {
            InstrumentEvent::InstrumentDrafted { tenant, details } => {
                self.tenant = Some(tenant);
                self.details = Some(details);
                self.status = InstrumentStatus::Draft;
            }
            InstrumentEvent::InstrumentRevised { changes } => {
                if let Some(details) = self.details.as_mut() {
                    changes.apply_to(details);
                }
            }
            InstrumentEvent::InstrumentFeaturesTagged { features } => {
                self.features = self.features.union(features);
            }
            InstrumentEvent::InstrumentFeaturesUntagged { features } => {
                self.features = self.features.difference(features);
            }
            InstrumentEvent::InstrumentScheduleSet { new, .. } => self.schedule = new,
            InstrumentEvent::InstrumentPublished => self.status = InstrumentStatus::Open,
            InstrumentEvent::InstrumentWithdrawn { .. } => {
                self.status = InstrumentStatus::Withdrawn
            }
            InstrumentEvent::InstrumentArchived => self.status = InstrumentStatus::Archived,
            InstrumentEvent::InstrumentClosed => self.status = InstrumentStatus::Closed,
            InstrumentEvent::InstrumentReopened { new, .. } => {
                self.schedule = new;
                self.status = InstrumentStatus::Open;
            }
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

use std::collections::BTreeSet;

use cqrs_es::event_sink::EventSink;
use cqrs_es::{Aggregate, DomainEvent};
use ri_taxonomy::FeatureSet;
use serde::{Deserialize, Serialize};
use time::Date;
use uuid::Uuid;

use super::values::{
    FundingApplication, FundingApplicationStatus, InstrumentRef, MatchThreshold,
    MilestoneDescription, Money, ProjectChanges, ProjectDetails, ProjectPatch, SuccessCriterion,
    SuccessMilestone, iso_date,
};
use crate::instrument::{Clock, SystemClock};
use crate::tenant::TenantSlug;
use crate::values::{Change, FieldError, Link, ShortText, Title};
use crate::when;

pub const PROJECT: &str = "Project";

/// Namespace of the ids of the milestones that awards record: the milestone of application `a`
/// is UUIDv5(this, `a`), the same in every replay.
pub const AWARD_MILESTONE_NAMESPACE: Uuid =
    Uuid::from_u128(0x5072_6f6a_4177_6172_8000_0000_0000_0001);

/// The RECOGNITION milestone that the award of funding application `application` records.
pub fn award_milestone_id(application: Uuid) -> Uuid {
    Uuid::new_v5(&AWARD_MILESTONE_NAMESPACE, application.as_bytes())
}

/// Most milestones, and most funding applications, one project holds.
pub const MAX_RECORDS: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectCommand {
    Register {
        tenant: TenantSlug,
        details: ProjectDetails,
    },
    /// The details to change; the event records only what changed.
    Revise {
        patch: ProjectPatch,
    },
    DeclareFeatures {
        features: FeatureSet,
    },
    RetractFeatures {
        features: FeatureSet,
    },
    /// Where else the project applies (`environmental protection, construction`), as the whole
    /// new text; empty clears it.
    NoteApplicationsBeyondSecurity {
        applications: ShortText,
    },
    RecordMilestone {
        id: Uuid,
        criterion: SuccessCriterion,
        date: Date,
        description: MilestoneDescription,
        evidence_link: Option<Link>,
    },
    /// An application already `AWARDED` also records its RECOGNITION milestone.
    RecordFundingApplication {
        id: Uuid,
        instrument_id: Option<InstrumentRef>,
        instrument_name: Title,
        status: FundingApplicationStatus,
        date: Date,
        amount: Option<Money>,
        /// Evidence of the award, for its milestone; only with `AWARDED`.
        evidence_link: Option<Link>,
    },
    /// Moves an application forward; `AWARDED` also records its RECOGNITION milestone.
    UpdateFundingApplication {
        id: Uuid,
        status: FundingApplicationStatus,
        date: Date,
        /// The amount from now on (the one granted, say); `None` keeps it.
        amount: Option<Money>,
        /// Evidence of the award, for its milestone; only with `AWARDED`.
        evidence_link: Option<Link>,
    },
    SetMatchThreshold {
        threshold: MatchThreshold,
    },
    /// Lets tenant `with` assign the project to its clusters and read it, and both read the
    /// practitioners' feedback on it (issue 16).
    Share {
        with: TenantSlug,
    },
    /// Takes a share back: nothing more of the project reaches `from`.
    WithdrawShare {
        from: TenantSlug,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProjectEvent {
    ProjectRegistered {
        tenant: TenantSlug,
        details: ProjectDetails,
    },
    ProjectRevised {
        changes: ProjectChanges,
    },
    /// The features actually added.
    ProjectFeaturesDeclared {
        features: FeatureSet,
    },
    /// The features actually removed.
    ProjectFeaturesRetracted {
        features: FeatureSet,
    },
    ProjectApplicationsBeyondSecurityNoted {
        applications: ShortText,
    },
    SuccessMilestoneRecorded {
        milestone: SuccessMilestone,
    },
    FundingApplicationRecorded {
        application: FundingApplication,
    },
    FundingApplicationStatusChanged {
        id: Uuid,
        old: FundingApplicationStatus,
        new: FundingApplicationStatus,
        #[serde(with = "iso_date")]
        date: Date,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount: Option<Change<Option<Money>>>,
    },
    ProjectMatchThresholdSet {
        old: MatchThreshold,
        new: MatchThreshold,
    },
    ProjectShared {
        with: TenantSlug,
    },
    ProjectShareWithdrawn {
        from: TenantSlug,
    },
}

impl ProjectEvent {
    pub const TYPES: [&'static str; 11] = [
        "ProjectRegistered",
        "ProjectRevised",
        "ProjectFeaturesDeclared",
        "ProjectFeaturesRetracted",
        "ProjectApplicationsBeyondSecurityNoted",
        "SuccessMilestoneRecorded",
        "FundingApplicationRecorded",
        "FundingApplicationStatusChanged",
        "ProjectMatchThresholdSet",
        "ProjectShared",
        "ProjectShareWithdrawn",
    ];
}

impl DomainEvent for ProjectEvent {
    fn event_type(&self) -> String {
        match self {
            ProjectEvent::ProjectRegistered { .. } => "ProjectRegistered",
            ProjectEvent::ProjectRevised { .. } => "ProjectRevised",
            ProjectEvent::ProjectFeaturesDeclared { .. } => "ProjectFeaturesDeclared",
            ProjectEvent::ProjectFeaturesRetracted { .. } => "ProjectFeaturesRetracted",
            ProjectEvent::ProjectApplicationsBeyondSecurityNoted { .. } => {
                "ProjectApplicationsBeyondSecurityNoted"
            }
            ProjectEvent::SuccessMilestoneRecorded { .. } => "SuccessMilestoneRecorded",
            ProjectEvent::FundingApplicationRecorded { .. } => "FundingApplicationRecorded",
            ProjectEvent::FundingApplicationStatusChanged { .. } => {
                "FundingApplicationStatusChanged"
            }
            ProjectEvent::ProjectMatchThresholdSet { .. } => "ProjectMatchThresholdSet",
            ProjectEvent::ProjectShared { .. } => "ProjectShared",
            ProjectEvent::ProjectShareWithdrawn { .. } => "ProjectShareWithdrawn",
        }
        .to_owned()
    }

    fn event_version(&self) -> String {
        "1".to_owned()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProjectError {
    #[error("the project is already registered")]
    AlreadyRegistered,
    #[error("no such project")]
    NotFound,
    #[error("nothing would change")]
    Unchanged,
    #[error("the project already has a milestone {0}")]
    MilestoneExists(Uuid),
    #[error("the project already has a funding application {0}")]
    FundingApplicationExists(Uuid),
    #[error("the project has no funding application {0}")]
    NoSuchFundingApplication(Uuid),
    /// Backwards, sideways, or away from a decision.
    #[error("a funding application cannot go from {from:?} to {to:?}")]
    StatusTransition {
        from: FundingApplicationStatus,
        to: FundingApplicationStatus,
    },
    #[error("the project is not shared with {0}")]
    NotShared(TenantSlug),
    #[error(transparent)]
    Invalid(#[from] FieldError),
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    pub tenant: Option<TenantSlug>,
    pub details: Option<ProjectDetails>,
    pub features: FeatureSet,
    pub applications_beyond_security: Option<ShortText>,
    /// In the order recorded.
    pub milestones: Vec<SuccessMilestone>,
    /// In the order recorded.
    pub funding_applications: Vec<FundingApplication>,
    pub match_threshold: MatchThreshold,
    /// The tenants it is shared with.
    #[serde(default)]
    pub shared_with: BTreeSet<TenantSlug>,
}

/// Most tenants one project is shared with.
pub const MAX_SHARES: usize = 50;

impl Project {
    fn registered(&self) -> Result<&ProjectDetails, ProjectError> {
        self.details.as_ref().ok_or(ProjectError::NotFound)
    }

    pub fn funding_application(&self, id: Uuid) -> Option<&FundingApplication> {
        self.funding_applications.iter().find(|a| a.id == id)
    }

    fn check_new_milestone(&self, id: Uuid) -> Result<(), ProjectError> {
        if self.milestones.iter().any(|m| m.id == id) {
            return Err(ProjectError::MilestoneExists(id));
        }
        if self.milestones.len() >= MAX_RECORDS {
            return Err(FieldError::new(
                "milestones",
                format!("a project holds at most {MAX_RECORDS} milestones"),
            )
            .into());
        }
        Ok(())
    }

    /// The RECOGNITION milestone of application `application`'s award.
    fn award_milestone(
        &self,
        application: &FundingApplication,
        evidence_link: Option<Link>,
    ) -> Result<ProjectEvent, ProjectError> {
        let id = award_milestone_id(application.id);
        self.check_new_milestone(id)?;
        milestone_date(application.date)?;
        let mut text = format!("Funding awarded: {}", application.instrument_name);
        if let Some(amount) = &application.amount {
            text.push_str(&format!(" ({amount})"));
        }
        Ok(ProjectEvent::SuccessMilestoneRecorded {
            milestone: SuccessMilestone {
                id,
                criterion: SuccessCriterion::Recognition,
                date: application.date,
                description: MilestoneDescription::parse("description", &text)?,
                evidence_link,
                funding_application: Some(application.id),
            },
        })
    }
}

/// A milestone records what happened: its day is within the bounds of [`crate::when`] and not
/// after today anywhere on Earth.
///
/// The project aggregate has no services to pass a clock in (its commands are run with `()`
/// by the API, the CSV import, the seed and the tests), so this one rule reads the system
/// clock; it only refuses days that have not come anywhere yet.
fn milestone_date(date: Date) -> Result<Date, FieldError> {
    when::day("date", date)?;
    when::not_in_future("date", date, SystemClock.now())
}

fn evidence_only_with_award(
    status: FundingApplicationStatus,
    evidence_link: &Option<Link>,
) -> Result<(), FieldError> {
    if evidence_link.is_some() && status != FundingApplicationStatus::Awarded {
        return Err(FieldError::new(
            "evidenceLink",
            "only an award records evidence",
        ));
    }
    Ok(())
}

impl Aggregate for Project {
    const TYPE: &'static str = PROJECT;
    type Command = ProjectCommand;
    type Event = ProjectEvent;
    type Error = ProjectError;
    type Services = ();

    async fn handle(
        &mut self,
        command: ProjectCommand,
        _services: &(),
        sink: &EventSink<Self>,
    ) -> Result<(), ProjectError> {
        let events = match command {
            ProjectCommand::Register { tenant, details } => {
                if self.details.is_some() {
                    return Err(ProjectError::AlreadyRegistered);
                }
                vec![ProjectEvent::ProjectRegistered { tenant, details }]
            }
            ProjectCommand::Revise { patch } => {
                let changes = ProjectChanges::from_patch(self.registered()?, patch);
                if changes.is_empty() {
                    return Err(ProjectError::Unchanged);
                }
                vec![ProjectEvent::ProjectRevised { changes }]
            }
            ProjectCommand::DeclareFeatures { features } => {
                self.registered()?;
                let added = features.difference(self.features);
                if added.is_empty() {
                    return Err(ProjectError::Unchanged);
                }
                vec![ProjectEvent::ProjectFeaturesDeclared { features: added }]
            }
            ProjectCommand::RetractFeatures { features } => {
                self.registered()?;
                let removed = features.intersection(self.features);
                if removed.is_empty() {
                    return Err(ProjectError::Unchanged);
                }
                vec![ProjectEvent::ProjectFeaturesRetracted { features: removed }]
            }
            ProjectCommand::NoteApplicationsBeyondSecurity { applications } => {
                self.registered()?;
                let current = self
                    .applications_beyond_security
                    .as_ref()
                    .map_or("", ShortText::as_str);
                if applications.as_str() == current {
                    return Err(ProjectError::Unchanged);
                }
                vec![ProjectEvent::ProjectApplicationsBeyondSecurityNoted { applications }]
            }
            ProjectCommand::RecordMilestone {
                id,
                criterion,
                date,
                description,
                evidence_link,
            } => {
                self.registered()?;
                self.check_new_milestone(id)?;
                milestone_date(date)?;
                vec![ProjectEvent::SuccessMilestoneRecorded {
                    milestone: SuccessMilestone {
                        id,
                        criterion,
                        date,
                        description,
                        evidence_link,
                        funding_application: None,
                    },
                }]
            }
            ProjectCommand::RecordFundingApplication {
                id,
                instrument_id,
                instrument_name,
                status,
                date,
                amount,
                evidence_link,
            } => {
                self.registered()?;
                if self.funding_application(id).is_some() {
                    return Err(ProjectError::FundingApplicationExists(id));
                }
                if self.funding_applications.len() >= MAX_RECORDS {
                    return Err(FieldError::new(
                        "fundingApplications",
                        format!("a project holds at most {MAX_RECORDS} funding applications"),
                    )
                    .into());
                }
                when::day("date", date)?;
                evidence_only_with_award(status, &evidence_link)?;
                let application = FundingApplication {
                    id,
                    instrument_id,
                    instrument_name,
                    status,
                    date,
                    amount,
                };
                let mut events = Vec::with_capacity(2);
                if status == FundingApplicationStatus::Awarded {
                    events.push(self.award_milestone(&application, evidence_link)?);
                }
                events.insert(0, ProjectEvent::FundingApplicationRecorded { application });
                events
            }
            ProjectCommand::UpdateFundingApplication {
                id,
                status,
                date,
                amount,
                evidence_link,
            } => {
                self.registered()?;
                let current = self
                    .funding_application(id)
                    .ok_or(ProjectError::NoSuchFundingApplication(id))?;
                if !current.status.can_become(status) {
                    return Err(ProjectError::StatusTransition {
                        from: current.status,
                        to: status,
                    });
                }
                when::day("date", date)?;
                if date < current.date {
                    return Err(FieldError::new(
                        "date",
                        format!(
                            "{date} is before the day it became {:?} ({})",
                            current.status, current.date
                        ),
                    )
                    .into());
                }
                evidence_only_with_award(status, &evidence_link)?;
                let amount = amount.and_then(|new| Change::between(&current.amount, &Some(new)));
                let mut after = current.clone();
                after.status = status;
                after.date = date;
                if let Some(change) = &amount {
                    after.amount = change.new.clone();
                }
                let mut events = vec![ProjectEvent::FundingApplicationStatusChanged {
                    id,
                    old: current.status,
                    new: status,
                    date,
                    amount,
                }];
                if status == FundingApplicationStatus::Awarded {
                    events.push(self.award_milestone(&after, evidence_link)?);
                }
                events
            }
            ProjectCommand::SetMatchThreshold { threshold } => {
                self.registered()?;
                if threshold == self.match_threshold {
                    return Err(ProjectError::Unchanged);
                }
                vec![ProjectEvent::ProjectMatchThresholdSet {
                    old: self.match_threshold,
                    new: threshold,
                }]
            }
            ProjectCommand::Share { with } => {
                self.registered()?;
                if self.tenant.as_ref() == Some(&with) {
                    return Err(FieldError::new(
                        "tenant",
                        "the project is its own tenant's: share it with another tenant",
                    )
                    .into());
                }
                if self.shared_with.contains(&with) {
                    return Err(ProjectError::Unchanged);
                }
                if self.shared_with.len() >= MAX_SHARES {
                    return Err(FieldError::new(
                        "tenant",
                        format!("a project is shared with at most {MAX_SHARES} tenants"),
                    )
                    .into());
                }
                vec![ProjectEvent::ProjectShared { with }]
            }
            ProjectCommand::WithdrawShare { from } => {
                self.registered()?;
                if !self.shared_with.contains(&from) {
                    return Err(ProjectError::NotShared(from));
                }
                vec![ProjectEvent::ProjectShareWithdrawn { from }]
            }
        };
        for event in events {
            sink.write(event, self).await;
        }
        Ok(())
    }

    fn apply(&mut self, event: ProjectEvent) {
        match event {
            ProjectEvent::ProjectRegistered { tenant, details } => {
                self.tenant = Some(tenant);
                self.details = Some(details);
            }
            ProjectEvent::ProjectRevised { changes } => {
                if let Some(details) = self.details.as_mut() {
                    changes.apply_to(details);
                }
            }
            ProjectEvent::ProjectFeaturesDeclared { features } => {
                self.features = self.features.union(features);
            }
            ProjectEvent::ProjectFeaturesRetracted { features } => {
                self.features = self.features.difference(features);
            }
            ProjectEvent::ProjectApplicationsBeyondSecurityNoted { applications } => {
                self.applications_beyond_security =
                    (!applications.as_str().is_empty()).then_some(applications);
            }
            ProjectEvent::SuccessMilestoneRecorded { milestone } => {
                self.milestones.push(milestone);
            }
            ProjectEvent::FundingApplicationRecorded { application } => {
                self.funding_applications.push(application);
            }
            ProjectEvent::FundingApplicationStatusChanged {
                id,
                new,
                date,
                amount,
                ..
            } => {
                if let Some(application) = self.funding_applications.iter_mut().find(|a| a.id == id)
                {
                    application.status = new;
                    application.date = date;
                    if let Some(change) = amount {
                        application.amount = change.new;
                    }
                }
            }
            ProjectEvent::ProjectMatchThresholdSet { new, .. } => self.match_threshold = new,
            ProjectEvent::ProjectShared { with } => {
                self.shared_with.insert(with);
            }
            ProjectEvent::ProjectShareWithdrawn { from } => {
                self.shared_with.remove(&from);
            }
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

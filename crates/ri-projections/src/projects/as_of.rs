//! A project as it stood at a moment (issue 16): its events recorded until then, upcast as the
//! log upcasts them today and folded by the domain's own rules (the fold the projection's
//! tables hold), with each milestone's and application's times as the projection records them.

use std::collections::HashMap;

use cqrs_es::Aggregate;
use ri_domain::TenantSlug;
use ri_domain::project::{PROJECT, Project, ProjectEvent};
use ri_eventstore::EventLog;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::read::{FundingApplicationRow, MilestoneRow, ProjectRow};
use super::shares::readable_owner;
use crate::catalogue::ReadError;
use crate::catalogue::as_of::malformed;
use crate::catalogue::codes::decode;

/// The project `id` as `reader`'s tenant reads it (its own, or one shared with it now) as it
/// stood at `at`: `None` before it was registered, or when the reader may not read it now.
/// `version` and `updatedAt` are its last change before `at`.
pub async fn project_as_of(
    pool: &PgPool,
    log: &EventLog,
    reader: &TenantSlug,
    id: &str,
    at: OffsetDateTime,
) -> Result<Option<ProjectRow>, ReadError> {
    let Some(owner) = readable_owner(pool, reader, id).await? else {
        return Ok(None);
    };
    let events = log
        .reader()
        .aggregate_until(pool, owner.as_str(), PROJECT, id, at)
        .await
        .map_err(malformed)?;
    let mut fold = Fold::default();
    for e in &events {
        match decode::<ProjectEvent>(e) {
            Ok(event) => fold.apply(e, event),
            // Skipped as the projection skips it (decision 0004).
            Err(error) => {
                tracing::warn!(position = e.position, %error, "event skipped in an as-of read")
            }
        }
    }
    fold.into_row(owner, id)
}

/// The aggregate folded so far, and the times the projection would have recorded.
#[derive(Default)]
struct Fold {
    project: Project,
    version: i64,
    registered_at: Option<OffsetDateTime>,
    updated_at: Option<OffsetDateTime>,
    milestones: HashMap<Uuid, OffsetDateTime>,
    /// Recorded, last changed.
    applications: HashMap<Uuid, (OffsetDateTime, OffsetDateTime)>,
}

impl Fold {
    fn apply(&mut self, e: &ri_eventstore::StoredEvent, event: ProjectEvent) {
        let registration = matches!(event, ProjectEvent::ProjectRegistered { .. });
        // The projection ignores what comes before a registration, and a second one.
        if registration == self.registered_at.is_some() {
            return;
        }
        match &event {
            ProjectEvent::SuccessMilestoneRecorded { milestone } => {
                self.milestones.entry(milestone.id).or_insert(e.recorded_at);
            }
            ProjectEvent::FundingApplicationRecorded { application } => {
                self.applications
                    .entry(application.id)
                    .or_insert((e.recorded_at, e.recorded_at));
            }
            ProjectEvent::FundingApplicationStatusChanged { id, .. } => {
                if let Some(times) = self.applications.get_mut(id) {
                    times.1 = e.recorded_at;
                }
            }
            _ => {}
        }
        self.project.apply(event);
        if registration {
            self.registered_at = Some(e.recorded_at);
        }
        self.version = e.sequence;
        self.updated_at = Some(e.recorded_at);
    }

    fn into_row(self, tenant: TenantSlug, id: &str) -> Result<Option<ProjectRow>, ReadError> {
        let (Some(details), Some(registered_at), Some(updated_at)) =
            (self.project.details, self.registered_at, self.updated_at)
        else {
            return Ok(None);
        };
        let mut milestones = self
            .project
            .milestones
            .iter()
            .enumerate()
            .map(|(n, m)| {
                let row = MilestoneRow {
                    id: m.id,
                    criterion: m.criterion,
                    date: m.date,
                    description: m.description.as_str().to_owned(),
                    evidence_link: m.evidence_link.as_ref().map(|l| l.as_str().to_owned()),
                    funding_application: m.funding_application,
                    recorded_at: self.milestones.get(&m.id).copied().unwrap_or(updated_at),
                };
                (n, row)
            })
            .collect::<Vec<_>>();
        // By date, then as recorded, as the read model lists them.
        milestones.sort_by(|a, b| a.1.date.cmp(&b.1.date).then(a.0.cmp(&b.0)));
        let funding_applications = self
            .project
            .funding_applications
            .iter()
            .map(|a| {
                let (recorded_at, changed_at) = self
                    .applications
                    .get(&a.id)
                    .copied()
                    .unwrap_or((updated_at, updated_at));
                FundingApplicationRow {
                    id: a.id,
                    instrument_id: a.instrument_id.as_ref().map(|i| i.as_str().to_owned()),
                    instrument_name: a.instrument_name.as_str().to_owned(),
                    status: a.status,
                    status_date: a.date,
                    amount: a.amount.clone(),
                    recorded_at,
                    updated_at: changed_at,
                }
            })
            .collect();
        Ok(Some(ProjectRow {
            id: id.to_owned(),
            tenant,
            version: self.version,
            countries: details.countries(),
            acronym: details.acronym.as_str().to_owned(),
            title: details.title.as_str().to_owned(),
            open_call: details.open_call.as_ref().map(|c| c.as_str().to_owned()),
            stage: details.stage,
            security_domain: details.security_domain,
            consortium: details.consortium.members().to_vec(),
            lead_country: details.lead_country,
            summary: details.summary.as_str().to_owned(),
            features: self.project.features,
            applications_beyond_security: self
                .project
                .applications_beyond_security
                .as_ref()
                .map(|a| a.as_str().to_owned())
                .filter(|a| !a.is_empty()),
            match_threshold: self.project.match_threshold,
            milestones: milestones.into_iter().map(|(_, m)| m).collect(),
            funding_applications,
            registered_at,
            updated_at,
        }))
    }
}

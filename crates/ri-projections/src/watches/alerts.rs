//! Project match alerts (issue 5): when an instrument is published or revised so that a
//! project newly scores at or above the project's match threshold, the follow-up managers of
//! the project's tenant get a `PROJECT_MATCH` notification, once per (project, instrument):
//! one notice per (instrument event, tenant) names every project the event made match.
//!
//! Like the watches, this is decided in log order against the projection's own state: the
//! projects (the Project aggregate's state, folded with its own `apply`), the tenants' role
//! grants (the Tenant aggregate's state) and the instruments (`watch_instruments`). The score
//! is `ri_matching::score` with the service's weights (`matching_weights`) at the event's time.
//!
//! A batch reads these tables once, when it first needs them, folds its events in memory in
//! log order, and writes what changed once at the end ([`Alerts::flush`]).

use std::collections::{BTreeMap, BTreeSet};

use cqrs_es::Aggregate;
use ri_domain::Role;
use ri_domain::project::{Project, ProjectEvent};
use ri_domain::tenant::{Tenant, TenantEvent};
use ri_eventstore::StoredEvent;
use ri_matching::{Country, InstrumentProfile, ProjectProfile, Weights};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{MatchedProject, NOTIFICATION_NAMESPACE, NoticeRow, Recipient};
use crate::catalogue::codes::from_code;
use crate::catalogue::instruments::Row;
use crate::error::ProjectionError;

fn bad(e: &StoredEvent, reason: impl Into<String>) -> ProjectionError {
    ProjectionError::BadEvent {
        position: e.position,
        reason: reason.into(),
    }
}

/// The alert state a batch works on: loaded on first use, changed in memory, written once.
#[derive(Debug, Default)]
pub(super) struct Alerts {
    /// id -> (tenant, project), in id order (the order projects are scored in).
    projects: Option<BTreeMap<String, (String, Project)>>,
    dirty_projects: BTreeSet<String>,
    tenants: Option<BTreeMap<String, Tenant>>,
    dirty_tenants: BTreeSet<String>,
    /// instrument -> projects already alerted, for the instruments in `alerted_loaded`.
    alerted: BTreeMap<String, BTreeSet<String>>,
    alerted_loaded: BTreeSet<String>,
    /// Instruments whose alerted set grew in this batch: their whole set is written at the end.
    dirty_alerted: BTreeSet<String>,
}

impl Alerts {
    async fn projects(
        &mut self,
        conn: &mut PgConnection,
    ) -> Result<&mut BTreeMap<String, (String, Project)>, ProjectionError> {
        if self.projects.is_none() {
            let rows: Vec<(String, String, Json<Project>)> =
                sqlx::query_as("SELECT id, tenant, state FROM alert_projects")
                    .fetch_all(&mut *conn)
                    .await?;
            self.projects = Some(
                rows.into_iter()
                    .map(|(id, tenant, Json(p))| (id, (tenant, p)))
                    .collect(),
            );
        }
        Ok(self.projects.get_or_insert_default())
    }

    async fn tenants(
        &mut self,
        conn: &mut PgConnection,
    ) -> Result<&mut BTreeMap<String, Tenant>, ProjectionError> {
        if self.tenants.is_none() {
            let rows: Vec<(String, Json<Tenant>)> =
                sqlx::query_as("SELECT slug, state FROM alert_tenants")
                    .fetch_all(&mut *conn)
                    .await?;
            self.tenants = Some(rows.into_iter().map(|(s, Json(t))| (s, t)).collect());
        }
        Ok(self.tenants.get_or_insert_default())
    }

    /// Loads which projects were alerted for `instruments` (those not loaded yet).
    pub(super) async fn load_alerted(
        &mut self,
        conn: &mut PgConnection,
        instruments: &BTreeSet<&str>,
    ) -> Result<(), ProjectionError> {
        let missing = instruments
            .iter()
            .filter(|i| !self.alerted_loaded.contains(**i))
            .map(|i| (*i).to_owned())
            .collect::<Vec<_>>();
        if missing.is_empty() {
            return Ok(());
        }
        let rows: Vec<(String, Vec<String>)> = sqlx::query_as(
            "SELECT instrument_id, projects FROM instrument_alerts \
             WHERE instrument_id = ANY($1::text[])",
        )
        .bind(&missing)
        .fetch_all(&mut *conn)
        .await?;
        for (instrument, projects) in rows {
            self.alerted.entry(instrument).or_default().extend(projects);
        }
        self.alerted_loaded.extend(missing);
        Ok(())
    }

    /// Folds a Project event into the projection's copy of the project.
    pub(super) async fn project_event(
        &mut self,
        conn: &mut PgConnection,
        e: &StoredEvent,
        event: ProjectEvent,
    ) -> Result<(), ProjectionError> {
        let projects = self.projects(conn).await?;
        let (_, project) = projects
            .entry(e.aggregate_id.clone())
            .or_insert_with(|| (e.tenant.clone(), Project::default()));
        project.apply(event);
        self.dirty_projects.insert(e.aggregate_id.clone());
        Ok(())
    }

    /// Folds a Tenant event into the projection's copy of the tenant (for its role grants).
    pub(super) async fn tenant_event(
        &mut self,
        conn: &mut PgConnection,
        e: &StoredEvent,
        event: TenantEvent,
    ) -> Result<(), ProjectionError> {
        let tenants = self.tenants(conn).await?;
        tenants
            .entry(e.aggregate_id.clone())
            .or_default()
            .apply(event);
        self.dirty_tenants.insert(e.aggregate_id.clone());
        Ok(())
    }

    /// After instrument event `e` left the instrument as `row` (published, open): alerts for
    /// every project that now scores at or above its threshold and never did for this
    /// instrument, in one notice per tenant naming its projects, best first (a publication that
    /// 250 projects match writes one row per tenant, not 250). The instrument's alerted pairs
    /// must have been loaded ([`Self::load_alerted`]).
    pub(super) async fn instrument_changed(
        &mut self,
        conn: &mut PgConnection,
        weights: &Weights,
        e: &StoredEvent,
        row: &Row,
        notices: &mut Vec<NoticeRow>,
    ) -> Result<(), ProjectionError> {
        let instrument = instrument_profile(e, row)?;
        // tenant -> its projects that newly match.
        let mut hits: BTreeMap<String, Vec<MatchedProject>> = BTreeMap::new();
        self.projects(conn).await?;
        let projects = self.projects.iter().flatten();
        let done = self.alerted.get(&row.id);
        for (project_id, (tenant, project)) in projects {
            if done.is_some_and(|d| d.contains(project_id)) {
                continue;
            }
            let Some(profile) = project_profile(project) else {
                continue;
            };
            let Ok(m) = ri_matching::score(weights, &profile, &instrument, e.recorded_at) else {
                continue; // ineligible pairs are never matches
            };
            let threshold = project.match_threshold.value();
            if m.score < threshold {
                continue;
            }
            hits.entry(tenant.clone())
                .or_default()
                .push(MatchedProject {
                    project_id: project_id.clone(),
                    acronym: project
                        .details
                        .as_ref()
                        .map(|d| d.acronym.to_string())
                        .unwrap_or_default(),
                    score: m.score,
                    threshold,
                    explanation: Some(m.explanation),
                });
        }
        if !hits.is_empty() {
            self.dirty_alerted.insert(row.id.clone());
        }
        for (tenant, mut matches) in hits {
            self.alerted
                .entry(row.id.clone())
                .or_default()
                .extend(matches.iter().map(|m| m.project_id.clone()));
            // Best first; equal scores in project order (the order they were scored in).
            matches.sort_by(|a, b| b.score.total_cmp(&a.score));
            let recipients = self
                .managers(conn, &tenant)
                .await?
                .into_iter()
                .map(|manager| Recipient {
                    id: Uuid::new_v5(
                        &NOTIFICATION_NAMESPACE,
                        format!("{}:project-match:{tenant}:{manager}", e.event_id).as_bytes(),
                    ),
                    tenant: tenant.clone(),
                    user: manager,
                    watch_id: None,
                })
                .collect::<Vec<_>>();
            if recipients.is_empty() {
                continue;
            }
            notices.push(NoticeRow {
                recipients,
                kind: "PROJECT_MATCH",
                project_id: matches.first().map(|m| m.project_id.clone()),
                instrument_id: row.id.clone(),
                title: row.title.clone(),
                message: match_message(&row.title, &matches),
                changes: serde_json::Value::Array(vec![]),
                matches,
                deadline: row.deadline,
                created_at: e.recorded_at,
                cause: super::StoredCause::event(e),
            });
        }
        Ok(())
    }

    /// The follow-up managers of `tenant`, as its events granted them.
    async fn managers(
        &mut self,
        conn: &mut PgConnection,
        tenant: &str,
    ) -> Result<Vec<String>, ProjectionError> {
        Ok(self
            .tenants(conn)
            .await?
            .get(tenant)
            .map(|t| {
                t.grants
                    .iter()
                    .filter(|(_, role)| *role == Role::FollowUpManager)
                    .map(|(subject, _)| subject.clone())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Writes what the batch changed: project and tenant copies, and the alerted set of each
    /// instrument that alerted someone new.
    pub(super) async fn flush(&mut self, conn: &mut PgConnection) -> Result<(), ProjectionError> {
        if let Some(projects) = &self.projects
            && !self.dirty_projects.is_empty()
        {
            let mut ids = Vec::new();
            let mut tenants = Vec::new();
            let mut states = Vec::new();
            for id in std::mem::take(&mut self.dirty_projects) {
                if let Some((tenant, project)) = projects.get(&id) {
                    states.push(serde_json::to_value(project).map_err(|err| {
                        ProjectionError::BadEvent {
                            position: 0,
                            reason: format!("project {id} does not serialise: {err}"),
                        }
                    })?);
                    ids.push(id);
                    tenants.push(tenant.clone());
                }
            }
            sqlx::query(
                "INSERT INTO alert_projects (id, tenant, state) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::jsonb[]) \
                 ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state",
            )
            .bind(&ids)
            .bind(&tenants)
            .bind(&states)
            .execute(&mut *conn)
            .await?;
        }
        if let Some(all) = &self.tenants
            && !self.dirty_tenants.is_empty()
        {
            let mut slugs = Vec::new();
            let mut states = Vec::new();
            for slug in std::mem::take(&mut self.dirty_tenants) {
                if let Some(tenant) = all.get(&slug) {
                    states.push(serde_json::to_value(tenant).map_err(|err| {
                        ProjectionError::BadEvent {
                            position: 0,
                            reason: format!("tenant {slug} does not serialise: {err}"),
                        }
                    })?);
                    slugs.push(slug);
                }
            }
            sqlx::query(
                "INSERT INTO alert_tenants (slug, state) \
                 SELECT * FROM UNNEST($1::text[], $2::jsonb[]) \
                 ON CONFLICT (slug) DO UPDATE SET state = EXCLUDED.state",
            )
            .bind(&slugs)
            .bind(&states)
            .execute(&mut *conn)
            .await?;
        }
        if !self.dirty_alerted.is_empty() {
            // Each set is whole: it was loaded before anything was added to it.
            let mut instruments = Vec::new();
            let mut sets = Vec::new();
            for id in std::mem::take(&mut self.dirty_alerted) {
                if let Some(projects) = self.alerted.get(&id) {
                    // One text[] per instrument, passed as its JSON array: UNNEST of a
                    // two-dimensional array would flatten it, and the sets differ in length.
                    sets.push(serde_json::Value::from(
                        projects.iter().cloned().collect::<Vec<_>>(),
                    ));
                    instruments.push(id);
                }
            }
            sqlx::query(
                "INSERT INTO instrument_alerts (instrument_id, projects) \
                 SELECT i, ARRAY(SELECT jsonb_array_elements_text(p)) \
                 FROM UNNEST($1::text[], $2::jsonb[]) AS k(i, p) \
                 ON CONFLICT (instrument_id) DO UPDATE SET projects = EXCLUDED.projects",
            )
            .bind(&instruments)
            .bind(&sets)
            .execute(&mut *conn)
            .await?;
        }
        Ok(())
    }
}

fn instrument_profile(e: &StoredEvent, row: &Row) -> Result<InstrumentProfile, ProjectionError> {
    let code = |what: &str, raw: &str| bad(e, format!("instrument {what} {raw:?} is unknown"));
    Ok(InstrumentProfile {
        id: row.id.clone(),
        features: ri_taxonomy::FeatureSet::from_bits(row.features)
            .map_err(|err| bad(e, err.to_string()))?,
        kind: from_code(&row.kind).ok_or_else(|| code("kind", &row.kind))?,
        cover_level: from_code(&row.cover_level)
            .ok_or_else(|| code("cover level", &row.cover_level))?,
        countries: row
            .countries
            .iter()
            .filter_map(|c| c.parse::<Country>().ok())
            .collect(),
        status: from_code(&row.status).ok_or_else(|| code("status", &row.status))?,
        deadline: row.deadline,
    })
}

/// The notice's sentence: the projects by acronym with their scores, the first few by name.
fn match_message(title: &str, matches: &[MatchedProject]) -> String {
    const NAMED: usize = 5;
    match matches {
        [one] => format!(
            "\"{title}\" scores {:.2} for {}, at or above its threshold of {:.2}",
            one.score, one.acronym, one.threshold
        ),
        _ => {
            let named = matches
                .iter()
                .take(NAMED)
                .map(|m| format!("{} ({:.2})", m.acronym, m.score))
                .collect::<Vec<_>>()
                .join(", ");
            let more = matches.len().saturating_sub(NAMED);
            let rest = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            format!(
                "\"{title}\" scores at or above the threshold of {} of your projects: {named}{rest}",
                matches.len()
            )
        }
    }
}

fn project_profile(project: &Project) -> Option<ProjectProfile> {
    let details = project.details.as_ref()?;
    Some(ProjectProfile {
        features: project.features,
        stage: details.stage.map(|s| match s {
            ri_domain::project::Stage::Prototyping => ri_matching::Stage::Prototyping,
            ri_domain::project::Stage::Demonstrator => ri_matching::Stage::Demonstrator,
        }),
        countries: details
            .countries()
            .iter()
            .filter_map(|c| c.as_str().parse::<Country>().ok())
            .collect(),
    })
}

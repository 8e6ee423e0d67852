//! The seed data the product ships: the SecurIT consortium partners and ambassador clusters as
//! tenants, the funding instruments the SecurIT deliverable D2.5 names, and the 42 projects its
//! two open calls funded, loaded as real commands through the event log so that every seeded
//! fact has its events and its history.
//!
//! The data is the project's own copy of the deliverable's facts (`seed/clusters.json`,
//! `seed/instruments.json`, `seed/projects.json`), embedded in the binary. Nothing here is
//! synthetic.
//!
//! [`load_if_empty`] first turns the whole seed into a plan, parsing every field through the
//! domain's value types, so that bad seed data fails with an error naming the record before
//! anything is written. It then runs the plan under an advisory lock, only when the log holds
//! no `Tenant` event yet; a second call, here or in another process, does nothing.
//!
//! Each concern has its module, whose documentation says how its records become commands:
//! `tenants`, `instruments`, `projects`, `clusters` (the project clusters of section 3.3) and
//! `success` (the success stories of section 3.2: milestones and funding applications).
//!
//! Every command of one load shares one correlation id and one trace id.

mod clusters;
mod instruments;
mod projects;
mod records;
mod success;
mod tenants;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};

use anyhow::{Context, anyhow, bail};
use ri_app::{App, Caller, Failure, policy};
use ri_domain::instrument::{FundingInstrument, InstrumentCommand, InstrumentServices, Schedule};
use ri_domain::project::{Project, ProjectCommand};
use ri_domain::tenant::{Tenant, TenantCommand, TenantKind};
use ri_domain::{Role, TenantSlug, TraceParent};
use ri_eventstore::EventLog;
use uuid::Uuid;

use self::clusters::{ClusterPlan, ProjectClustersFile, cluster_plan};
use self::instruments::{End, InstrumentPlan, instrument_plan};
use self::projects::{ProjectPlan, project_plan};
use self::records::{ClustersFile, InstrumentRecord, ProjectRecord};
use self::success::{StoriesFile, StoryPlan, story_plans};
use self::tenants::{TenantPlan, tenant_plan};

const CLUSTERS_JSON: &str = include_str!("../../seed/clusters.json");
const INSTRUMENTS_JSON: &str = include_str!("../../seed/instruments.json");
const PROJECTS_JSON: &str = include_str!("../../seed/projects.json");
const PROJECT_CLUSTERS_JSON: &str = include_str!("../../seed/project_clusters.json");
const SUCCESS_STORIES_JSON: &str = include_str!("../../seed/success_stories.json");

/// The namespace of the seeded instruments' ids. Fixed forever: changing it would give the same
/// instruments other ids in a database seeded later.
pub const INSTRUMENT_NAMESPACE: Uuid = Uuid::from_u128(0x6b1f_0c3e_8d2a_4e57_9c41_52a9_e0d7_3b18);

/// The namespace of the seeded projects' ids, fixed forever like [`INSTRUMENT_NAMESPACE`].
pub const PROJECT_NAMESPACE: Uuid = Uuid::from_u128(0x3c0e_52a1_7b94_4f08_a6d3_1e8b_94c2_7f50);

/// The namespace of the seeded end-user areas' and clusters' ids, fixed forever like
/// [`INSTRUMENT_NAMESPACE`].
pub const CLUSTER_NAMESPACE: Uuid = Uuid::from_u128(0x7a51_c3d0_2e64_4b19_8f07_d1a6_5c83_e924);

/// The partner that stewards the instruments no partner's country claims, and the projects no
/// partner follows up or claims by country (our choice).
const COORDINATOR: &str = "SAFE";

/// The partner that ran the clustering of section 3.3 (L3CE wrote D2.5 and its task T2.3): it
/// owns the seeded clusters, which hold the other partners' projects through shares.
const CLUSTERING_PARTNER: &str = "L3CE";

/// Namespace of the seed's advisory lock ("RISD"); the projections use "RIPR".
const LOCK_NAMESPACE: i32 = 0x5249_5344;

/// The IANA zone deadlines are given in.
const DEADLINE_ZONE: &str = "Europe/Brussels";

/// What [`load_if_empty`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Tenants registered.
    pub tenants: usize,
    /// Instruments drafted (whatever their final status).
    pub instruments: usize,
    /// Projects registered.
    pub projects: usize,
    /// True when the log already held a tenant, so nothing was written.
    pub skipped: bool,
}

/// The id a seeded instrument of this name gets, in every database.
pub fn instrument_id(name: &str) -> Uuid {
    Uuid::new_v5(&INSTRUMENT_NAMESPACE, name.trim().as_bytes())
}

/// The id a seeded project of this acronym gets, in every database.
pub fn project_id(acronym: &str) -> Uuid {
    Uuid::new_v5(&PROJECT_NAMESPACE, acronym.trim().as_bytes())
}

/// The id a seeded end-user area gets, in every database.
pub fn area_id(end_user_area: &str) -> Uuid {
    Uuid::new_v5(
        &CLUSTER_NAMESPACE,
        format!("area:{}", end_user_area.trim()).as_bytes(),
    )
}

/// The id a seeded project cluster gets, in every database.
pub fn cluster_id(end_user_area: &str) -> Uuid {
    Uuid::new_v5(&CLUSTER_NAMESPACE, end_user_area.trim().as_bytes())
}

/// Loads the seed when the database holds no tenant yet; returns what it did. Idempotent: a
/// second call does nothing.
pub async fn load_if_empty(log: &EventLog) -> anyhow::Result<SeedReport> {
    // Bad seed data is found before anything is written.
    let plan = plan()?;

    // One seeder at a time across processes; the lock lives on a connection closed at the
    // end (or dropped on error), so it can never stay behind in the pool.
    let mut conn = log
        .pool()
        .acquire()
        .await
        .context("seed: connect to PostgreSQL")?;
    conn.close_on_drop();
    loop {
        let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, 0)")
            .bind(LOCK_NAMESPACE)
            .fetch_one(&mut *conn)
            .await
            .context("seed: take the seed lock")?;
        if won {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    let has_tenant: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM events WHERE aggregate_type = $1)")
            .bind(ri_domain::tenant::TENANT)
            .fetch_one(&mut *conn)
            .await
            .context("seed: look for tenants in the log")?;
    let report = if has_tenant {
        tracing::info!("the log already holds tenants; seed skipped");
        SeedReport {
            tenants: 0,
            instruments: 0,
            projects: 0,
            skipped: true,
        }
    } else {
        plan.run(log).await?
    };

    // Closing the connection releases the lock; a failed close drops it, which closes it too.
    if let Err(e) = conn.close().await {
        tracing::warn!(error = %e, "seed: closing the lock connection failed");
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// The plan: every command the seed issues, built and checked before any is run.

#[derive(Debug)]
struct Plan {
    tenants: Vec<TenantPlan>,
    instruments: Vec<InstrumentPlan>,
    projects: Vec<ProjectPlan>,
    clusters: Vec<ClusterPlan>,
    stories: Vec<StoryPlan>,
}

fn plan() -> anyhow::Result<Plan> {
    let clusters: ClustersFile =
        serde_json::from_str(CLUSTERS_JSON).context("seed/clusters.json is malformed")?;
    let instruments: Vec<InstrumentRecord> =
        serde_json::from_str(INSTRUMENTS_JSON).context("seed/instruments.json is malformed")?;
    let projects: Vec<ProjectRecord> =
        serde_json::from_str(PROJECTS_JSON).context("seed/projects.json is malformed")?;

    let mut tenants = Vec::new();
    let mut names_by_slug: HashMap<TenantSlug, &str> = HashMap::new();
    let records = clusters
        .consortium_partners
        .iter()
        .map(|r| (TenantKind::ConsortiumPartner, r))
        .chain(
            clusters
                .ambassador_clusters
                .iter()
                .map(|r| (TenantKind::AmbassadorCluster, r)),
        );
    for (kind, record) in records {
        let tenant = tenant_plan(kind, record)
            .with_context(|| format!("seed/clusters.json: tenant {:?}", record.name))?;
        if let Some(other) = names_by_slug.insert(tenant.slug.clone(), &record.name) {
            bail!(
                "seed/clusters.json: tenants {other:?} and {:?} both get the slug {:?}",
                record.name,
                tenant.slug.as_str()
            );
        }
        tenants.push(tenant);
    }

    let partners: Vec<&TenantPlan> = tenants
        .iter()
        .filter(|t| t.profile.kind == TenantKind::ConsortiumPartner)
        .collect();
    let coordinator = partners
        .iter()
        .find(|t| t.profile.name.as_str() == COORDINATOR)
        .map(|t| t.slug.clone())
        .ok_or_else(|| {
            anyhow!("seed/clusters.json: the coordinator {COORDINATOR:?} is not a partner")
        })?;

    let mut planned = Vec::new();
    let mut ids: HashMap<Uuid, &str> = HashMap::new();
    for record in &instruments {
        let instrument = instrument_plan(record, &partners, &coordinator)
            .with_context(|| format!("seed/instruments.json: instrument {:?}", record.name))?;
        if let Some(other) = ids.insert(instrument.id, &record.name) {
            bail!(
                "seed/instruments.json: instruments {other:?} and {:?} have the same name",
                record.name
            );
        }
        planned.push(instrument);
    }

    let mut planned_projects = Vec::new();
    let mut project_ids: HashMap<Uuid, &str> = HashMap::new();
    for record in &projects {
        let project = project_plan(record, &partners, &coordinator)
            .with_context(|| format!("seed/projects.json: project {:?}", record.acronym))?;
        if let Some(other) = project_ids.insert(project.id, &record.acronym) {
            bail!(
                "seed/projects.json: projects {other:?} and {:?} have the same acronym",
                record.acronym
            );
        }
        planned_projects.push(project);
    }
    let project_clusters: ProjectClustersFile = serde_json::from_str(PROJECT_CLUSTERS_JSON)
        .context("seed/project_clusters.json is malformed")?;
    let clustering = partners
        .iter()
        .find(|t| t.profile.name.as_str() == CLUSTERING_PARTNER)
        .map(|t| t.slug.clone())
        .ok_or_else(|| {
            anyhow!(
                "seed/clusters.json: the clustering partner {CLUSTERING_PARTNER:?} is not a partner"
            )
        })?;
    let clusters = project_clusters
        .clusters
        .iter()
        .map(|record| {
            cluster_plan(record, &planned_projects, &clustering).with_context(|| {
                format!(
                    "seed/project_clusters.json: cluster {:?}",
                    record.end_user_area
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let stories: StoriesFile = serde_json::from_str(SUCCESS_STORIES_JSON)
        .context("seed/success_stories.json is malformed")?;
    let stories =
        story_plans(&stories, &planned_projects, &planned).context("seed/success_stories.json")?;
    Ok(Plan {
        tenants,
        instruments: planned,
        projects: planned_projects,
        clusters,
        stories,
    })
}

// ---------------------------------------------------------------------------------------------
// Running the plan.

impl Plan {
    async fn run(self, log: &EventLog) -> anyhow::Result<SeedReport> {
        let app = App::new(log.clone());
        let run = Run::new();
        for tenant in &self.tenants {
            app.execute::<Tenant>(
                &run.as_role(&tenant.slug, Role::PlatformAdmin),
                &policy::ADMINISTER_TENANTS,
                &tenant.slug,
                tenant.slug.as_str(),
                TenantCommand::Register {
                    slug: tenant.slug.clone(),
                    profile: tenant.profile.clone(),
                },
                || (),
                None,
            )
            .await
            .map_err(failed)
            .with_context(|| format!("seed: register the tenant {}", tenant.slug))?;
        }

        let (mut open, mut closed, mut drafts) = (0, 0, 0);
        for instrument in &self.instruments {
            let title = instrument.details.title.as_str();
            let mut commands = vec![InstrumentCommand::Draft {
                tenant: instrument.owner.clone(),
                details: instrument.details.clone(),
            }];
            if !instrument.features.is_empty() {
                commands.push(InstrumentCommand::TagFeatures {
                    features: instrument.features,
                });
            }
            match &instrument.end {
                End::Published => {
                    open += 1;
                    commands.push(InstrumentCommand::Publish);
                }
                End::Closed { deadline } => {
                    closed += 1;
                    if let Some(deadline) = deadline {
                        let schedule = Schedule::new(None, Some(*deadline), Some(DEADLINE_ZONE))?;
                        commands.push(InstrumentCommand::SetSchedule { schedule });
                    }
                    commands.push(InstrumentCommand::Close);
                }
                End::Draft { why } => {
                    // Left for a curator of the owner to complete and publish.
                    drafts += 1;
                    tracing::info!(instrument = title, owner = %instrument.owner, why, "seeded instrument stays a draft");
                }
            }
            let id = instrument.id.to_string();
            let curator = run.as_role(&instrument.owner, Role::Curator);
            for command in commands {
                app.execute::<FundingInstrument>(
                    &curator,
                    &policy::CURATE_INSTRUMENTS,
                    &instrument.owner,
                    &id,
                    command,
                    InstrumentServices::default,
                    None,
                )
                .await
                .map_err(failed)
                .with_context(|| format!("seed: instrument {title:?} ({id})"))?;
            }
        }

        for project in &self.projects {
            let acronym = project.details.acronym.as_str();
            let mut commands = vec![ProjectCommand::Register {
                tenant: project.owner.clone(),
                details: project.details.clone(),
            }];
            if !project.features.is_empty() {
                commands.push(ProjectCommand::DeclareFeatures {
                    features: project.features,
                });
            }
            if let Some(applications) = &project.applications {
                commands.push(ProjectCommand::NoteApplicationsBeyondSecurity {
                    applications: applications.clone(),
                });
            }
            let id = project.id.to_string();
            let manager = run.as_role(&project.owner, Role::FollowUpManager);
            for command in commands {
                app.execute::<Project>(
                    &manager,
                    &policy::CHANGE_PROJECTS,
                    &project.owner,
                    &id,
                    command,
                    || (),
                    None,
                )
                .await
                .map_err(failed)
                .with_context(|| format!("seed: project {acronym:?} ({id})"))?;
            }
        }

        // After every project: a story may name any of them.
        for story in &self.stories {
            story.run(&app, &run).await?;
        }
        let mut shared = BTreeSet::new();
        for cluster in &self.clusters {
            cluster.share(&app, &run, &mut shared).await?;
            cluster.run(&app, &run).await?;
        }

        tracing::info!(
            tenants = self.tenants.len(),
            instruments = self.instruments.len(),
            open,
            closed,
            drafts,
            projects = self.projects.len(),
            clusters = self.clusters.len(),
            success_stories = self.stories.len(),
            "seed loaded"
        );
        Ok(SeedReport {
            tenants: self.tenants.len(),
            instruments: self.instruments.len(),
            projects: self.projects.len(),
            skipped: false,
        })
    }
}

/// One load is one conversation: every command shares its correlation id and trace, and gets
/// a command id of its own (the application layer gives each command one).
#[derive(Debug)]
struct Run {
    correlation_id: Uuid,
    traceparent: TraceParent,
}

impl Run {
    fn new() -> Self {
        Self {
            correlation_id: Uuid::now_v7(),
            traceparent: TraceParent::detached(),
        }
    }

    /// The platform acting for `tenant` in `role`, in this load's conversation.
    fn as_role(&self, tenant: &TenantSlug, role: Role) -> Caller {
        let mut caller =
            Caller::system(tenant.clone(), vec![role]).with_traceparent(self.traceparent.clone());
        caller.correlation_id = self.correlation_id;
        caller.causation_id = self.correlation_id;
        caller
    }
}

/// A command's failure as the command line (the seed, `token --role`) reports it.
pub(crate) fn failed<E: std::fmt::Debug>(failure: Failure<E>) -> anyhow::Error {
    match failure {
        Failure::Refused(e) => anyhow::anyhow!("refused: {e:?}"),
        Failure::OtherTenant => anyhow::anyhow!("the aggregate belongs to another tenant"),
        Failure::Error(e) => anyhow::anyhow!("{}: {}", e.code.as_str(), e.message),
    }
}

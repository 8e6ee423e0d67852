//! # Project clusters
//!
//! `seed/project_clusters.json` is `data/project_clusters.json`: the two clusters of the
//! deliverable's section 3.3 (Public Space Protection with seven Open Call 2 projects; Critical
//! Infrastructure Protection with four) and the end users interested in each.
//!
//! - Owner: L3CE, the partner that ran the clustering in SecurIT (it wrote D2.5 and led its
//!   task T2.3). The projects (found by acronym, ignoring case, among the seeded projects; an
//!   unknown acronym is an error) stay their own tenants': every one of the eleven is SAFE's by
//!   the projects' rule above, so SAFE shares each with L3CE (`Share`, once per project) before
//!   L3CE assigns it, as section 3.3 tells it: one partner clustering the projects others
//!   follow up. L3CE's own projects (FusionSec among them) are among its suggestions.
//! - End-user area: id UUID v5 of [`CLUSTER_NAMESPACE`](super::CLUSTER_NAMESPACE) and
//!   `area:<end_user_area>` ([`area_id`]); name the words in the brackets (`Public event security`,
//!   `CI operators: water, DSOs`), first letter upper-cased; domain from the words before them:
//!   Public Space Protection as `PUBLIC_SPACE_PROTECTION`, Critical Infrastructure Protection as
//!   `SENSITIVE_INFRASTRUCTURE_PROTECTION` (the deliverable's domain for CI operators), anything
//!   else as the tenant's own domain of that name; description: the interested end users.
//! - Cluster: id UUID v5 of [`CLUSTER_NAMESPACE`](super::CLUSTER_NAMESPACE) and `<end_user_area>`
//!   ([`cluster_id`]); name the whole `end_user_area`; its projects assigned in the data's order;
//!   each interested end user engaged as an `END_USER_ORGANISATION` stakeholder (id UUID v5 of the
//!   cluster's id and the name). No follow-up manager, demo event or feedback: the data names none.
//! - Commands as `SYSTEM_ACTOR` with the `follow_up_manager` role of the tenant acting: a
//!   project's tenant `Share`s it with the clustering partner; the partner `Name`s the area,
//!   then `Form`s, `AssignProject`s each project and `EngageStakeholder`s each end user.

use std::collections::BTreeSet;

use anyhow::{Context, anyhow, bail};
use ri_app::{App, policy};
use ri_domain::cluster::{
    AggregateRef, AreaCommand, AreaDomain, ClusterCommand, ClusterServices, EndUserArea,
    ProjectCluster, ProjectRef, Stakeholder, StakeholderKind,
};
use ri_domain::project::{Project, ProjectCommand};
use ri_domain::values::{FieldError, ShortText, Summary, Title};
use ri_domain::{Role, TenantSlug};
use serde::Deserialize;
use uuid::Uuid;

use super::projects::ProjectPlan;
use super::{Run, area_id, cluster_id, failed};

#[derive(Debug, Deserialize)]
pub(super) struct ProjectClustersFile {
    pub(super) clusters: Vec<ProjectClusterRecord>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ProjectClusterRecord {
    pub(super) end_user_area: String,
    pub(super) projects: Vec<String>,
    #[serde(default)]
    pub(super) interested_end_users: Vec<String>,
}

#[derive(Debug)]
pub(super) struct ClusterPlan {
    pub(super) owner: TenantSlug,
    pub(super) area_id: Uuid,
    pub(super) area_name: Title,
    pub(super) domain: AreaDomain,
    pub(super) area_description: Summary,
    pub(super) id: Uuid,
    pub(super) name: Title,
    pub(super) projects: Vec<ProjectRef>,
    pub(super) stakeholders: Vec<Stakeholder>,
}

/// "Public Space Protection (public event security)": the domain and the area's name.
pub(super) fn area_parts(end_user_area: &str) -> anyhow::Result<(AreaDomain, Title)> {
    let text = end_user_area.trim();
    let (domain, rest) = text
        .split_once(" (")
        .ok_or_else(|| anyhow!("{text:?} is not \"<domain> (<area>)\""))?;
    let area = rest
        .strip_suffix(')')
        .ok_or_else(|| anyhow!("{text:?} does not end with \")\""))?;
    let mut chars = area.trim().chars();
    let area = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect::<String>())
        .unwrap_or_default();
    let domain = match domain.trim() {
        "Public Space Protection" => AreaDomain::PublicSpaceProtection,
        "Critical Infrastructure Protection" | "Sensitive Infrastructure Protection" => {
            AreaDomain::SensitiveInfrastructureProtection
        }
        "Disaster Resilience" => AreaDomain::DisasterResilience,
        own => AreaDomain::Own(Title::parse("ownDomain", own)?),
    };
    Ok((domain, Title::parse("name", &area)?))
}

pub(super) fn cluster_plan(
    record: &ProjectClusterRecord,
    projects: &[ProjectPlan],
    owner: &TenantSlug,
) -> anyhow::Result<ClusterPlan> {
    let (domain, area_name) = area_parts(&record.end_user_area)?;
    let members = record
        .projects
        .iter()
        .map(|acronym| {
            projects
                .iter()
                .find(|p| {
                    p.details
                        .acronym
                        .as_str()
                        .eq_ignore_ascii_case(acronym.trim())
                })
                .ok_or_else(|| anyhow!("project {acronym:?} is not among the seeded projects"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if members.is_empty() {
        bail!("a cluster needs projects");
    }
    let owner = owner.clone();
    let id = cluster_id(&record.end_user_area);
    let stakeholders = record
        .interested_end_users
        .iter()
        .map(|name| {
            Ok(Stakeholder {
                id: Uuid::new_v5(&id, name.trim().as_bytes()),
                kind: StakeholderKind::EndUserOrganisation,
                name: Title::parse("name", name)?,
                note: ShortText::parse(
                    "note",
                    "Interested in the demonstrations (SecurIT D2.5, section 3.3)",
                )?,
            })
        })
        .collect::<Result<Vec<_>, FieldError>>()?;
    let interested = record
        .interested_end_users
        .iter()
        .map(|n| n.trim())
        .collect::<Vec<_>>()
        .join("; ");
    Ok(ClusterPlan {
        area_id: area_id(&record.end_user_area),
        area_name,
        domain,
        area_description: Summary::parse(
            "description",
            &format!("Interested end users: {interested}"),
        )?,
        id,
        name: Title::parse("name", &record.end_user_area)?,
        projects: members
            .iter()
            .map(|p| {
                Ok(ProjectRef {
                    id: AggregateRef::parse("projectId", &p.id.to_string())?,
                    tenant: p.owner.clone(),
                    acronym: p.details.acronym.clone(),
                    shared: p.owner != owner,
                })
            })
            .collect::<Result<Vec<_>, FieldError>>()?,
        stakeholders,
        owner,
    })
}

impl ClusterPlan {
    /// Shares each of its projects of another tenant with the cluster's owner, unless `shared`
    /// says an earlier cluster did; adds those it shares to `shared`.
    pub(super) async fn share(
        &self,
        app: &App,
        run: &Run,
        shared: &mut BTreeSet<String>,
    ) -> anyhow::Result<()> {
        for project in self.projects.iter().filter(|p| p.shared) {
            if !shared.insert(project.id.to_string()) {
                continue;
            }
            app.execute::<Project>(
                &run.as_role(&project.tenant, Role::FollowUpManager),
                &policy::CHANGE_PROJECTS,
                &project.tenant,
                project.id.as_str(),
                ProjectCommand::Share {
                    with: self.owner.clone(),
                },
                || (),
                None,
            )
            .await
            .map_err(failed)
            .with_context(|| {
                format!(
                    "seed: share {:?} with {}",
                    project.acronym.as_str(),
                    self.owner
                )
            })?;
        }
        Ok(())
    }

    pub(super) async fn run(&self, app: &App, run: &Run) -> anyhow::Result<()> {
        let manager = run.as_role(&self.owner, Role::FollowUpManager);
        let area = self.area_id.to_string();
        app.execute::<EndUserArea>(
            &manager,
            &policy::RUN_CLUSTERS,
            &self.owner,
            &area,
            AreaCommand::Name {
                tenant: self.owner.clone(),
                name: self.area_name.clone(),
                domain: self.domain.clone(),
                description: self.area_description.clone(),
            },
            || (),
            None,
        )
        .await
        .map_err(failed)
        .with_context(|| format!("seed: end-user area {:?} ({area})", self.area_name.as_str()))?;
        let mut commands = vec![ClusterCommand::Form {
            tenant: self.owner.clone(),
            area_id: AggregateRef::parse("areaId", &area)?,
            name: self.name.clone(),
            description: Summary::parse(
                "description",
                "Clustered in the SecurIT project (D2.5, section 3.3).",
            )?,
        }];
        commands.extend(
            self.projects
                .iter()
                .map(|project| ClusterCommand::AssignProject {
                    project: project.clone(),
                }),
        );
        commands.extend(self.stakeholders.iter().map(|stakeholder| {
            ClusterCommand::EngageStakeholder {
                stakeholder: stakeholder.clone(),
            }
        }));
        let id = self.id.to_string();
        for command in commands {
            app.execute::<ProjectCluster>(
                &manager,
                &policy::RUN_CLUSTERS,
                &self.owner,
                &id,
                command,
                ClusterServices::default,
                None,
            )
            .await
            .map_err(failed)
            .with_context(|| format!("seed: cluster {:?} ({id})", self.name.as_str()))?;
        }
        Ok(())
    }
}

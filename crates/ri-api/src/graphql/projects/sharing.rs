//! Sharing a project with another tenant (issue 16): the owner's follow-up managers share and
//! withdraw; the other tenant then reads the project, assigns it to its clusters and finds it
//! among their suggestions, and both read the practitioners' feedback on it. Without a share
//! nothing of a project crosses tenants (row-level security in `ri_projections::projects`).

use super::*;
use crate::graphql::clusters::PractitionerSector;

/// A tenant a project is shared with.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ProjectShare {
    /// The tenant's slug.
    pub tenant: String,
    pub shared_at: OffsetDateTime,
}

/// One practitioner's feedback on a project at a demo event of some tenant's cluster.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ProjectFeedback {
    /// The tenant whose cluster collected it.
    pub collected_by: String,
    /// The cluster, when it is your tenant's (another tenant's clusters are theirs).
    pub cluster_id: Option<ID>,
    pub organisation: String,
    pub country: String,
    pub sector: PractitionerSector,
    /// 1 to 5.
    pub relevance: i32,
    /// 1 to 5.
    pub usability: i32,
    pub would_pilot: bool,
    pub relevant_features: Vec<Feature>,
    pub comment: String,
    pub submitted_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// The tenant `raw` names, as a share names it: registered, and not the caller's.
pub(super) async fn share_target(api: &Api, raw: &str) -> Result<TenantSlug, ApiError> {
    let slug = TenantSlug::parse(raw).map_err(|e| ApiError::field("tenant", e.to_string()))?;
    let tenant = app(api).tenant(&slug).await?;
    if tenant.profile.is_none() {
        return Err(ApiError::field(
            "tenant",
            format!("{raw} is not a tenant of the platform"),
        ));
    }
    Ok(slug)
}

/// `project` as `user` reads it: its shares (only the project's own tenant sees them).
pub(super) async fn shares_of(
    api: &Api,
    user: &User,
    project: &ProjectRow,
) -> Result<Vec<ProjectShare>, ApiError> {
    if project.tenant != user.tenant {
        return Ok(Vec::new());
    }
    Ok(read::shares(&api.db, &user.tenant, &project.id)
        .await?
        .into_iter()
        .map(|s| ProjectShare {
            tenant: s.tenant.to_string(),
            shared_at: s.shared_at,
        })
        .collect())
}

/// The feedback on `project` that `user`'s tenant may read.
pub(super) async fn feedback_of(
    api: &Api,
    user: &User,
    project: &ProjectRow,
) -> Result<Vec<ProjectFeedback>, ApiError> {
    let rows = read::project_feedback(&api.db, &user.tenant, &project.tenant, &project.id).await?;
    Ok(rows
        .into_iter()
        .map(|f| {
            let mut features = FeatureSet::empty();
            for code in &f.feature_codes {
                if let Ok(code) = code.parse() {
                    features.insert(code);
                }
            }
            ProjectFeedback {
                cluster_id: (f.collected_by == user.tenant).then(|| ID(f.cluster_id.clone())),
                collected_by: f.collected_by.to_string(),
                organisation: f.organisation,
                country: f.country,
                sector: f.sector.into(),
                relevance: i32::from(f.relevance),
                usability: i32::from(f.usability),
                would_pilot: f.would_pilot,
                relevant_features: crate::graphql::objects::features(features),
                comment: f.comment,
                submitted_at: f.submitted_at,
                updated_at: f.updated_at,
            }
        })
        .collect())
}

//! Queries.

use super::*;

pub(super) fn matches_filter(
    project: &ProjectRow,
    filter: &ProjectFilter,
    wanted: FeatureSet,
) -> bool {
    if let Some(text) = filter.text.as_deref() {
        let haystack =
            format!("{} {} {}", project.acronym, project.title, project.summary).to_lowercase();
        if !text
            .split_whitespace()
            .all(|word| haystack.contains(&word.to_lowercase()))
        {
            return false;
        }
    }
    if !wanted.is_empty() {
        let ok = match filter.feature_match {
            FeatureMatch::Any => project.features.intersects(wanted),
            FeatureMatch::All => wanted.is_subset(project.features),
        };
        if !ok {
            return false;
        }
    }
    filter.stages.is_empty()
        || project
            .stage
            .is_some_and(|s| filter.stages.contains(&ProjectStage::from(s)))
}

pub(super) async fn projects(
    ctx: &Context<'_>,
    filter: ProjectFilter,
    first: u32,
    after: Option<String>,
) -> Result<ProjectConnection, ApiError> {
    let user = reader(principal(ctx))?;
    if filter
        .text
        .as_ref()
        .is_some_and(|t| t.chars().count() > 200)
    {
        return Err(ApiError::field("filter.text", "at most 200 characters"));
    }
    let wanted = features("filter.features", &filter.features)?;
    let api = ctx.data_unchecked::<Api>();
    let all: Vec<ProjectRow> = read::projects(&api.db, &user.tenant)
        .await?
        .into_iter()
        .filter(|p| matches_filter(p, &filter, wanted))
        .collect();
    let start = match after {
        None => 0,
        Some(cursor) => {
            all.iter()
                .position(|p| p.id == cursor)
                .ok_or_else(|| ApiError::field("after", "not a cursor of this list"))?
                + 1
        }
    };
    let total_count = i64::try_from(all.len()).unwrap_or(i64::MAX);
    let page: Vec<ProjectRow> = all
        .into_iter()
        .skip(start)
        .take(first as usize + 1)
        .collect();
    let has_next_page = page.len() > first as usize;
    let nodes: Vec<Project> = page.into_iter().take(first as usize).map(Project).collect();
    Ok(ProjectConnection {
        page_info: PageInfo {
            has_next_page,
            end_cursor: nodes.last().map(|p| p.0.id.clone()),
        },
        nodes,
        total_count,
    })
}

pub(super) async fn feature_gaps(
    ctx: &Context<'_>,
    tenant: Option<String>,
) -> Result<Vec<FeatureGap>, ApiError> {
    let user = reader(principal(ctx))?;
    let tenant = match tenant {
        None => user.tenant.clone(),
        Some(raw) => {
            let slug =
                TenantSlug::parse(&raw).map_err(|e| ApiError::field("tenant", e.to_string()))?;
            if slug != user.tenant && !user.has_role(Role::PlatformAdmin) {
                return Err(ApiError::forbidden(
                    "only your own tenant's feature gaps (or, for a platform admin, any tenant's)",
                ));
            }
            slug
        }
    };
    let api = ctx.data_unchecked::<Api>();
    Ok(read::feature_needs(&api.db, &tenant)
        .await?
        .into_iter()
        .map(|n| FeatureGap {
            feature: Feature(n.feature),
            projects: n.projects,
            open_instruments: n.open_instruments,
        })
        .collect())
}

/// Projects, their matches and the feature gaps: queries.
#[derive(Debug, Default)]
pub struct ProjectQuery;

#[Object]
impl ProjectQuery {
    /// Your tenant's projects, by acronym; `after` is the previous page's `endCursor`.
    async fn projects(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProjectFilter>,
        #[graphql(desc = "Default 50, at most 100.")] first: Option<i32>,
        after: Option<String>,
        #[graphql(
            desc = "A mutation's `logPosition`: the page answers once it reflects that mutation, or UNAVAILABLE after a few seconds."
        )]
        consistent_with: Option<String>,
    ) -> async_graphql::Result<ProjectConnection> {
        let first = crate::graphql::query::first(first, 50)?;
        let api = ctx.data_unchecked::<Api>();
        crate::graphql::search::reflects(api, "projects", consistent_with.as_deref()).await?;
        Ok(projects(ctx, filter.unwrap_or_default(), first, after).await?)
    }

    /// One of your tenant's projects, or one another tenant shares with yours (read only);
    /// null for an unknown id or another tenant's project that is not shared with yours.
    /// `asOf`: the project as it stood at that moment (not in the future), folded from its
    /// history (`version` and `updatedAt` are its last change before then; null before it
    /// was registered); `sharedWith`, `feedback` and `matches` are still today's.
    /// `consistentWith`: a mutation's `logPosition`; the answer reflects that mutation (a
    /// project just registered), or is UNAVAILABLE after a few seconds.
    async fn project(
        &self,
        ctx: &Context<'_>,
        id: ID,
        consistent_with: Option<String>,
        as_of: Option<OffsetDateTime>,
    ) -> async_graphql::Result<Option<Project>> {
        let user = reader(principal(ctx))?;
        let api = ctx.data_unchecked::<Api>();
        crate::graphql::search::reflects(api, "projects", consistent_with.as_deref()).await?;
        let Ok(id) = project_id(id.as_str()) else {
            return Ok(None);
        };
        if let Some(at) = as_of {
            let at = crate::graphql::query::past(api, at)?;
            let row = read::project_as_of(&api.db, &api.log, &user.tenant, &id, at)
                .await
                .map_err(ApiError::from)?;
            return Ok(row.map(Project));
        }
        let row = match read::project(&api.db, &user.tenant, &id)
            .await
            .map_err(ApiError::from)?
        {
            Some(row) => Some(row),
            None => read::shared_projects(&api.db, &user.tenant, Some(&[id]))
                .await
                .map_err(ApiError::from)?
                .into_iter()
                .next(),
        };
        Ok(row.map(Project))
    }

    /// The projects other tenants share with yours, by acronym: yours to assign to your
    /// clusters, read only.
    async fn shared_projects(
        &self,
        ctx: &Context<'_>,
        #[graphql(
            desc = "A mutation's `logPosition`: the list answers once it reflects that mutation, or UNAVAILABLE after a few seconds."
        )]
        consistent_with: Option<String>,
    ) -> async_graphql::Result<Vec<Project>> {
        let user = reader(principal(ctx))?;
        let api = ctx.data_unchecked::<Api>();
        crate::graphql::search::reflects(api, "projects", consistent_with.as_deref()).await?;
        let rows = read::shared_projects(&api.db, &user.tenant, None)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(Project).collect())
    }

    /// The features your tenant's projects declare, in taxonomy order, each with how many of
    /// them need it and how many instruments open now fund it: what curators should look
    /// for. `tenant` (default: yours) may name another tenant for platform admins only.
    async fn feature_gaps(
        &self,
        ctx: &Context<'_>,
        tenant: Option<String>,
    ) -> async_graphql::Result<Vec<FeatureGap>> {
        Ok(feature_gaps(ctx, tenant).await?)
    }

    /// Your tenant's projects (rows) by instruments (columns), each cell the score or the rule
    /// that excludes the pair. Default rows: all your projects, by acronym; default columns:
    /// every instrument open now, soonest deadline first (at most 200). Ids in the order given;
    /// an unknown one is NOT_FOUND. Also a CSV download: `/exports/match-matrix.csv`.
    async fn match_matrix(
        &self,
        ctx: &Context<'_>,
        project_ids: Option<Vec<ID>>,
        instrument_ids: Option<Vec<ID>>,
    ) -> async_graphql::Result<MatchMatrix> {
        let user = reader(principal(ctx))?;
        let api = ctx.data_unchecked::<Api>();
        let ids = |ids: Option<Vec<ID>>| ids.map(|v| v.into_iter().map(|i| i.0).collect());
        let project_ids: Option<Vec<String>> = ids(project_ids);
        let instrument_ids: Option<Vec<String>> = ids(instrument_ids);
        let matrix =
            match_matrix(api, user, project_ids.as_deref(), instrument_ids.as_deref()).await?;
        Ok(matrix.into())
    }
}

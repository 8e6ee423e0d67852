//! Queries, and the cluster's events as they happen (subscription).

use super::*;

/// The cluster `cluster_id` of the caller's tenant's events as the relay publishes them.
pub(crate) async fn activity(
    ctx: &Context<'_>,
    cluster_id: ID,
) -> Result<impl Stream<Item = ClusterActivity> + Send + use<>, ApiError> {
    let user = signed_in(ctx)?;
    let api = ctx.data_unchecked::<Api>();
    let id = aggregate_id(&cluster_id, "cluster")?;
    if load::<ProjectCluster>(api, &user.tenant, &id)
        .await?
        .tenant
        .is_none()
    {
        return Err(ApiError::not_found("cluster"));
    }
    let subject = format!(
        "{}.{}.{}.*",
        api.event_subject_prefix,
        user.tenant.as_str(),
        CLUSTER.to_lowercase()
    );
    let events = crate::graphql::subscription::relayed_events(api, subject).await?;
    Ok(events.filter_map(move |received| {
        let event = received.event;
        let mine = event.aggregate_id == id;
        std::future::ready(mine.then(|| {
            let _entered = received.span.enter();
            ClusterActivity {
                event_type: ClusterEvent::TYPES
                    .into_iter()
                    .find(|t| t.eq_ignore_ascii_case(&event.event))
                    .map_or_else(|| event.event.clone(), str::to_owned),
                event_id: ID(event.event_id),
                cluster_id: ID(event.aggregate_id),
                version: event.sequence,
                recorded_at: event.recorded_at,
                payload: Json(event.payload),
            }
        }))
    }))
}

/// End-user areas and project clusters: queries.
#[derive(Debug, Default)]
pub struct ClusterQuery;

#[Object]
impl ClusterQuery {
    /// Your tenant's end-user areas, by name.
    async fn areas(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EndUserArea>> {
        let user = signed_in(ctx)?;
        let api = ctx.data_unchecked::<Api>();
        let rows = read::areas(&api.db, &user.tenant)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(EndUserArea::from).collect())
    }

    /// One of your tenant's end-user areas; null for an unknown id or another tenant's.
    async fn area(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<EndUserArea>> {
        let user = signed_in(ctx)?;
        let Some(id) = uuid(&id) else {
            return Ok(None);
        };
        let api = ctx.data_unchecked::<Api>();
        let row = read::area(&api.db, &user.tenant, &id.to_string())
            .await
            .map_err(ApiError::from)?;
        Ok(row.map(EndUserArea::from))
    }

    /// Your tenant's project clusters, by name, with their counts.
    async fn clusters(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<ClusterSummary>> {
        let user = signed_in(ctx)?;
        let api = ctx.data_unchecked::<Api>();
        let rows = read::clusters(&api.db, &user.tenant, api.clock.now())
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(ClusterSummary::from).collect())
    }

    /// The dashboard of one of your tenant's clusters; null for an unknown id or another
    /// tenant's. `asOf`: the dashboard as it stood at that moment (not in the future): the
    /// cluster's own events until then, with upcoming and overdue as of then (null before it
    /// was formed); its projects' titles, features and milestones are today's.
    async fn cluster(
        &self,
        ctx: &Context<'_>,
        id: ID,
        as_of: Option<OffsetDateTime>,
    ) -> async_graphql::Result<Option<Cluster>> {
        let user = signed_in(ctx)?;
        let Some(id) = uuid(&id) else {
            return Ok(None);
        };
        let api = ctx.data_unchecked::<Api>();
        let id = id.to_string();
        let dashboard = match as_of {
            Some(at) => {
                let at = crate::graphql::query::past(api, at)?;
                read::cluster_dashboard_as_of(&api.db, &api.log, &user.tenant, &id, at).await
            }
            None => read::cluster_dashboard(&api.db, &user.tenant, &id, api.clock.now()).await,
        }
        .map_err(ApiError::from)?;
        Ok(dashboard.map(Cluster::from))
    }

    /// Your tenant's projects not in the cluster whose features resemble its projects', best
    /// first, each explained by the features it shares with them. NOT_FOUND for a cluster that
    /// is not your tenant's.
    async fn suggested_projects(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
        #[graphql(desc = "Default: 10; at most 50.")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<SuggestedProject>> {
        let user = signed_in(ctx)?;
        let id = aggregate_id(&cluster_id, "cluster")?;
        let first = crate::graphql::query::first(first, DEFAULT_SUGGESTIONS)?;
        let api = ctx.data_unchecked::<Api>();
        let suggestions = read::suggested_projects(&api.db, &user.tenant, &id, first)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("cluster"))?;
        Ok(suggestions
            .into_iter()
            .map(SuggestedProject::from)
            .collect())
    }

    /// What a practitioner's feedback link opens, for anyone holding it (no account needed):
    /// the demo event, its agenda and the feedback given so far. `token` is the link's last
    /// part (the whole link is accepted too). Null for a link that never was; every look-up
    /// counts towards the link's and the address's attempt limits (RATE_LIMITED beyond them).
    async fn invitation(
        &self,
        ctx: &Context<'_>,
        token: String,
    ) -> async_graphql::Result<Option<FeedbackInvitation>> {
        let opened = open_link(ctx, &token).await?;
        Ok(opened.map(|(access, _)| FeedbackInvitation::from(access)))
    }
}

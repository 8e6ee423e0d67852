//! Operators' reads, for platform admins only: the events projections could not apply,
//! recorded and skipped (see `docs/decisions/0004-poison-events.md`).

use async_graphql::{Context, Object, SimpleObject};
use ri_domain::Role;
use ri_projections::ProjectionError;

use super::error::ApiError;
use super::principal;

/// Page sizes beyond this are capped.
const MAX_FIRST: i32 = 500;

/// An event a projection could not apply: recorded, counted and skipped, so the projection
/// kept running for every tenant.
#[derive(SimpleObject, Debug, Clone)]
pub(crate) struct ProjectionFailure {
    /// The projection that skipped it (`catalogue`, `watches`, `clusters`, …).
    pub projection: String,
    /// The event's position in the log.
    pub position: i64,
    pub event_id: String,
    pub tenant: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub event_type: String,
    /// Why it could not be applied.
    pub error: String,
    /// When it was first recorded.
    pub recorded_at: time::OffsetDateTime,
}

impl From<ri_projections::ProjectionFailure> for ProjectionFailure {
    fn from(f: ri_projections::ProjectionFailure) -> Self {
        Self {
            projection: f.projection,
            position: f.position,
            event_id: f.event_id.to_string(),
            tenant: f.tenant,
            aggregate_type: f.aggregate_type,
            aggregate_id: f.aggregate_id,
            event_type: f.event_type,
            error: f.error,
            recorded_at: f.recorded_at,
        }
    }
}

/// Platform operators' queries.
#[derive(Debug, Default)]
pub(crate) struct AdminQuery;

#[Object]
impl AdminQuery {
    /// Events the projections could not apply and skipped, in log order; only `projection`'s
    /// when given; at most `first` (default 100, capped at 500). Platform admins only.
    async fn projection_failures(
        &self,
        ctx: &Context<'_>,
        projection: Option<String>,
        first: Option<i32>,
    ) -> Result<Vec<ProjectionFailure>, ApiError> {
        let user = principal(ctx)
            .user()
            .ok_or_else(ApiError::unauthenticated)?;
        if !user.has_role(Role::PlatformAdmin) {
            return Err(ApiError::forbidden(
                "projection failures need the platform_admin role",
            ));
        }
        let first = first.unwrap_or(100);
        if first < 0 {
            return Err(ApiError::field("first", "must not be negative"));
        }
        if let Some(name) = &projection {
            ri_projections::by_name(name)
                .map_err(|e| ApiError::field("projection", e.to_string()))?;
        }
        let api = ctx
            .data::<super::Api>()
            .map_err(|e| ApiError::internal(&e.message))?;
        let failures = ri_projections::failures(
            &api.db,
            projection.as_deref(),
            i64::from(first.min(MAX_FIRST)),
        )
        .await
        .map_err(|e| match e {
            ProjectionError::Database(e) => ApiError::from(e),
            other => ApiError::internal(&other),
        })?;
        Ok(failures.into_iter().map(Into::into).collect())
    }
}

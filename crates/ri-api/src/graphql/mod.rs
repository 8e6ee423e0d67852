//! The GraphQL API: schema, limits, and the request context. Queries and mutations over HTTP,
//! subscriptions over WebSocket (`graphql-transport-ws`), all on `/graphql`.

mod admin;
mod cause;
mod client_ip;
mod clusters;
pub(crate) mod command;
pub mod cost;
mod enums;
pub mod error;
mod gateway;
mod http;
mod inputs;
mod mutation;
mod objects;
pub mod projects;
mod query;
mod search;
mod search_page;
mod socket;
mod subscription;
pub mod watches;

use std::sync::Arc;

use async_graphql::{Context, Schema};
use ri_domain::instrument::Clock;
use ri_eventstore::EventLog;
use sqlx::PgPool;

pub use client_ip::{Cidr, TrustedProxies};
pub use clusters::{ClusterMutation, ClusterQuery};
pub use gateway::Gateway;
pub use http::{DEFAULT_MAX_BATCH, DEFAULT_REQUEST_TIMEOUT, GraphqlConfig, routes};
pub use mutation::CoreMutation;
pub use projects::{ProjectMutation, ProjectQuery};
pub use query::CoreQuery;
pub use subscription::SubscriptionRoot;
pub use watches::{WatchMutation, WatchQuery};

use crate::auth::Principal;

/// Every query field: each area of the API keeps its own object.
#[derive(async_graphql::MergedObject, Debug, Default)]
pub struct QueryRoot(
    CoreQuery,
    search::SearchQuery,
    WatchQuery,
    ClusterQuery,
    ProjectQuery,
    admin::AdminQuery,
);

/// Every mutation: each area of the API keeps its own object.
#[derive(async_graphql::MergedObject, Debug, Default)]
pub struct MutationRoot(
    CoreMutation,
    WatchMutation,
    ClusterMutation,
    ProjectMutation,
);

pub type ApiSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// What every resolver may use.
#[derive(Clone, Debug)]
pub struct Api {
    pub db: PgPool,
    pub log: EventLog,
    pub clock: Arc<dyn Clock>,
    /// What subscriptions are fed from; without it (or while it is disconnected) subscribing
    /// answers UNAVAILABLE.
    pub nats: Option<async_nats::Client>,
    /// The relay's subject prefix: events are on `<prefix>.<tenant>.<aggregate>.<event>`.
    pub event_subject_prefix: String,
    /// The notification relay's prefix: notifications are on `<prefix>.<tenant>.<kind>`.
    pub notification_subject_prefix: String,
    /// The weights project–instrument matches are scored with (`matching_weights` in the
    /// configuration; `Weights::default()` unless configured).
    pub matching_weights: Arc<ri_matching::Weights>,
    /// This process's in-memory public search (issue 12); `None`: every search reads
    /// PostgreSQL.
    pub search: Option<Arc<ri_projections::SearchIndex>>,
    /// How long `consistentWith` waits for this replica to reach a mutation's log position.
    pub consistency_wait: std::time::Duration,
}

/// Nesting deeper than this is refused before execution.
pub const MAX_DEPTH: usize = 12;
/// A query whose estimated cost exceeds this is refused before execution.
pub const MAX_COMPLEXITY: usize = 2_000;

/// The schema behind its [`Gateway`]: the query cost limits of [`cost`] checked first and
/// async-graphql's depth and complexity limits as a second line. Without introspection, error messages do not
/// suggest field or argument names either ("Did you mean …").
pub fn schema(api: Api, introspection: bool) -> Gateway {
    let shape = cost::SchemaShape::from_sdl(&sdl()).unwrap_or_else(|e| {
        // Only the list weights are lost: every other limit still holds.
        tracing::error!(error = %e, "cannot read the schema's shape for query costs");
        cost::SchemaShape::default()
    });
    let builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .data(api)
    .limit_depth(MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY);
    let schema = if introspection {
        builder.finish()
    } else {
        builder
            .disable_introspection()
            .disable_suggestions()
            .finish()
    };
    Gateway::new(schema, shape)
}

/// The SDL of the schema, as committed in `graphql/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish()
    .sdl()
}

/// The caller of the current request (anonymous when none was attached).
fn principal<'a>(ctx: &'a Context<'_>) -> &'a Principal {
    static ANONYMOUS: Principal = Principal::Anonymous;
    ctx.data_opt::<Principal>().unwrap_or(&ANONYMOUS)
}

/// The caller, when a platform admin or a tenant admin of `slug`.
fn tenant_manager<'a>(
    ctx: &'a Context<'_>,
    slug: &ri_domain::TenantSlug,
) -> Result<&'a crate::auth::User, error::ApiError> {
    use ri_domain::Role;
    let user = principal(ctx)
        .user()
        .ok_or_else(error::ApiError::unauthenticated)?;
    let own_admin = user.tenant == *slug && user.has_role(Role::TenantAdmin);
    if own_admin || user.has_role(Role::PlatformAdmin) {
        Ok(user)
    } else {
        Err(error::ApiError::forbidden(
            "needs the platform_admin role or this tenant's tenant_admin",
        ))
    }
}

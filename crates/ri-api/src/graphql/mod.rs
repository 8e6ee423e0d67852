//! The GraphQL API: schema, limits, and the request context.

mod enums;
pub mod error;
mod http;
mod inputs;
mod mutation;
mod objects;
mod query;

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, Schema};
use ri_domain::instrument::Clock;
use ri_eventstore::EventLog;
use sqlx::PgPool;

pub use http::{GraphqlConfig, routes};
pub use mutation::MutationRoot;
pub use query::QueryRoot;

use crate::auth::Principal;

pub type ApiSchema = Schema<QueryRoot, MutationRoot, EmptySubscription>;

/// What every resolver may use.
#[derive(Clone, Debug)]
pub struct Api {
    pub db: PgPool,
    pub log: EventLog,
    pub clock: Arc<dyn Clock>,
}

/// Nesting deeper than this is refused before execution.
pub const MAX_DEPTH: usize = 12;
/// A query whose estimated cost exceeds this is refused before execution.
pub const MAX_COMPLEXITY: usize = 2_000;

pub fn schema(api: Api, introspection: bool) -> ApiSchema {
    let builder = Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .data(api)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY);
    if introspection {
        builder.finish()
    } else {
        builder.disable_introspection().finish()
    }
}

/// The SDL of the schema, as committed in `graphql/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, EmptySubscription)
        .finish()
        .sdl()
}

/// The caller of the current request (anonymous when none was attached).
fn principal<'a>(ctx: &'a Context<'_>) -> &'a Principal {
    static ANONYMOUS: Principal = Principal::Anonymous;
    ctx.data_opt::<Principal>().unwrap_or(&ANONYMOUS)
}

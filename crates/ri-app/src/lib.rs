//! The application layer: the one place a command runs, for any aggregate.
//!
//! [`App::execute`] authorises the [`Caller`] under the command's [`Policy`] (a role, and the
//! owning tenant's state from its own events in the log), lets the aggregate decide, appends
//! the events with the caller's metadata (actor, tenant, roles, a fresh command id per command,
//! correlation and causation, traceparent), tries again on a version conflict where the policy
//! allows it, and maps every failure to the API's closed set of codes ([`AppError`], [`Code`]):
//! availability (database, pool, network) is UNAVAILABLE, never INTERNAL.
//!
//! Callers: the GraphQL resolvers and the CSV feature-matrix import (`ri-api`) and the seed
//! (`regional-invest`). Nothing here knows about HTTP or GraphQL.

mod caller;
mod commits;
pub mod error;
pub mod policy;
mod run;

pub use caller::Caller;
pub use commits::Commits;
pub use error::{AppError, Code, RETRY_AFTER_SECONDS};
pub use run::{App, Failure, Policy, TenantRule};

//! Read models built from the event log.
//!
//! A [`Projection`] turns batches of events into rows. The [`ProjectionRunner`] follows the log
//! with a durable checkpoint written in the same transaction as the rows, so a crash at any
//! point neither loses nor doubles an update; across several processes, an advisory lock lets
//! exactly one of them run each projection. [`replay`] rebuilds a projection from the start of
//! the log into fresh tables and swaps their contents in. An event a projection cannot apply is
//! recorded in `projection_failures` and skipped, live and in replay alike ([`failures`]).
//!
//! Projections: [`streams`] (the operators' view of the log) and, in [`catalogue`], the instrument
//! catalogue, the tenant directory and the audit trail with the read API the GraphQL layer calls.

pub mod catalogue;
pub mod clusters;
mod error;
mod failures;
mod instants;
mod isolate;
mod projection;
pub mod projects;
mod replay;
mod runner;
pub mod search_index;
pub mod streams;
pub mod watches;

pub use catalogue::{Audit, Catalogue, Tenants};
pub use clusters::Clusters;
pub use error::ProjectionError;
pub use failures::{ProjectionFailure, failures};
pub use projection::{Projection, all, all_with, by_name, by_name_with};
pub use projects::Projects;
pub use replay::{ReplayReport, replay};
pub use runner::{ProjectionRunner, RunnerConfig};
pub use search_index::{SearchIndex, SearchIndexConfig};
pub use watches::Watches;

//! Read models built from the event log.
//!
//! A [`Projection`] turns batches of events into rows. The [`ProjectionRunner`] follows the log
//! with a durable checkpoint written in the same transaction as the rows, so a crash at any
//! point neither loses nor doubles an update; across several processes, an advisory lock lets
//! exactly one of them run each projection. [`replay`] rebuilds a projection from the start of
//! the log into fresh tables and swaps their contents in.

mod error;
mod projection;
mod replay;
mod runner;
pub mod streams;

pub use error::ProjectionError;
pub use projection::{Projection, all, by_name};
pub use replay::{ReplayReport, replay};
pub use runner::{ProjectionRunner, RunnerConfig};

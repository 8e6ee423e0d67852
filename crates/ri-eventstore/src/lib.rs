//! The event log on PostgreSQL.
//!
//! - [`EventLog`] is the shared handle: pool, event registry, snapshot interval. Commands run
//!   through cqrs-es with [`TenantRepository`], our `PersistedEventRepository`, scoped to the
//!   tenant that owns the aggregate.
//! - [`LogReader`] follows the whole log in commit-safe order for projections and the relay;
//!   [`follow`] runs such a reader in one process at a time.
//! - [`db`] opens pools with the service's timeouts and applies migrations.

pub mod db;
mod error;
mod follow;
mod log;
mod reader;
mod repository;

pub use error::StoreError;
pub use follow::{FollowConfig, Follower, backoff, follow};
pub use log::{EventLog, Executed, LogConfig};
pub use reader::{Checkpoint, LogReader, StoredEvent};
pub use repository::{TenantRepository, Versions};

//! The JetStream relay: a tailing reader of the event log, with the projections' guarantees,
//! that publishes every event to NATS JetStream.
//!
//! - Each event goes to `ri.evt.<tenant>.<aggregate>.<event>` (lower-case) with `Nats-Msg-Id` =
//!   the event id, CloudEvents 1.0 binary-mode `ce-*` headers, `traceparent`, and the JSON
//!   payload as body ([`message`]).
//! - [`Relay::step`] publishes a whole batch, waits for every acknowledgement, and only then
//!   moves its checkpoint by compare-and-set, in a statement of its own: no database transaction
//!   is ever open while it talks to NATS. A crash between the acks and the checkpoint re-publishes
//!   the batch, and JetStream drops the copies by message id (duplicate window: 48 h).
//! - [`Relay::run`] holds an advisory lock on a connection of its own, so one relay runs across
//!   processes, and another takes over when its process dies.
//! - [`NotificationRelay`] publishes the users' notifications on `ri.ntf.<tenant>.<kind>`.
//! - `ri` in the stream names and subjects is the [`Deployment`] name (the default): two
//!   deployments sharing a NATS server each have their own streams and subjects.

mod deployment;
mod error;
pub mod message;
pub mod notifications;
mod relay;

pub use deployment::{Deployment, InvalidDeployment};
pub use error::RelayError;
pub use notifications::{NotificationRelay, NotificationRelayConfig, NotificationRelayError};
pub use relay::{
    Batch, DEFAULT_MAX_BACKOFF, LOCK_NAMESPACE, READER, Relay, RelayConfig, reconnect_delay,
};

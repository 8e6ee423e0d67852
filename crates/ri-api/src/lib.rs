//! The HTTP surface of Regional Invest.
//!
//! - `/healthz`: the process is alive (no dependencies checked).
//! - `/readyz`: PostgreSQL and NATS both answer; 503 with the failing part named otherwise.
//! - `/metrics`: Prometheus text format.

mod ops;

pub use ops::{AppState, router};

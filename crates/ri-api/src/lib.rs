//! The HTTP surface of Regional Invest.
//!
//! - `/healthz`: the process is alive (no dependencies checked).
//! - `/readyz`: the process has started (migrations, seed, read models caught up with the log
//!   as it stood at start) and PostgreSQL and NATS both answer; 503 naming what is missing.
//! - `/metrics`: Prometheus text format.
//! - `/graphql`: the GraphQL API (POST and GET), GraphiQL for browsers in development.
//! - `/watches/<id>/deadlines.ics?token=…`: a watch's deadlines as an iCalendar feed.
//! - `/exports/…` and `/imports/feature-matrix`: CSV and JSON downloads of projects, instruments
//!   and the match matrix, and the feature-matrix upload ([`exports`]).

pub mod access;
pub mod auth;
pub mod calendar;
pub mod exports;
pub mod graphql;
pub mod http_metrics;
mod ops;
mod secret;
pub mod session;
mod trace;

pub use access::Access;
pub use auth::{AuthConfig, AuthError, Authenticator, Identity, Principal, User, mint_token};
pub use ops::{AppState, Startup, router};

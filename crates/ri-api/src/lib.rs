//! The HTTP surface of Regional Invest.
//!
//! - `/healthz`: the process is alive (no dependencies checked).
//! - `/readyz`: PostgreSQL and NATS both answer; 503 with the failing part named otherwise.
//! - `/metrics`: Prometheus text format.
//! - `/graphql`: the GraphQL API (POST and GET), GraphiQL for browsers in development.
//! - `/watches/<id>/deadlines.ics?token=…`: a watch's deadlines as an iCalendar feed.
//! - `/exports/…` and `/imports/feature-matrix`: CSV and JSON downloads of projects, instruments
//!   and the match matrix, and the feature-matrix upload ([`exports`]).

pub mod auth;
pub mod calendar;
pub mod exports;
pub mod graphql;
mod ops;
mod secret;
mod trace;

pub use auth::{AuthConfig, AuthError, Authenticator, Principal, User, mint_token};
pub use ops::{AppState, router};

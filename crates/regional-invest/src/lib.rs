//! The Regional Invest service: configuration, telemetry and the subcommands, as a library so
//! that tests start the real service in-process.

pub mod app;
pub mod config;
pub mod expiry;
pub mod grants;
pub mod seed;
pub mod startup;
pub mod telemetry;

pub use app::{App, StartOptions, failures, migrate, replay, seed_database};
pub use config::Config;
pub use grants::grant_roles;

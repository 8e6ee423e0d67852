//! One typed configuration: defaults that run on a developer machine, then an optional TOML
//! file (`RI_CONFIG`, default `regional-invest.toml` when present), then the environment:
//! `DATABASE_URL`, `NATS_URL` and `RI_*` (`RI_LISTEN`, `RI_DB_ROLE`, ...).

use std::net::SocketAddr;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ri_eventstore::db::DbConfig;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database_url: String,
    pub nats_url: String,
    pub listen: SocketAddr,
    /// The role service connections switch to; empty keeps the login role.
    pub db_role: String,
    pub db_max_connections: u32,
    pub statement_timeout_ms: u64,
    pub idle_in_transaction_timeout_ms: u64,
    pub snapshot_every: usize,
    pub projection_batch_size: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "postgres://postgres@127.0.0.1:5432/regional_invest".to_owned(),
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db_role: "ri_app".to_owned(),
            db_max_connections: 16,
            statement_timeout_ms: 30_000,
            idle_in_transaction_timeout_ms: 60_000,
            snapshot_every: 20,
            projection_batch_size: 1000,
        }
    }
}

impl Config {
    pub fn load() -> Result<Self, Box<figment::Error>> {
        let file = std::env::var("RI_CONFIG").unwrap_or_else(|_| "regional-invest.toml".to_owned());
        Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("RI_").ignore(&["config"]))
            .merge(Env::raw().only(&["database_url", "nats_url"]))
            .extract()
            .map_err(Box::new)
    }

    pub fn db(&self) -> DbConfig {
        DbConfig {
            url: self.database_url.clone(),
            app_role: (!self.db_role.is_empty()).then(|| self.db_role.clone()),
            statement_timeout: Duration::from_millis(self.statement_timeout_ms),
            idle_in_transaction_timeout: Duration::from_millis(self.idle_in_transaction_timeout_ms),
            max_connections: self.db_max_connections,
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's own signature
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "regional-invest.toml",
                "listen = \"0.0.0.0:9000\"\nsnapshot_every = 7",
            )?;
            jail.set_env("RI_LISTEN", "127.0.0.1:9001");
            jail.set_env("DATABASE_URL", "postgres://u@db/x");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 9001)));
            assert_eq!(config.snapshot_every, 7);
            assert_eq!(config.database_url, "postgres://u@db/x");
            assert_eq!(config.nats_url, Config::default().nats_url);
            Ok(())
        });
    }

    #[test]
    fn a_misspelt_setting_is_an_error_not_ignored() {
        Jail::expect_with(|jail| {
            jail.create_file("regional-invest.toml", "snapshot_evry = 7")?;
            assert!(Config::load().is_err());
            Ok(())
        });
    }
}

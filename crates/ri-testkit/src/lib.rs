//! Test support shared by the crates' integration tests.
//!
//! - [`TestDb`] creates a fresh, migrated database on the real PostgreSQL for each test.
//! - [`ledger`] is a small aggregate whose only purpose is to exercise the log.
//! - [`synthetic`] is the search benchmarks' catalogue of synthetic instruments and the issue-3
//!   SQL baseline.

#![allow(clippy::expect_used)]

pub mod ledger;
pub mod synthetic;

use ri_domain::{EventMetadata, EventRegistry, Role, TenantSlug};
use ri_eventstore::db::{self, DbConfig};
use ri_eventstore::{EventLog, LogConfig};
use sqlx::{AssertSqlSafe, PgPool};

/// The PostgreSQL server tests create their databases on (no database name).
pub fn server_url() -> String {
    std::env::var("RI_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

/// A fresh database, migrated, with a pool of the owner and a pool of the service role.
#[derive(Debug)]
pub struct TestDb {
    pub name: String,
    pub config: DbConfig,
    /// Connections of the tables' owner (migrations, replays, test fixtures).
    pub owner: PgPool,
    /// Connections as the service runs them: the `ri_app` role, with its timeouts.
    pub app: PgPool,
}

impl TestDb {
    pub async fn new() -> Self {
        let name = format!("ri_test_{}", uuid::Uuid::new_v4().simple());
        let config = DbConfig::new(format!("{}/{name}", server_url()));
        db::ensure_database(&config.url)
            .await
            .expect("create the test database (is PostgreSQL running?)");
        let owner = db::owner_pool(&config).await.expect("owner pool");
        db::migrate(&owner).await.expect("migrate");
        let app = db::app_pool(&config).await.expect("app pool");
        Self {
            name,
            config,
            owner,
            app,
        }
    }

    /// The event log on the service pool, knowing the ledger's events.
    pub fn log(&self, snapshot_every: usize) -> EventLog {
        self.log_with(ledger::registry(), snapshot_every)
    }

    pub fn log_with(&self, registry: EventRegistry, snapshot_every: usize) -> EventLog {
        EventLog::new(self.app.clone(), registry, LogConfig { snapshot_every })
    }

    /// Runs SQL as the owner, for fixtures the service itself could never write.
    pub async fn exec(&self, sql: &str) {
        sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
            .execute(&self.owner)
            .await
            .expect("fixture SQL");
    }
}

pub fn tenant(slug: &str) -> TenantSlug {
    TenantSlug::parse(slug).expect("test tenant slug")
}

/// Metadata of a curator of `tenant`.
pub fn metadata(tenant_slug: &str) -> EventMetadata {
    EventMetadata::new("tester", tenant(tenant_slug), vec![Role::Curator])
}

/// Reads the log from the start until at least `n` events are visible. Other tests' open
/// transactions (anywhere on the server) hold every reader back for a moment, by design, so a
/// test that just wrote must wait for its events rather than expect them at once.
pub async fn read_at_least(log: &EventLog, n: usize) -> Vec<ri_eventstore::StoredEvent> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let events = log
            .reader()
            .read_after(log.pool(), ri_eventstore::Checkpoint::START, 100_000)
            .await
            .expect("read the log");
        if events.len() >= n {
            return events;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {n} events became visible",
            events.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

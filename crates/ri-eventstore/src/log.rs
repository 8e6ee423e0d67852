use std::sync::{Arc, Mutex};

use cqrs_es::persist::PersistedEventStore;
use cqrs_es::{Aggregate, AggregateError, CqrsFramework};
use ri_domain::{EventMetadata, EventRegistry, TenantSlug};
use sqlx::PgPool;
use tokio::sync::watch;

use crate::reader::{Checkpoint, LogReader};
use crate::repository::{TenantRepository, Versions};

#[derive(Debug, Clone, Copy)]
pub struct LogConfig {
    /// A snapshot is stored at every multiple of this many events of an aggregate.
    pub snapshot_every: usize,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { snapshot_every: 20 }
    }
}

/// What a command left: the aggregate's version after it, and the checkpoint of its last event
/// (`None` when it emitted none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Executed {
    pub version: usize,
    pub committed: Option<Checkpoint>,
}

/// The shared handle on the event log. Cheap to clone.
#[derive(Clone, Debug)]
pub struct EventLog {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    registry: Arc<EventRegistry>,
    config: LogConfig,
    /// Behind a pooler in transaction mode: every statement runs in an explicit transaction.
    through_pooler: bool,
    /// Bumped after each append this process commits, so local readers wake at once
    /// instead of at their next poll. Shared by the handles of [`EventLog::on_pool`].
    appended: Arc<watch::Sender<u64>>,
}

impl EventLog {
    pub fn new(pool: PgPool, registry: EventRegistry, config: LogConfig) -> Self {
        let (appended, _) = watch::channel(0);
        Self {
            inner: Arc::new(Inner {
                pool,
                registry: Arc::new(registry),
                config: LogConfig {
                    snapshot_every: config.snapshot_every.max(1),
                },
                through_pooler: false,
                appended: Arc::new(appended),
            }),
        }
    }

    /// The same log through a connection pooler in transaction mode (request traffic, beside
    /// the direct pool of the runners and the relay): appends through either wake the readers
    /// of both. Every statement of its repositories runs in an explicit transaction: outside
    /// one, the pooler may hand the next protocol message of the same statement to another
    /// server connection (docs/operations.md#pgbouncer).
    pub fn through_pooler(&self, pool: PgPool) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                registry: self.inner.registry.clone(),
                config: self.inner.config,
                through_pooler: true,
                appended: self.inner.appended.clone(),
            }),
        }
    }

    /// Whether this handle's pool is a pooler in transaction mode.
    pub fn is_through_pooler(&self) -> bool {
        self.inner.through_pooler
    }

    pub fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub fn registry(&self) -> &EventRegistry {
        &self.inner.registry
    }

    pub(crate) fn snapshot_every(&self) -> usize {
        self.inner.config.snapshot_every
    }

    pub(crate) fn notify_appended(&self) {
        self.inner.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes when this process has appended events (other processes' appends are found by polling).
    pub fn appends(&self) -> watch::Receiver<u64> {
        self.inner.appended.subscribe()
    }

    /// The repository for aggregates owned by `tenant`.
    pub fn for_tenant(&self, tenant: TenantSlug) -> TenantRepository {
        TenantRepository::new(self.clone(), tenant)
    }

    /// Runs one command on the aggregate `aggregate_id` owned by `tenant`.
    pub async fn execute<A: Aggregate>(
        &self,
        tenant: &TenantSlug,
        aggregate_id: &str,
        command: A::Command,
        metadata: &EventMetadata,
        services: A::Services,
    ) -> Result<(), AggregateError<A::Error>> {
        self.execute_at::<A>(tenant, aggregate_id, command, metadata, services, None)
            .await
            .map(|_| ())
    }

    /// Runs one command on the aggregate `aggregate_id` owned by `tenant`, refusing it as a
    /// conflict unless the aggregate is at `expected` (when given). Returns the aggregate's
    /// version after the command and where its events went in the log.
    pub async fn execute_at<A: Aggregate>(
        &self,
        tenant: &TenantSlug,
        aggregate_id: &str,
        command: A::Command,
        metadata: &EventMetadata,
        services: A::Services,
        expected: Option<usize>,
    ) -> Result<Executed, AggregateError<A::Error>> {
        let versions = Arc::new(Mutex::new(Versions::default()));
        let repository =
            TenantRepository::expecting(self.clone(), tenant.clone(), expected, versions.clone());
        let store =
            PersistedEventStore::<_, A>::new_snapshot_store(repository, self.snapshot_every());
        CqrsFramework::new(store, vec![], services)
            .execute_with_metadata(aggregate_id, command, metadata.to_map())
            .await?;
        let v = versions.lock().map(|v| *v).unwrap_or_default();
        Ok(Executed {
            version: v.persisted.or(v.loaded).unwrap_or(0),
            committed: v.committed,
        })
    }

    /// A tailing reader over the whole log.
    pub fn reader(&self) -> LogReader {
        LogReader::new(self.clone())
    }
}

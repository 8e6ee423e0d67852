//! Runs one projection: wins its advisory lock, then follows the log batch by batch.

use std::sync::Arc;
use std::time::Duration;

use ri_eventstore::{Checkpoint, EventLog};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio_util::sync::CancellationToken;

use crate::error::ProjectionError;
use crate::projection::Projection;

/// Namespace of the projections' advisory locks (the other key is `hashtext(name)`).
pub(crate) const LOCK_NAMESPACE: i32 = 0x5249_5052; // "RIPR"

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// Events per transaction.
    pub batch_size: i64,
    /// How often to look for events appended by other processes when idle.
    pub idle_poll: Duration,
    /// How often a process without the lock tries to take it over.
    pub takeover_poll: Duration,
    /// How often the leader checks that its lock connection is alive.
    pub lock_check: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            idle_poll: Duration::from_millis(200),
            takeover_poll: Duration::from_secs(2),
            lock_check: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProjectionRunner {
    log: EventLog,
    projection: Arc<dyn Projection>,
    config: RunnerConfig,
}

impl ProjectionRunner {
    pub fn new(log: EventLog, projection: Arc<dyn Projection>, config: RunnerConfig) -> Self {
        Self {
            log,
            projection,
            config,
        }
    }

    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    /// Applies the next batch after the checkpoint, with the checkpoint, in one transaction.
    /// Returns how many events it applied (0: nothing visible, or another process moved the
    /// checkpoint first, in which case nothing was written).
    pub async fn step(&self) -> Result<usize, ProjectionError> {
        let name = self.name();
        let pool = self.log.pool();
        let from = Checkpoint::load(pool, name).await?;
        let batch = self
            .log
            .reader()
            .read_after(pool, from, self.config.batch_size)
            .await?;
        let Some(last) = batch.last() else {
            return Ok(0);
        };
        let mut tx = pool.begin().await?;
        if !last.checkpoint().advance(&mut *tx, name, from).await? {
            tx.rollback().await?;
            return Ok(0);
        }
        self.projection.apply(&mut tx, &batch).await?;
        tx.commit().await?;
        metrics::counter!("ri_projection_events_total", "projection" => name)
            .increment(batch.len() as u64);
        metrics::gauge!("ri_projection_position", "projection" => name).set(last.position as f64);
        Ok(batch.len())
    }

    /// Applies batches until no more events are visible; returns how many it applied.
    pub async fn catch_up(&self) -> Result<u64, ProjectionError> {
        Checkpoint::ensure(self.log.pool(), self.name()).await?;
        let mut total = 0;
        loop {
            match self.step().await? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    }

    /// Runs until `shutdown`: waits for this projection's advisory lock (held on a connection
    /// of its own, so it is released when this process dies), then follows the log. Errors are
    /// logged and retried: a projection that cannot apply an event stalls rather than skips it.
    pub async fn run(self, lock_options: PgConnectOptions, shutdown: CancellationToken) {
        let name = self.name();
        while !shutdown.is_cancelled() {
            let mut lock_conn = match self.take_lock(&lock_options, &shutdown).await {
                Some(conn) => conn,
                None => continue,
            };
            tracing::info!(
                projection = name,
                "projection lock taken; following the log"
            );
            metrics::gauge!("ri_projection_leader", "projection" => name).set(1.0);
            let outcome = self.lead(&mut lock_conn, &shutdown).await;
            metrics::gauge!("ri_projection_leader", "projection" => name).set(0.0);
            // Closing the connection releases the lock for another process.
            let _ = lock_conn.close().await;
            if let Err(e) = outcome {
                tracing::warn!(projection = name, error = %e, "projection lock lost; retrying");
            }
        }
    }

    async fn take_lock(
        &self,
        options: &PgConnectOptions,
        shutdown: &CancellationToken,
    ) -> Option<PgConnection> {
        let attempt = async {
            let mut conn = options.connect().await?;
            let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
                .bind(LOCK_NAMESPACE)
                .bind(self.name())
                .fetch_one(&mut conn)
                .await?;
            Ok::<_, sqlx::Error>(won.then_some(conn))
        };
        match attempt.await {
            Ok(Some(conn)) => return Some(conn),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(projection = self.name(), error = %e, "cannot reach the database")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = tokio::time::sleep(self.config.takeover_poll) => {}
        }
        None
    }

    async fn lead(
        &self,
        lock_conn: &mut PgConnection,
        shutdown: &CancellationToken,
    ) -> Result<(), ProjectionError> {
        let name = self.name();
        let mut appends = self.log.appends();
        let mut lock_check = tokio::time::interval(self.config.lock_check);
        let mut failures = 0u32;
        Checkpoint::ensure(self.log.pool(), name).await?;
        loop {
            appends.borrow_and_update();
            let applied = tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                r = self.step() => r,
            };
            match applied {
                Ok(n) if n > 0 => {
                    failures = 0;
                    continue;
                }
                Ok(_) => failures = 0,
                Err(e) => {
                    failures += 1;
                    tracing::error!(projection = name, error = %e, failures, "projection step failed");
                }
            }
            self.report_lag().await;
            let backoff = self.config.idle_poll * 2u32.pow(failures.min(5));
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                _ = appends.changed(), if failures == 0 => {}
                () = tokio::time::sleep(backoff) => {}
                _ = lock_check.tick() => {
                    sqlx::query("SELECT 1").execute(&mut *lock_conn).await?;
                }
            }
        }
    }

    async fn report_lag(&self) {
        let pool = self.log.pool();
        let reader = self.log.reader();
        if let (Ok(cp), Ok(head)) = (
            Checkpoint::load(pool, self.name()).await,
            reader.head(pool).await,
        ) {
            metrics::gauge!("ri_projection_lag_events", "projection" => self.name())
                .set((head - cp.position).max(0) as f64);
        }
    }
}

//! Runs one projection: wins its advisory lock, then follows the log batch by batch.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ri_eventstore::{Checkpoint, EventLog, FollowConfig, Follower, StoredEvent, follow};
use sqlx::postgres::PgConnectOptions;
use tokio_util::sync::CancellationToken;

use crate::error::ProjectionError;
use crate::projection::Projection;
use crate::{failures, isolate};

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

/// A batch read ahead, with the checkpoint it was read after.
type Ahead = (Checkpoint, Vec<StoredEvent>);

#[derive(Debug, Clone)]
pub struct ProjectionRunner {
    log: EventLog,
    projection: Arc<dyn Projection>,
    config: RunnerConfig,
    /// The batch after the last one applied, read while that one was applied (on another
    /// connection), with the checkpoint it was read after.
    ahead: Arc<Mutex<Option<Ahead>>>,
}

impl ProjectionRunner {
    pub fn new(log: EventLog, projection: Arc<dyn Projection>, config: RunnerConfig) -> Self {
        Self {
            log,
            projection,
            config,
            ahead: Arc::default(),
        }
    }

    pub fn name(&self) -> &'static str {
        self.projection.name()
    }

    /// Applies the next batch after the checkpoint, with the checkpoint, in one transaction.
    /// Returns how many events it took (0: nothing visible, or another process moved the
    /// checkpoint first, in which case nothing was written). An event the projection cannot
    /// apply is recorded in `projection_failures` and skipped; a failure of the environment
    /// (connection, pool, lock time-out) is returned and the batch is retried.
    pub async fn step(&self) -> Result<usize, ProjectionError> {
        let name = self.name();
        let pool = self.log.pool();
        let reader = self.log.reader();
        let from = Checkpoint::load(pool, name).await?;
        // Read ahead while the last batch was applied: still valid if the checkpoint is where
        // that batch left it (a batch read earlier is a gap-free prefix of one read now).
        let ahead = self.ahead.lock().ok().and_then(|mut a| a.take());
        let batch = match ahead {
            Some((after, batch)) if after == from => batch,
            _ => {
                reader
                    .read_after(pool, from, self.config.batch_size)
                    .await?
            }
        };
        let Some(last) = batch.last() else {
            return Ok(0);
        };
        let to = last.checkpoint();
        let apply = async {
            let mut tx = pool.begin().await?;
            if !to.advance(&mut *tx, name, from).await? {
                tx.rollback().await?;
                return Ok(None);
            }
            let skipped =
                isolate::apply_isolating(&mut tx, self.projection.as_ref(), &batch).await?;
            tx.commit().await?;
            Ok::<_, ProjectionError>(Some(skipped))
        };
        // The next batch is read meanwhile, on another connection of the pool.
        let (applied, next) =
            tokio::join!(apply, reader.read_after(pool, to, self.config.batch_size));
        let Some(skipped) = applied? else {
            return Ok(0);
        };
        if let (Ok(next), Ok(mut ahead)) = (next, self.ahead.lock())
            && !next.is_empty()
        {
            *ahead = Some((to, next));
        }
        failures::count(name, skipped);
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
    /// of its own, so it is released when this process dies), then follows the log. Failures of
    /// the environment are logged and retried; an event that cannot be applied is recorded in
    /// `projection_failures` and skipped (see [`crate::failures`]).
    pub async fn run(self, lock_options: PgConnectOptions, shutdown: CancellationToken) {
        let config = FollowConfig {
            idle_poll: self.config.idle_poll,
            takeover_poll: self.config.takeover_poll,
            lock_check: self.config.lock_check,
            max_backoff: self.config.idle_poll * 32,
        };
        follow(&self, &self.log, &lock_options, &config, &shutdown).await;
    }
}

impl Follower for ProjectionRunner {
    type Error = ProjectionError;

    fn reader(&self) -> &str {
        self.name()
    }

    fn lock_namespace(&self) -> i32 {
        LOCK_NAMESPACE
    }

    async fn prepare(&self) -> Result<(), ProjectionError> {
        // Exported from the start (at 0), so an alert on its increase sees the first failure.
        failures::count(self.name(), 0);
        Ok(Checkpoint::ensure(self.log.pool(), self.name()).await?)
    }

    async fn step(&self) -> Result<usize, ProjectionError> {
        ProjectionRunner::step(self).await
    }

    fn leading(&self, leading: bool) {
        metrics::gauge!("ri_projection_leader", "projection" => self.name()).set(if leading {
            1.0
        } else {
            0.0
        });
    }

    fn lag(&self, _position: i64, behind: i64) {
        metrics::gauge!("ri_projection_lag_events", "projection" => self.name()).set(behind as f64);
    }
}

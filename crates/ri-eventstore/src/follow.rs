//! Following the log in exactly one process at a time.
//!
//! A [`Follower`] (a projection runner, the NATS relay) takes an advisory lock on a connection
//! of its own, so that the lock goes when its process dies and another process's follower
//! takes over; then it steps through the log until told to stop. Failures are logged and the
//! same step is retried after a back-off: a follower stalls rather than skips.

use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};
use tokio_util::sync::CancellationToken;

use crate::log::EventLog;
use crate::reader::Checkpoint;

/// What follows the log.
pub trait Follower: Send + Sync {
    type Error: std::fmt::Display + Send;

    /// Its checkpoint's name, also the advisory lock's key within [`Self::lock_namespace`].
    fn reader(&self) -> &str;

    fn lock_namespace(&self) -> i32;

    /// Runs once the lock is taken, before the first step; retried like a failed step.
    fn prepare(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Handles the next batch; returns how many events it handled (0: none visible, or another
    /// process moved the checkpoint first).
    fn step(&self) -> impl Future<Output = Result<usize, Self::Error>> + Send;

    /// Leadership gained (`true`) or lost, for metrics.
    fn leading(&self, leading: bool);

    /// Where the checkpoint stands and how far the log's head is beyond it, for metrics.
    fn lag(&self, position: i64, behind: i64);

    /// A step or preparation failed, for metrics.
    fn failed(&self) {}
}

#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// How often to look for events appended by other processes when idle.
    pub idle_poll: Duration,
    /// How often a process without the lock tries to take it over.
    pub takeover_poll: Duration,
    /// How often the leader checks that its lock connection is alive.
    pub lock_check: Duration,
    /// Upper bound of the back-off after failures.
    pub max_backoff: Duration,
}

/// Runs `follower` until `shutdown`: waits for its lock, then steps through the log.
pub async fn follow<F: Follower>(
    follower: &F,
    log: &EventLog,
    lock_options: &PgConnectOptions,
    config: &FollowConfig,
    shutdown: &CancellationToken,
) {
    let reader = follower.reader();
    while !shutdown.is_cancelled() {
        let Some(mut lock_conn) = take_lock(follower, lock_options, config, shutdown).await else {
            continue;
        };
        tracing::info!(reader, "lock taken; following the log");
        follower.leading(true);
        let outcome = lead(follower, log, &mut lock_conn, config, shutdown).await;
        follower.leading(false);
        // Closing the connection releases the lock for another process.
        let _ = lock_conn.close().await;
        if let Err(e) = outcome {
            tracing::warn!(reader, error = %e, "lock connection lost; retrying");
        }
    }
}

async fn take_lock<F: Follower>(
    follower: &F,
    options: &PgConnectOptions,
    config: &FollowConfig,
    shutdown: &CancellationToken,
) -> Option<PgConnection> {
    let attempt = async {
        let mut conn = options.connect().await?;
        let won: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext($2))")
            .bind(follower.lock_namespace())
            .bind(follower.reader())
            .fetch_one(&mut conn)
            .await?;
        Ok::<_, sqlx::Error>(won.then_some(conn))
    };
    match attempt.await {
        Ok(Some(conn)) => return Some(conn),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(reader = follower.reader(), error = %e, "cannot reach the database")
        }
    }
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(config.takeover_poll) => {}
    }
    None
}

/// Steps while holding the lock; returns when shut down, or with the error that shows the
/// lock connection is gone.
async fn lead<F: Follower>(
    follower: &F,
    log: &EventLog,
    lock_conn: &mut PgConnection,
    config: &FollowConfig,
    shutdown: &CancellationToken,
) -> Result<(), sqlx::Error> {
    let reader = follower.reader();
    let mut appends = log.appends();
    let mut lock_check = tokio::time::interval(config.lock_check);
    let mut failures = 0u32;
    let mut prepared = false;
    loop {
        appends.borrow_and_update();
        if shutdown.is_cancelled() {
            return Ok(());
        }
        // A step is not interrupted by shutdown: its batch is finished and its checkpoint moved,
        // so the next leader does not redo it.
        let outcome = prepare_then_step(follower, &mut prepared).await;
        let busy = match outcome {
            Ok(n) => {
                failures = 0;
                n > 0
            }
            Err(e) => {
                failures += 1;
                follower.failed();
                tracing::error!(reader, error = %e, failures, "step failed; retrying");
                false
            }
        };
        report_lag(follower, log).await;
        if busy {
            continue;
        }
        let backoff = backoff(config.idle_poll, config.max_backoff, failures);
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

/// The pause after `failures` failures in a row: `idle_poll` (none failed), doubled per failure,
/// never more than `max_backoff` (nor less than `idle_poll`). A short cap is what makes a
/// follower resume soon after its dependency returns: the pause it is in when the dependency
/// comes back is at most `max_backoff`.
pub fn backoff(idle_poll: Duration, max_backoff: Duration, failures: u32) -> Duration {
    let cap = max_backoff.max(idle_poll);
    2u32.checked_pow(failures.min(16))
        .and_then(|factor| idle_poll.checked_mul(factor))
        .map_or(cap, |pause| pause.min(cap))
}

async fn prepare_then_step<F: Follower>(
    follower: &F,
    prepared: &mut bool,
) -> Result<usize, F::Error> {
    if !*prepared {
        follower.prepare().await?;
        *prepared = true;
    }
    follower.step().await
}

async fn report_lag<F: Follower>(follower: &F, log: &EventLog) {
    let pool = log.pool();
    if let (Ok(cp), Ok(head)) = (
        Checkpoint::load(pool, follower.reader()).await,
        log.reader().head(pool).await,
    ) {
        follower.lag(cp.position, (head - cp.position).max(0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_back_off_doubles_from_the_idle_poll_up_to_its_cap() {
        let ms = Duration::from_millis;
        let pauses = (0..8)
            .map(|f| backoff(ms(50), ms(2000), f))
            .collect::<Vec<_>>();
        assert_eq!(
            pauses,
            [50, 100, 200, 400, 800, 1600, 2000, 2000].map(ms).to_vec()
        );
        // However many failures: never past the cap, never an overflow.
        assert_eq!(backoff(ms(50), ms(2000), u32::MAX), ms(2000));
        assert_eq!(backoff(Duration::MAX, Duration::MAX, 40), Duration::MAX);
        // A cap below the idle poll is the idle poll.
        assert_eq!(backoff(ms(50), ms(10), 3), ms(50));
    }
}

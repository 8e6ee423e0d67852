//! The projection runner's guarantees, against the real PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod support;

use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ri_eventstore::{Checkpoint, EventLog, LogConfig, StoredEvent, db};
use ri_projections::streams::Streams;
use ri_projections::{Projection, ProjectionError, ProjectionRunner, replay};
use ri_testkit::TestDb;
use sqlx::PgConnection;
use support::*;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_equals_live_on_thousands_of_random_events() {
    let db = TestDb::new().await;
    let log = db.log(10);
    let shutdown = CancellationToken::new();
    let live = ProjectionRunner::new(log.clone(), Arc::new(Streams), fast());
    let runner = tokio::spawn(live.run(db.config.connect_options().unwrap(), shutdown.clone()));

    random_commands(&log, 1, 1500, 4).await;
    // A replay while writers and the live runner carry on: the swap must not lose or double.
    let (_, replayed) = tokio::join!(
        random_commands(&log, 2, 1500, 4),
        replay(&log, &db.owner, &Streams, 500)
    );
    replayed.unwrap();
    let events = event_count(&db).await;
    assert!(
        events > 3000,
        "a workload of thousands of events, got {events}"
    );
    wait_until_live_is_true(&db).await;

    let live = (
        dump(&db.owner, LIVE_SUMMARIES).await,
        dump(&db.owner, LIVE_COUNTS).await,
    );
    let report = replay(&log, &db.owner, &Streams, 333).await.unwrap();
    assert_eq!(report.events as i64, event_count(&db).await);
    let replayed = (
        dump(&db.owner, LIVE_SUMMARIES).await,
        dump(&db.owner, LIVE_COUNTS).await,
    );
    assert_eq!(replayed, live);

    shutdown.cancel();
    runner.await.unwrap();
}

/// Streams, except that it hangs forever after writing its first batch, before the commit.
#[derive(Debug)]
struct HangsAfterWriting {
    written: Arc<Notify>,
}

impl Projection for HangsAfterWriting {
    fn name(&self) -> &'static str {
        Streams.name()
    }
    fn tables(&self) -> &'static [&'static str] {
        Streams.tables()
    }
    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            Streams.apply(conn, events).await?;
            self.written.notify_one();
            std::future::pending().await
        }
        .boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_runner_killed_mid_batch_and_restarted_equals_a_replay_from_zero() {
    let db = TestDb::new().await;
    let log = db.log(10);
    random_commands(&log, 3, 1000, 2).await;
    // Other tests' open transactions hold every reader back for a moment: wait until the
    // events are visible, or the doomed runner would find nothing to write and never hang.
    let written_events: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    ri_testkit::read_at_least(&log, written_events as usize).await;

    // Killed after writing rows, before committing: task and connection dropped.
    let doomed_pool = db::app_pool(&db.config).await.unwrap();
    let doomed_log = EventLog::new(
        doomed_pool.clone(),
        ri_testkit::ledger::registry(),
        LogConfig::default(),
    );
    let written = Arc::new(Notify::new());
    let hanging = ProjectionRunner::new(
        doomed_log,
        Arc::new(HangsAfterWriting {
            written: written.clone(),
        }),
        fast(),
    );
    let task = tokio::spawn(async move { hanging.catch_up().await });
    written.notified().await;
    task.abort();
    let _ = task.await;
    doomed_pool.close().await;
    // The server ends a closed connection's backend on its own time: wait for it (bounded).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let stuck: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND state LIKE 'idle in transaction%'",
        )
        .fetch_one(&db.owner)
        .await
        .unwrap();
        if stuck == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the killed runner's transaction is still open"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        Checkpoint::load(&db.owner, "streams").await.unwrap(),
        Checkpoint::START
    );
    assert_eq!(
        dump(&db.owner, LIVE_SUMMARIES).await,
        "",
        "nothing of the killed batch stayed"
    );

    // Killed at random moments while following the log.
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..12 {
        let runner = ProjectionRunner::new(log.clone(), Arc::new(Streams), fast());
        let task = tokio::spawn(runner.run(
            db.config.connect_options().unwrap(),
            CancellationToken::new(),
        ));
        tokio::time::sleep(Duration::from_millis(rng.random_range(1..40))).await;
        task.abort();
        let _ = task.await;
        // After every kill, the rows account for exactly the events up to the checkpoint.
        let (applied, upto): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT coalesce(sum(event_count), 0)::int8 FROM event_type_counts), \
                    (SELECT count(*) FROM events e, reader_checkpoints c \
                     WHERE c.reader = 'streams' AND (e.tx_id, e.position) <= (c.tx_id, c.position))",
        )
        .fetch_one(&db.owner)
        .await
        .unwrap();
        assert_eq!(applied, upto, "rows and checkpoint disagree after a kill");
    }

    // Restarted: it finishes the job, and the result is what a replay from zero gives.
    let runner = ProjectionRunner::new(log.clone(), Arc::new(Streams), fast());
    let restarted = tokio::spawn(runner.run(
        db.config.connect_options().unwrap(),
        CancellationToken::new(),
    ));
    wait_until_live_is_true(&db).await;
    restarted.abort();
    let live = (
        dump(&db.owner, LIVE_SUMMARIES).await,
        dump(&db.owner, LIVE_COUNTS).await,
    );
    replay(&log, &db.owner, &Streams, 250).await.unwrap();
    let replayed = (
        dump(&db.owner, LIVE_SUMMARIES).await,
        dump(&db.owner, LIVE_COUNTS).await,
    );
    assert_eq!(live, replayed);
}

async fn lock_holders(db: &TestDb) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_all(&db.owner)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_projection_runs_in_one_process_and_another_takes_over_when_it_dies() {
    let db = TestDb::new().await;
    let log = db.log(10);
    let options = db.config.connect_options().unwrap();
    let first = tokio::spawn(
        ProjectionRunner::new(log.clone(), Arc::new(Streams), fast())
            .run(options.clone(), CancellationToken::new()),
    );
    let leader = loop {
        if let [pid] = lock_holders(&db).await[..] {
            break pid;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // A second "process", with its own log handle and pool.
    let other_pool = db::app_pool(&db.config).await.unwrap();
    let other_log = EventLog::new(
        other_pool,
        ri_testkit::ledger::registry(),
        LogConfig::default(),
    );
    let second = tokio::spawn(
        ProjectionRunner::new(other_log, Arc::new(Streams), fast())
            .run(options, CancellationToken::new()),
    );

    random_commands(&log, 4, 300, 2).await;
    wait_until_live_is_true(&db).await;
    assert_eq!(
        lock_holders(&db).await,
        vec![leader],
        "one runner holds the projection"
    );

    first.abort();
    let _ = first.await;
    random_commands(&log, 5, 300, 2).await;
    wait_until_live_is_true(&db).await;
    let holders = lock_holders(&db).await;
    assert_eq!(holders.len(), 1);
    assert_ne!(holders[0], leader, "the second process took over");
    second.abort();
}

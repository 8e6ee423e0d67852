//! Two relays on the same database and NATS (127.0.0.1:4222, or `RI_TEST_NATS`): exactly one
//! leads, holding the advisory lock; when its task dies mid-stream (aborted, so that its lock
//! connection drops as in a crashed process) the other takes over, and every event arrives
//! exactly once, in log order per aggregate. The test uses a stream and subject prefix of its
//! own and deletes the stream at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use ri_relay::{LOCK_NAMESPACE, Relay, RelayConfig};
use ri_testkit::{TestDb, read_at_least};
use support::{
    PATIENCE, Writers, assert_exactly_once, nats, stream_len, stream_messages, wait_for_checkpoint,
    wait_for_messages,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The application names of the sessions holding the relay's advisory lock in this database.
async fn lock_holders(db: &TestDb, reader: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted \
           AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
           AND l.classid::bigint = $1 AND l.objid::bigint = (hashtext($2)::bigint & 4294967295) \
           AND l.objsubid = 2",
    )
    .bind(i64::from(LOCK_NAMESPACE))
    .bind(reader)
    .fetch_all(&db.owner)
    .await
    .unwrap()
}

/// Waits until exactly one of our relays holds the lock; returns its name.
async fn wait_for_leader(db: &TestDb, reader: &str, not: Option<&str>) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let holders = lock_holders(db, reader).await;
        assert!(holders.len() <= 1, "more than one lock holder: {holders:?}");
        if let Some(leader) = holders.first()
            && Some(leader.as_str()) != not
        {
            return leader.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no relay (other than {not:?}) took the lock within {PATIENCE:?}; holders {holders:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

struct Running {
    name: String,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

/// A relay with a NATS connection of its own, whose lock connection is named `name`.
async fn spawn_relay(db: &TestDb, config: &RelayConfig, name: &str) -> Running {
    let relay = Relay::new(db.log(20), nats().await, config.clone());
    let lock_options = db.config.connect_options().unwrap().application_name(name);
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(relay.run(lock_options, shutdown.clone()));
    Running {
        name: name.to_owned(),
        shutdown,
        task,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_takes_over_when_the_leader_dies_and_nothing_is_lost_or_doubled() {
    let db = TestDb::new().await;
    let log = db.log(20);
    let config = RelayConfig {
        batch_size: 10,
        takeover_poll: Duration::from_millis(50),
        lock_check: Duration::from_millis(100),
        max_backoff: Duration::from_millis(200),
        ..support::config()
    };
    let js = async_nats::jetstream::new(nats().await);

    // A backlog first, so that the leader dies while publishing batch after batch.
    let writers = Writers::start(&log, 4, Duration::from_millis(2));
    writers.wait_written(300).await;
    let mut relays = vec![
        spawn_relay(&db, &config, "relay-a").await,
        spawn_relay(&db, &config, "relay-b").await,
    ];
    wait_for_messages(&js, &config.stream, 30).await;

    // Exactly one leads; the other is running, waiting for the lock.
    let leader = wait_for_leader(&db, &config.reader, None).await;
    assert!(relays.iter().all(|r| !r.task.is_finished()));
    assert_eq!(
        lock_holders(&db, &config.reader).await,
        vec![leader.clone()]
    );

    // The leader dies mid-stream, while the writes go on.
    let at = relays.iter().position(|r| r.name == leader).unwrap();
    let dead = relays.remove(at);
    let published = stream_len(&js, &config.stream).await;
    dead.task.abort();
    assert!(dead.task.await.unwrap_err().is_cancelled());
    let written_at_death = writers.written();

    // The other one takes over and publishes what is written afterwards.
    let survivor = wait_for_leader(&db, &config.reader, Some(&leader)).await;
    assert_eq!(survivor, relays[0].name);
    writers.wait_written(written_at_death + 150).await;
    let total = writers.stop().await;
    eprintln!(
        "{total} events; {leader} died after {published} were published, at {written_at_death} \
         written; {survivor} took over"
    );

    let events = read_at_least(&log, total as usize).await;
    assert_eq!(events.len() as u64, total, "the log holds every write");
    wait_for_checkpoint(&log, &config.reader, events.last().unwrap().checkpoint()).await;
    let received = stream_messages(&js, &config.stream).await;
    assert_exactly_once(&received, &events, &config.subject_prefix);
    assert_eq!(lock_holders(&db, &config.reader).await, vec![survivor]);

    let survivor = relays.remove(0);
    survivor.shutdown.cancel();
    survivor.task.await.unwrap();
    js.delete_stream(&config.stream).await.unwrap();
}

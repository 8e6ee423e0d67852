//! The relay against the real PostgreSQL and the real NATS on 127.0.0.1:4222 (override with
//! `RI_TEST_NATS`). Each test uses a stream and subject prefix of its own and deletes the stream
//! at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use async_nats::jetstream;
use ri_eventstore::{Checkpoint, EventLog};
use ri_relay::{Relay, RelayConfig};
use ri_testkit::ledger::{Ledger, LedgerCommand};
use ri_testkit::{TestDb, metadata, read_at_least, tenant};
use support::{assert_exactly_once, config, nats, stream_messages, wait_for_messages};
use tokio_util::sync::CancellationToken;

/// Per tenant and ledger: Open, three Credits (one command), Debit, Close = 6 events.
async fn write_events(log: &EventLog) -> usize {
    let mut n = 0;
    for t in ["alpha", "beta"] {
        for ledger in ["l1", "l2", "l3"] {
            for cmd in [
                LedgerCommand::Open {
                    owner: "ann".to_owned(),
                },
                LedgerCommand::CreditMany {
                    amounts: vec![1, 2, 3],
                },
                LedgerCommand::Debit { amount: 1 },
                LedgerCommand::Close,
            ] {
                log.execute::<Ledger>(&tenant(t), ledger, cmd, &metadata(t), ())
                    .await
                    .unwrap();
            }
            n += 6;
        }
    }
    n
}

#[tokio::test]
async fn every_event_arrives_once_in_order_with_its_headers() {
    let db = TestDb::new().await;
    let log = db.log(20);
    let n = write_events(&log).await;
    let events = read_at_least(&log, n).await;
    let client = nats().await;
    let config = config();
    let relay = Relay::new(log.clone(), client, config.clone());
    let js = relay.jetstream().clone();

    let shutdown = CancellationToken::new();
    let task = tokio::spawn(
        relay
            .clone()
            .run(db.config.connect_options().unwrap(), shutdown.clone()),
    );
    wait_for_messages(&js, &config.stream, n as u64).await;
    // More events while it runs.
    log.execute::<Ledger>(
        &tenant("gamma"),
        "g1",
        LedgerCommand::Open {
            owner: "bo".to_owned(),
        },
        &metadata("gamma"),
        (),
    )
    .await
    .unwrap();
    let events_after = read_at_least(&log, n + 1).await;
    wait_for_messages(&js, &config.stream, n as u64 + 1).await;
    shutdown.cancel();
    task.await.unwrap();

    let mut stream = js.get_stream(&config.stream).await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(info.config.duplicate_window, Duration::from_secs(48 * 3600));
    assert_eq!(info.config.storage, jetstream::stream::StorageType::File);
    assert_eq!(
        info.config.subjects,
        vec![format!("{}.>", config.subject_prefix)]
    );
    // Updating an existing stream is harmless.
    relay.ensure_stream().await.unwrap();

    let received = stream_messages(&js, &config.stream).await;
    assert_eq!(events_after.len(), events.len() + 1);
    assert_exactly_once(&received, &events_after, &config.subject_prefix);
    assert_eq!(
        Checkpoint::load(log.pool(), "relay").await.unwrap(),
        events_after.last().unwrap().checkpoint()
    );
    js.delete_stream(&config.stream).await.unwrap();
}

#[tokio::test]
async fn killed_mid_batch_and_restarted_publishes_each_event_once() {
    let db = TestDb::new().await;
    let log = db.log(20);
    let n = write_events(&log).await;
    let events = read_at_least(&log, n).await;
    let config = config();
    let relay = Relay::new(log.clone(), nats().await, config.clone());
    let js = relay.jetstream().clone();
    relay.ensure_stream().await.unwrap();

    // Killed after its batch was acknowledged, before the checkpoint moved.
    let batch = relay.next_batch().await.unwrap().unwrap();
    relay.publish(&batch).await.unwrap();
    // And a later batch killed mid-way: only its first three events acknowledged.
    let partial = ri_relay::Batch {
        from: events[6].checkpoint(),
        events: events[7..10].to_vec(),
    };
    relay.publish(&partial).await.unwrap();
    drop((batch, partial));
    assert_eq!(
        Checkpoint::load(log.pool(), "relay").await.unwrap(),
        Checkpoint::START
    );

    // Killed at arbitrary points: runs aborted after a few milliseconds each.
    for i in 0..6u64 {
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(
            Relay::new(log.clone(), nats().await, config.clone())
                .run(db.config.connect_options().unwrap(), shutdown),
        );
        tokio::time::sleep(Duration::from_millis(1 + 2 * i)).await;
        task.abort();
        let _ = task.await;
    }

    let mid = js
        .get_stream(&config.stream)
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .state
        .messages;
    eprintln!("after the kills: {mid} of {n} events in the stream");
    assert!(mid >= 7, "the first batch stays published");

    // Restarted: catches up, re-publishing what was not recorded (dropped by JetStream).
    let restarted = Relay::new(log.clone(), nats().await, config.clone());
    restarted.catch_up().await.unwrap();
    assert_eq!(restarted.step().await.unwrap(), 0);

    let received = stream_messages(&js, &config.stream).await;
    assert_exactly_once(&received, &events, &config.subject_prefix);
    assert_eq!(
        Checkpoint::load(log.pool(), "relay").await.unwrap(),
        events.last().unwrap().checkpoint()
    );
    js.delete_stream(&config.stream).await.unwrap();
}

#[tokio::test]
async fn unreachable_nats_leaves_the_checkpoint_where_it_was() {
    let db = TestDb::new().await;
    let log = db.log(20);
    let n = write_events(&log).await;
    read_at_least(&log, n).await;

    // A port nothing listens on.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(format!("127.0.0.1:{port}"))
        .await
        .unwrap();
    let relay = Relay::new(
        log.clone(),
        client,
        RelayConfig {
            ack_timeout: Duration::from_millis(500),
            ..config()
        },
    );
    let started = std::time::Instant::now();
    let err = relay.step().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the ack timeout"
    );
    assert!(relay.ensure_stream().await.is_err());
    eprintln!("step with NATS unreachable: {err}");
    assert_eq!(
        Checkpoint::load(log.pool(), "relay").await.unwrap(),
        Checkpoint::START
    );
}

//! Benchmarks of the JetStream relay (not tests): commit-to-delivery latency at fixed write
//! rates, and throughput on a backlog.
//!
//! `cargo bench -p ri-relay --bench relay` (needs the local PostgreSQL and NATS; see
//! docs/performance.md). `RI_BENCH=latency|backlog` runs one half. Sizes:
//! `RI_BENCH_RATES` (events per second, default `500,2000`), `RI_BENCH_SECONDS` (per rate,
//! default 20), `RI_BENCH_WRITERS` (default 16), `RI_BENCH_BACKLOG` (default 1,000,000),
//! `RI_BENCH_BATCH` (the relay's batch size on the backlog, default the service's);
//! `RI_BENCH_PROFILE=1` adds a per-phase breakdown of the backlog. NATS is `RI_TEST_NATS` or
//! 127.0.0.1:4222; each run uses a stream of its own and deletes it, and a database of its own
//! and drops it.
//!
//! Latency: writer tasks run single-event commands (a `Credit` of the test Ledger aggregate)
//! through `EventLog::execute_at` on a fixed schedule, while `Relay::run` follows the log in the
//! same process, as in the service. For each event it measures from the moment the append
//! returned (just after the commit) to the moment the event reached
//! - a JetStream ordered push consumer on the stream: JetStream delivers a message to consumers
//!   only once it has stored it, which is when it sends the publish acknowledgement, so this is
//!   an upper bound of commit → ack (it adds the delivery hop);
//! - a core NATS subscription on the relay's subjects: it gets the message as the server takes
//!   it in, before the stream has stored it, so roughly a lower bound of commit → ack.
//!
//! Both print p50, p99 and max over every event of the rate's run.
//!
//! Backlog: the events are inserted straight into the log by SQL (as `ri-eventstore`'s log bench
//! does), then `Relay::catch_up` is timed from an empty stream to the end of the log.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use ri_eventstore::{Checkpoint, EventLog, LogConfig};
use ri_relay::{Relay, RelayConfig, message};
use ri_testkit::ledger::{Ledger, LedgerCommand};
use ri_testkit::{TestDb, metadata, tenant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; test runners listing or running all targets do not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let only = std::env::var("RI_BENCH").unwrap_or_default();
    if only.is_empty() || only == "latency" {
        let rates: Vec<u64> = std::env::var("RI_BENCH_RATES")
            .unwrap_or_else(|_| "500,2000".to_owned())
            .split(',')
            .map(|r| r.trim().parse().expect("RI_BENCH_RATES: events per second"))
            .collect();
        latency(
            &rates,
            env("RI_BENCH_SECONDS", 20),
            env("RI_BENCH_WRITERS", 16),
        )
        .await;
    }
    if only.is_empty() || only == "backlog" {
        let batch = env("RI_BENCH_BATCH", RelayConfig::default().batch_size as u64);
        backlog(env("RI_BENCH_BACKLOG", 1_000_000), batch as i64).await;
    }
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| v.replace('_', "").parse().expect(name))
        .unwrap_or(default)
}

async fn nats() -> async_nats::Client {
    let url = std::env::var("RI_TEST_NATS").unwrap_or_else(|_| "127.0.0.1:4222".to_owned());
    async_nats::connect(url).await.expect("connect to NATS")
}

/// The service's relay configuration, on a stream and subjects of this run's own.
fn relay_config(batch_size: i64) -> RelayConfig {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    RelayConfig {
        stream: format!("RI_BENCH_{}", tag.to_uppercase()),
        subject_prefix: format!("ribench.{tag}"),
        batch_size,
        ..RelayConfig::default()
    }
}

/// A pool sized for `connections`, as the service opens it (role, timeouts).
async fn pool_for(db: &TestDb, connections: u32) -> sqlx::PgPool {
    let mut config = db.config.clone();
    config.max_connections = connections;
    ri_eventstore::db::app_pool(&config).await.unwrap()
}

/// The `p`th percentile (nearest rank) of sorted durations, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// An event's key in both the log and a message: (aggregate id, sequence).
type Key = (String, i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Via {
    Consumer,
    Core,
}

/// Arrival of a message: which path, the event's key, when.
type Arrival = (Via, Key, Instant);

fn key_of(message: &async_nats::Message) -> Option<Key> {
    let headers = message.headers.as_ref()?;
    let id = headers.get("ce-subject")?.as_str().to_owned();
    let sequence = headers.get("ce-sequence")?.as_str().parse().ok()?;
    Some((id, sequence))
}

async fn latency(rates: &[u64], seconds: u64, writers: u64) {
    let db = TestDb::new().await;
    let pool = pool_for(&db, writers as u32 + 4).await;
    let log = EventLog::new(pool, ri_testkit::ledger::registry(), LogConfig::default());
    let config = relay_config(RelayConfig::default().batch_size);
    let relay = Relay::new(log.clone(), nats().await, config.clone());
    relay.ensure_stream().await.unwrap();

    // The two observers, on a connection of their own.
    let observer = nats().await;
    let (tx, mut arrivals) = mpsc::unbounded_channel::<Arrival>();
    let stream = jetstream::new(observer.clone())
        .get_stream(&config.stream)
        .await
        .unwrap();
    let mut ordered = stream
        .create_consumer(consumer::push::OrderedConfig {
            deliver_subject: observer.new_inbox(),
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .unwrap()
        .messages()
        .await
        .unwrap();
    let consumer_tx = tx.clone();
    let consuming = tokio::spawn(async move {
        while let Some(message) = ordered.next().await {
            let arrived = Instant::now();
            match message {
                Ok(m) => {
                    if let Some(key) = key_of(&m) {
                        let _ = consumer_tx.send((Via::Consumer, key, arrived));
                    }
                }
                Err(e) => eprintln!("ordered consumer: {e}"),
            }
        }
    });
    let mut core = observer
        .subscribe(format!("{}.>", config.subject_prefix))
        .await
        .unwrap();
    let subscribed = tokio::spawn(async move {
        while let Some(m) = core.next().await {
            let arrived = Instant::now();
            if let Some(key) = key_of(&m) {
                let _ = tx.send((Via::Core, key, arrived));
            }
        }
    });

    let shutdown = CancellationToken::new();
    let running = tokio::spawn(
        relay
            .clone()
            .run(db.config.connect_options().unwrap(), shutdown.clone()),
    );

    println!("## Relay latency: commit → delivered, single-event commands at a fixed rate\n");
    println!(
        "| target ev/s | achieved ev/s | writers | events | observer | p50 ms | p99 ms | max ms |"
    );
    println!("|---:|---:|---:|---:|---|---:|---:|---:|");
    for &rate in rates {
        latency_at(&log, rate, seconds, writers, &mut arrivals).await;
    }
    shutdown.cancel();
    running.await.unwrap();
    consuming.abort();
    subscribed.abort();
    relay
        .jetstream()
        .delete_stream(&config.stream)
        .await
        .unwrap();
    log.pool().close().await;
    drop_database(db).await;
}

/// Opens `writers` ledgers, then credits them at `rate` events per second in all for `seconds`;
/// prints the latency rows.
async fn latency_at(
    log: &EventLog,
    rate: u64,
    seconds: u64,
    writers: u64,
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
) {
    let ledger = |w: u64| format!("r{rate}-w{w}");
    let meta = metadata("bench");
    // Opening the ledgers is the warm-up: their events go through before the clock starts.
    let mut opened = Vec::new();
    for w in 0..writers {
        log.execute::<Ledger>(
            &tenant("bench"),
            &ledger(w),
            LedgerCommand::Open { owner: "b".into() },
            &meta,
            (),
        )
        .await
        .unwrap();
        opened.push((ledger(w), 1));
    }
    collect(arrivals, &opened).await;

    let total = rate * seconds;
    let start = Instant::now() + Duration::from_millis(100);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let log = log.clone();
            let meta = meta.clone();
            let id = ledger(w);
            tokio::spawn(async move {
                let mut commits = Vec::new();
                let mut late = Duration::ZERO;
                for i in (w..total).step_by(writers as usize) {
                    let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
                    tokio::time::sleep_until(due.into()).await;
                    late = late.max(due.elapsed());
                    let version = log
                        .execute_at::<Ledger>(
                            &tenant("bench"),
                            &id,
                            LedgerCommand::Credit { amount: 1 },
                            &meta,
                            (),
                            None,
                        )
                        .await
                        .unwrap()
                        .version;
                    commits.push(((id.clone(), version as i64), Instant::now()));
                }
                (commits, late)
            })
        })
        .collect();
    let mut commits = Vec::new();
    let mut late = Duration::ZERO;
    for t in tasks {
        let (c, l) = t.await.unwrap();
        commits.extend(c);
        late = late.max(l);
    }
    let last_commit = commits.iter().map(|(_, at)| *at).max().unwrap();
    let achieved = commits.len() as f64 / (last_commit - start).as_secs_f64();
    if late > Duration::from_millis(100) {
        eprintln!(
            "{rate} ev/s: writers fell behind their schedule by up to {:.0} ms",
            late.as_secs_f64() * 1000.0
        );
    }

    let keys: Vec<Key> = commits.iter().map(|(k, _)| k.clone()).collect();
    let arrived = collect(arrivals, &keys).await;
    for via in [Via::Consumer, Via::Core] {
        let mut latencies: Vec<Duration> = commits
            .iter()
            .map(|(key, committed)| {
                arrived[&(via, key.clone())].saturating_duration_since(*committed)
            })
            .collect();
        latencies.sort();
        let observer = match via {
            Via::Consumer => "JetStream ordered consumer",
            Via::Core => "core NATS subscriber",
        };
        println!(
            "| {rate} | {achieved:.0} | {writers} | {} | {observer} | {:.1} | {:.1} | {:.1} |",
            latencies.len(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0),
            percentile(&latencies, 100.0),
        );
    }
}

/// Waits until every key has arrived by both paths (at most 60 s); returns the arrivals.
async fn collect(
    arrivals: &mut mpsc::UnboundedReceiver<Arrival>,
    keys: &[Key],
) -> HashMap<(Via, Key), Instant> {
    let wanted: std::collections::HashSet<&Key> = keys.iter().collect();
    let mut got = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while got.len() < 2 * wanted.len() {
        let next = tokio::time::timeout_at(deadline, arrivals.recv()).await;
        let Ok(Some((via, key, at))) = next else {
            panic!(
                "only {} of {} arrivals within 60 s",
                got.len(),
                2 * wanted.len()
            );
        };
        if wanted.contains(&key) {
            got.entry((via, key)).or_insert(at);
        }
    }
    got
}

async fn backlog(events: u64, batch_size: i64) {
    let db = TestDb::new().await;
    let meta = serde_json::to_value(metadata("bench").to_map()).unwrap();
    let started = Instant::now();
    // 10,000 ledgers, 1,000 events per transaction, as ri-eventstore's log bench.
    let chunk = 1000i64;
    let events = events as i64;
    for start in (0..events).step_by(chunk as usize) {
        sqlx::query(
            "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, \
                                 event_type, event_version, payload, metadata) \
             SELECT gen_random_uuid(), 'bench', 'Ledger', 'l' || (g % 10000), g / 10000 + 1, \
                    'Credited', '2', jsonb_build_object('Credited', \
                    jsonb_build_object('amount', g, 'currency', 'EUR')), $3 \
             FROM generate_series($1::int8, $2::int8) g",
        )
        .bind(start)
        .bind((start + chunk).min(events) - 1)
        .bind(&meta)
        .execute(&db.owner)
        .await
        .unwrap();
    }
    sqlx::query("ANALYZE events")
        .execute(&db.owner)
        .await
        .unwrap();
    eprintln!(
        "wrote {events} events in {:.1}s",
        started.elapsed().as_secs_f64()
    );

    let pool = pool_for(&db, 4).await;
    let log = EventLog::new(pool, ri_testkit::ledger::registry(), LogConfig::default());
    let config = relay_config(batch_size);
    let relay = Relay::new(log.clone(), nats().await, config.clone());
    relay.ensure_stream().await.unwrap();
    let started = Instant::now();
    let published = relay.catch_up().await.unwrap();
    let elapsed = started.elapsed();

    let mut stream = relay.jetstream().get_stream(&config.stream).await.unwrap();
    let info = stream.info().await.unwrap();
    assert_eq!(published, events as u64, "catch_up published every event");
    assert_eq!(info.state.messages, events as u64, "one message per event");
    println!("\n## Relay throughput on a backlog: `Relay::catch_up` from an empty stream\n");
    println!("| events | batch size | seconds | events per second | stream MB |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {events} | {batch_size} | {:.2} | {:.0} | {} |",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        info.state.bytes / 1_000_000
    );
    relay
        .jetstream()
        .delete_stream(&config.stream)
        .await
        .unwrap();
    if std::env::var("RI_BENCH_PROFILE").is_ok_and(|v| v == "1") {
        profile(&log, batch_size).await;
    }
    log.pool().close().await;
    drop_database(db).await;
}

/// The same backlog again, from the start, into a fresh stream, step by step: where a batch's
/// time goes (read, build the messages, publish and wait for the acks, move the checkpoint).
async fn profile(log: &EventLog, batch_size: i64) {
    let config = relay_config(batch_size);
    let relay = Relay::new(log.clone(), nats().await, config.clone());
    relay.ensure_stream().await.unwrap();
    Checkpoint::START
        .store(log.pool(), &config.reader)
        .await
        .unwrap();
    let (mut read, mut build, mut publish, mut commit) = Default::default();
    let mut events = 0u64;
    let started = Instant::now();
    loop {
        let t = Instant::now();
        let Some(batch) = relay.next_batch().await.unwrap() else {
            break;
        };
        read += t.elapsed();
        let t = Instant::now();
        for event in &batch.events {
            std::hint::black_box(message::outbound(&config.subject_prefix, event).unwrap());
        }
        build += t.elapsed();
        let t = Instant::now();
        relay.publish(&batch).await.unwrap();
        publish += t.elapsed();
        let t = Instant::now();
        assert!(relay.commit(&batch).await.unwrap());
        commit += t.elapsed();
        events += batch.events.len() as u64;
    }
    let total = started.elapsed();
    println!("\n### Where a batch's time goes ({events} events, batches of {batch_size})\n");
    println!("| phase | seconds | share | µs per event |");
    println!("|---|---:|---:|---:|");
    let row = |label: &str, d: Duration| {
        println!(
            "| {label} | {:.2} | {:.0} % | {:.1} |",
            d.as_secs_f64(),
            100.0 * d.as_secs_f64() / total.as_secs_f64(),
            d.as_secs_f64() * 1e6 / events as f64
        );
    };
    row("`next_batch` (checkpoint + read)", read);
    row("build the messages (`message::outbound`, alone)", build);
    row("`publish` (build, send, wait for every ack)", publish);
    row("`commit` (checkpoint compare-and-set)", commit);
    row("total", total);
    relay
        .jetstream()
        .delete_stream(&config.stream)
        .await
        .unwrap();
}

/// Drops the run's database (the backlog's is large).
async fn drop_database(db: TestDb) {
    db.owner.close().await;
    db.app.close().await;
    let admin = sqlx::PgPool::connect(&format!("{}/postgres", ri_testkit::server_url()))
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
        db.name
    )))
    .execute(&admin)
    .await
    .unwrap();
    admin.close().await;
}

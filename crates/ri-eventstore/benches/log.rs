//! Benchmarks of the event log (not tests): append throughput against raw inserts, and the
//! tailing reader and replay on a 1M-event log against `COPY ... TO STDOUT`.
//!
//! `cargo bench -p ri-eventstore --bench log` (needs the local PostgreSQL; see
//! docs/performance.md). `RI_BENCH=append|read` runs one half; `RI_BENCH_EVENTS` changes the
//! log size (default 1,000,000).

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use cqrs_es::persist::{PersistedEventRepository, SerializedEvent};
use futures_util::TryStreamExt;
use ri_eventstore::{Checkpoint, EventLog, LogConfig};
use ri_projections::streams::Streams;
use ri_testkit::ledger::{Ledger, LedgerCommand};
use ri_testkit::{TestDb, metadata, tenant};
use serde_json::json;
use sqlx::postgres::PgPoolOptions;

const APPEND_SECONDS: u64 = 10;

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; test runners listing or running all targets do not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let events: i64 = std::env::var("RI_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    println!("## Event log benchmark\n");
    println!("| measurement | writers | ops | seconds | per second | ratio to baseline |");
    println!("|---|---:|---:|---:|---:|---:|");
    let only = std::env::var("RI_BENCH").unwrap_or_default();
    if only.is_empty() || only == "append" {
        for writers in [1usize, 16] {
            append(writers).await;
        }
    }
    if only.is_empty() || only == "read" {
        read(events).await;
    }
}

/// A pool sized for `writers`, as the service opens it (role, timeouts).
async fn pool_for(db: &TestDb, writers: usize) -> sqlx::PgPool {
    let mut config = db.config.clone();
    config.max_connections = writers as u32;
    ri_eventstore::db::app_pool(&config).await.unwrap()
}

fn row(label: &str, writers: usize, ops: u64, elapsed: Duration, baseline: Option<f64>) -> f64 {
    let rate = ops as f64 / elapsed.as_secs_f64();
    let ratio = baseline.map_or("—".to_owned(), |b| format!("{:.2}", rate / b));
    println!(
        "| {label} | {writers} | {ops} | {:.2} | {rate:.0} | {ratio} |",
        elapsed.as_secs_f64()
    );
    rate
}

/// Runs `op(writer, i)` from `writers` tasks for APPEND_SECONDS; returns ops and time.
async fn for_a_while<F, Fut>(writers: usize, op: F) -> (u64, Duration)
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let until = started + Duration::from_secs(APPEND_SECONDS);
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut n = 0u64;
                while Instant::now() < until {
                    op(w, n).await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    (total, started.elapsed())
}

async fn append(writers: usize) {
    let db = TestDb::new().await;
    let pool = pool_for(&db, writers).await;
    let log = EventLog::new(
        pool.clone(),
        ri_testkit::ledger::registry(),
        LogConfig::default(),
    );
    let payload = json!({"Credited": {"amount": 42, "currency": "EUR"}});
    let meta = serde_json::to_value(metadata("bench").to_map()).unwrap();
    let row_size: i32 =
        sqlx::query_scalar("SELECT pg_column_size($1::jsonb) + pg_column_size($2::jsonb)")
            .bind(&payload)
            .bind(&meta)
            .fetch_one(&pool)
            .await
            .unwrap();

    // Baseline: one autocommitted INSERT of a jsonb row as large as an event's payload and
    // metadata, into a table with a bigint identity key.
    db.exec("CREATE TABLE bench_raw (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body jsonb NOT NULL); GRANT INSERT ON bench_raw TO ri_app")
        .await;
    let body = json!({"payload": payload, "metadata": meta});
    let raw_pool = pool.clone();
    let (ops, elapsed) = for_a_while(writers, move |_, _| {
        let pool = raw_pool.clone();
        let body = body.clone();
        async move {
            sqlx::query("INSERT INTO bench_raw (body) VALUES ($1)")
                .bind(&body)
                .execute(&pool)
                .await
                .unwrap();
        }
    })
    .await;
    let raw = row(
        &format!("raw INSERT, {row_size}-byte jsonb"),
        writers,
        ops,
        elapsed,
        None,
    );

    // The store's append alone: one event per call, through PersistedEventRepository.
    let repo_log = log.clone();
    let (ops, elapsed) = for_a_while(writers, move |w, n| {
        let repo = repo_log.for_tenant(tenant("bench"));
        let event = SerializedEvent::new(
            format!("append-{w}"),
            n as usize + 1,
            "Ledger".into(),
            "Credited".into(),
            "2".into(),
            json!({"Credited": {"amount": 42, "currency": "EUR"}}),
            serde_json::to_value(metadata("bench").to_map()).unwrap(),
        );
        async move { repo.persist::<Ledger>(&[event], None).await.unwrap() }
    })
    .await;
    row(
        "append (repository, 1 event)",
        writers,
        ops,
        elapsed,
        Some(raw),
    );

    // Whole single-event commands: load (snapshot + tail), decide, append.
    for w in 0..writers {
        for l in 0..20 {
            log.execute::<Ledger>(
                &tenant("bench"),
                &format!("cmd-{w}-{l}"),
                LedgerCommand::Open { owner: "b".into() },
                &metadata("bench"),
                (),
            )
            .await
            .unwrap();
        }
    }
    let cmd_log = log.clone();
    let (ops, elapsed) = for_a_while(writers, move |w, n| {
        let log = cmd_log.clone();
        async move {
            let id = format!("cmd-{w}-{}", n % 20);
            log.execute::<Ledger>(
                &tenant("bench"),
                &id,
                LedgerCommand::Credit { amount: 1 },
                &metadata("bench"),
                (),
            )
            .await
            .unwrap();
        }
    })
    .await;
    row(
        "command (load + append, 1 event)",
        writers,
        ops,
        elapsed,
        Some(raw),
    );
    pool.close().await;
}

async fn read(events: i64) {
    let db = TestDb::new().await;
    let meta = serde_json::to_value(metadata("bench").to_map()).unwrap();
    let started = Instant::now();
    // 10 tenants, 10,000 ledgers, 1,000 events per transaction.
    let chunk = 1000i64;
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

    // Baseline: COPY of the same rows in the same order, bytes discarded.
    let mut conn = db.owner.acquire().await.unwrap();
    let started = Instant::now();
    let mut stream = conn
        .copy_out_raw(
            "COPY (SELECT position, tx_id, event_id, tenant, aggregate_type, aggregate_id, \
                   sequence, event_type, event_version, payload, metadata, recorded_at \
                   FROM events ORDER BY tx_id, position) TO STDOUT",
        )
        .await
        .unwrap();
    let mut bytes = 0usize;
    while let Some(chunk) = stream.try_next().await.unwrap() {
        bytes += chunk.len();
    }
    drop(stream);
    drop(conn);
    let copy = row(
        &format!("COPY TO STDOUT ({} MB)", bytes / 1_000_000),
        1,
        events as u64,
        started.elapsed(),
        None,
    );

    // The tailing reader: decoded, upcast-checked events, 5,000 per read.
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect_with(db.config.connect_options().unwrap())
        .await
        .unwrap();
    let log = EventLog::new(
        pool.clone(),
        ri_testkit::ledger::registry(),
        LogConfig::default(),
    );
    let reader = log.reader();
    let started = Instant::now();
    let mut at = Checkpoint::START;
    let mut read = 0u64;
    loop {
        let batch = reader.read_after(&pool, at, 5000).await.unwrap();
        let Some(last) = batch.last() else { break };
        at = last.checkpoint();
        read += batch.len() as u64;
    }
    row(
        "tailing reader (5,000 per read)",
        1,
        read,
        started.elapsed(),
        Some(copy),
    );

    // Replay of the streams projection from zero, swapped in.
    let report = ri_projections::replay(&log, &db.owner, &Streams, 5000)
        .await
        .unwrap();
    row(
        "replay `streams` (5,000 per batch)",
        1,
        report.events,
        report.elapsed,
        Some(copy),
    );
}

//! Workloads and comparisons for the projection tests.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ri_eventstore::EventLog;
use ri_projections::RunnerConfig;
use ri_testkit::ledger::{Ledger, LedgerCommand};
use ri_testkit::{TestDb, metadata, tenant};
use sqlx::{AssertSqlSafe, PgPool};

pub(crate) const TENANTS: [&str; 6] = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];

pub(crate) fn fast() -> RunnerConfig {
    RunnerConfig {
        batch_size: 100,
        idle_poll: Duration::from_millis(20),
        takeover_poll: Duration::from_millis(100),
        lock_check: Duration::from_millis(200),
    }
}

/// `writers` concurrent tasks running `commands` random ledger commands in all, across every
/// tenant and 30 ledgers each. Refused commands (closed ledgers, conflicts) are part of life.
pub(crate) async fn random_commands(log: &EventLog, seed: u64, commands: usize, writers: usize) {
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let log = log.clone();
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed * 1000 + w as u64);
                for _ in 0..commands / writers {
                    let slug = TENANTS[rng.random_range(0..TENANTS.len())];
                    let id = format!("ledger-{}", rng.random_range(0..30));
                    let command = match rng.random_range(0..50) {
                        0..=19 => LedgerCommand::Credit {
                            amount: rng.random_range(1..100),
                        },
                        20..=34 => LedgerCommand::CreditMany {
                            amounts: (0..rng.random_range(2..4)).map(|i| i + 1).collect(),
                        },
                        35..=48 => LedgerCommand::Debit {
                            amount: rng.random_range(1..50),
                        },
                        _ => LedgerCommand::Close,
                    };
                    // Open first when the ledger is new, so most commands land.
                    let t = tenant(slug);
                    let _ = log
                        .execute::<Ledger>(
                            &t,
                            &id,
                            LedgerCommand::Open { owner: slug.into() },
                            &metadata(slug),
                            (),
                        )
                        .await;
                    let _ = log
                        .execute::<Ledger>(&t, &id, command, &metadata(slug), ())
                        .await;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("writer task");
    }
}

/// A table's rows as sorted text, for exact comparison.
pub(crate) async fn dump(pool: &PgPool, relation: &str) -> String {
    sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM ({relation}) t"
    )))
    .fetch_one(pool)
    .await
    .expect("dump")
}

/// What the `streams` projection must hold, computed from the log by SQL alone.
pub(crate) const TRUE_SUMMARIES: &str = "\
    SELECT tenant, aggregate_type, aggregate_id, max(sequence) AS version, count(*) AS event_count, \
           (array_agg(event_type ORDER BY sequence DESC))[1] AS last_event_type, \
           (array_agg(recorded_at ORDER BY sequence))[1] AS first_recorded_at, \
           (array_agg(recorded_at ORDER BY sequence DESC))[1] AS last_recorded_at, \
           (array_agg(position ORDER BY sequence DESC))[1] AS last_position \
    FROM events GROUP BY tenant, aggregate_type, aggregate_id";

pub(crate) const TRUE_COUNTS: &str = "\
    SELECT tenant, aggregate_type, event_type, count(*) AS event_count \
    FROM events GROUP BY tenant, aggregate_type, event_type";

pub(crate) const LIVE_SUMMARIES: &str = "SELECT * FROM stream_summaries";
pub(crate) const LIVE_COUNTS: &str = "SELECT * FROM event_type_counts";

/// Waits until the live `streams` tables equal the truth; panics with the difference if they
/// do not within a minute.
pub(crate) async fn wait_until_live_is_true(db: &TestDb) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let live = (
            dump(&db.owner, LIVE_SUMMARIES).await,
            dump(&db.owner, LIVE_COUNTS).await,
        );
        let truth = (
            dump(&db.owner, TRUE_SUMMARIES).await,
            dump(&db.owner, TRUE_COUNTS).await,
        );
        if live == truth {
            return;
        }
        if Instant::now() > deadline {
            assert_eq!(live, truth, "the live projection never matched the log");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) async fn event_count(db: &TestDb) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(&db.owner)
        .await
        .expect("count")
}

//! The index built at start from a large catalogue, and the catch-up after a restart: time to
//! ready and peak memory of the service with the index and without it; then, with the service
//! stopped, a batch of instruments drafted, tagged, scheduled and published through the log
//! (the domain's commands, as the API runs them), and the service started again: time to ready
//! and to the moment the new instruments are found by the search.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ri_domain::instrument::{
    CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentKind,
    InstrumentServices, Schedule, SystemClock,
};
use ri_domain::tenant::{Tenant, TenantCommand, TenantKind, TenantProfile};
use ri_domain::values::{CountryCode, Summary, Title};
use ri_eventstore::EventLog;
use ri_taxonomy::FeatureSet;
use ri_testkit::synthetic;
use ri_testkit::{TestDb, metadata, tenant};
use serde_json::json;

use crate::service::{Memory, Service};
use crate::{env_or, search};

/// The tenant the catch-up batch is written for, so the search can count it.
const CATCH_UP_TENANT: &str = "catch-up";
/// Concurrent writers of the catch-up batch (curators of different instruments).
const WRITERS: usize = 4;

fn mb(bytes: u64) -> u64 {
    bytes >> 20
}

fn line(what: &str, ready: Duration, searchable: Option<Duration>, memory: Memory) {
    let searchable =
        searchable.map_or_else(|| "—".to_owned(), |s| format!("{:.1}", s.as_secs_f64()));
    println!(
        "| {what} | {:.1} | {searchable} | {} | {} |",
        ready.as_secs_f64(),
        mb(memory.hwm),
        mb(memory.rss)
    );
}

pub(crate) async fn build_part() {
    let instruments: i64 = env_or("RI_BENCH_BUILD_INSTRUMENTS", 1_000_000);
    let catch_up: usize = env_or("RI_BENCH_CATCH_UP", 2_000);
    if instruments == 0 {
        return;
    }
    let db = TestDb::new().await;
    let started = Instant::now();
    synthetic::seed(&db.owner, instruments).await.unwrap();
    let table: String = sqlx::query_scalar(
        "SELECT pg_size_pretty(pg_total_relation_size('catalogue_instruments'))",
    )
    .fetch_one(&db.owner)
    .await
    .unwrap();
    println!(
        "\nseeded {instruments} instruments in {:.1} s (catalogue_instruments {table}, database {})\n",
        started.elapsed().as_secs_f64(),
        db.name
    );
    let url = format!("{}/{}", ri_testkit::server_url(), db.name);
    let http = reqwest::Client::new();
    println!("| start | ready s | new instruments searchable s | VmHWM MB | VmRSS MB (ready) |");
    println!("|---|---:|---:|---:|---:|");

    let public: i64 = sqlx::query_scalar("SELECT count(*) FROM catalogue_public")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let indexed = Service::start(&url, true, &http).await;
    // With an empty log `/readyz` does not wait for the index: its documents are the measure.
    let loaded = indexed.wait_for_index(&http, public).await;
    line(
        "with the index, from the table",
        loaded,
        None,
        indexed.memory(),
    );
    indexed.stop().await;
    let sql = Service::start(&url, false, &http).await;
    line("without the index", sql.ready_after, None, sql.memory());
    sql.stop().await;

    let log = db.log_with(ri_domain::event_registry(), 20);
    let before: i64 = events(&log).await;
    let started = Instant::now();
    write_batch(&log, catch_up).await;
    let written = events(&log).await - before;
    println!(
        "\n(written through the log while no service ran: {catch_up} instruments drafted, \
         tagged, scheduled and published, {written} events, in {:.1} s)\n",
        started.elapsed().as_secs_f64()
    );
    let mut restarted = Service::spawn(&url, true);
    let (graphql, spawned) = (restarted.graphql_url(), restarted.spawned);
    let (ready, searchable) = tokio::join!(
        restarted.wait_until_ready(&http),
        searchable(&http, &graphql, spawned, catch_up)
    );
    restarted.ready_after = ready;
    line(
        "with the index, restarted after the batch",
        ready,
        Some(searchable),
        restarted.memory(),
    );
    restarted.stop().await;
    crate::drop_database(db).await;
}

async fn events(log: &EventLog) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(log.pool())
        .await
        .unwrap()
}

/// Polls the search (every 10 ms, from the process's spawn) until it counts all `expected`
/// instruments of the catch-up tenant; the time from spawn.
async fn searchable(
    http: &reqwest::Client,
    url: &str,
    spawned: Instant,
    expected: usize,
) -> Duration {
    let body = search(
        json!({ "tenant": CATCH_UP_TENANT }),
        "DEADLINE_SOONEST",
        None,
    );
    let expected = i64::try_from(expected).unwrap();
    loop {
        let answered = http
            .post(url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        if let Ok(response) = answered
            && let Ok(value) = response.json::<serde_json::Value>().await
            && value["data"]["instruments"]["totalCount"].as_i64() == Some(expected)
        {
            return spawned.elapsed();
        }
        assert!(
            spawned.elapsed() < Duration::from_secs(900),
            "the catch-up batch was not searchable within 15 minutes"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Registers the catch-up tenant and writes `instruments` instruments' lives (draft, tag three
/// features, schedule a deadline, publish: 4 events each) from [`WRITERS`] tasks.
async fn write_batch(log: &EventLog, instruments: usize) {
    let slug = tenant(CATCH_UP_TENANT);
    let register = TenantCommand::Register {
        slug: slug.clone(),
        profile: TenantProfile {
            name: Title::parse("name", "Catch-up cluster").unwrap(),
            kind: TenantKind::AmbassadorCluster,
            country: CountryCode::parse("country", "DE").unwrap(),
            website: None,
            domains: vec![],
            member_count: None,
        },
    };
    log.execute::<Tenant>(
        &slug,
        CATCH_UP_TENANT,
        register,
        &metadata(CATCH_UP_TENANT),
        (),
    )
    .await
    .unwrap();
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let log = log.clone();
        writers.spawn(async move {
            for n in (w..instruments).step_by(WRITERS) {
                instrument_life(&log, n).await;
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
}

async fn instrument_life(log: &EventLog, n: usize) {
    let id = uuid::Uuid::new_v4().to_string();
    let slug = tenant(CATCH_UP_TENANT);
    let countries = ["DE", "FR", "LT", "PL"];
    let details = InstrumentDetails {
        title: Title::parse("title", &format!("Catch-up call {n} for border drones")).unwrap(),
        kind: InstrumentKind::Call,
        cover_level: CoverLevel::National,
        countries: vec![CountryCode::parse("country", countries[n % countries.len()]).unwrap()],
        programme: None,
        link: None,
        summary: Summary::parse("summary", "Grants for prototypes and demonstrators.").unwrap(),
        target_organisations: vec![],
        funding: None,
        periodicity: None,
        languages: vec![],
    };
    let features = ["T1", "T15", "P12", "D1", "T4"];
    let commands = [
        InstrumentCommand::Draft {
            tenant: slug.clone(),
            details,
        },
        InstrumentCommand::TagFeatures {
            features: FeatureSet::parse([
                features[n % 5],
                features[(n + 1) % 5],
                features[(n + 2) % 5],
            ])
            .unwrap(),
        },
        InstrumentCommand::SetSchedule {
            schedule: Schedule {
                opening_date: None,
                deadline: Some(
                    time::OffsetDateTime::now_utc()
                        + time::Duration::days(30 + i64::try_from(n % 300).unwrap()),
                ),
                time_zone: None,
            },
        },
        InstrumentCommand::Publish,
    ];
    for command in commands {
        let services = InstrumentServices {
            clock: Arc::new(SystemClock),
        };
        log.execute::<FundingInstrument>(&slug, &id, command, &metadata(CATCH_UP_TENANT), services)
            .await
            .unwrap();
    }
}

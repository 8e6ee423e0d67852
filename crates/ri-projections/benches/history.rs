//! Benchmark of the public search as of a past moment (issue 16; not a test): the cost of
//! building the index of a moment from the log, beside the live index of the same log.
//!
//! `cargo bench -p ri-projections --bench history` (needs the local PostgreSQL; see
//! docs/performance.md; `RI_BENCH_KEEP=1` keeps the database, dropped otherwise). A fresh database gets a synthetic log written straight into `events`
//! by the table owner (the synthetic catalogue of the other benches is rows without events,
//! and a fold needs events): 30 tenants (registered, the last one suspended) and
//! `RI_BENCH_INSTRUMENTS` instruments (100,000), each drafted, tagged, scheduled (calls) and
//! published, with the catalogue's distributions: 8 % left drafts, 6 % withdrawn, 6 %
//! archived, 10 % closed. Payloads are the domain's own events, serialised as the log stores
//! them. Then, in one process:
//!
//! 1. the historical search as of now, first call (the build) and second (kept): time and
//!    peak memory (VmHWM, reset before);
//! 2. a moment half-way through the log (about half the instruments);
//! 3. the live index fed from the same log (`SearchIndex::run` from the start), time to ready
//!    and peak memory: the baseline;
//! 4. the same search live and as of now must give the same total and page;
//! 5. live searches by 1 caller for `RI_BENCH_SECONDS` (3) alone, then while a historical
//!    build runs; then by 2 callers (both cores), alone and while a build runs under the
//!    service's default limits (`HistoryConfig::default()`): p50 / p99 / max.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cqrs_es::DomainEvent;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ri_domain::instrument::{
    CoverLevel, InstrumentDetails, InstrumentEvent, InstrumentKind, InstrumentStatus, Periodicity,
    Schedule, TargetOrganisation,
};
use ri_domain::tenant::{TenantEvent, TenantKind, TenantProfile};
use ri_domain::values::{
    CountryCode, CurrencyCode, FundingRange, LanguageCode, ShortText, Summary, Title,
};
use ri_projections::catalogue::{FeatureMatch, InstrumentFilter, InstrumentSort};
use ri_projections::search_index::HistoryConfig;
use ri_projections::{SearchIndex, SearchIndexConfig};
use ri_taxonomy::{FEATURES, FeatureSet};
use ri_testkit::{TestDb, metadata, tenant};
use serde_json::Value;
use sqlx::PgPool;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

const TENANTS: usize = 30;
const EVENTS_PER_INSERT: usize = 20_000;
const COMMON: [&str; 10] = [
    "P12", "T1", "T15", "T9", "T10", "T14", "T4", "P10", "P13", "D1",
];
const COUNTRIES: [&str; 12] = [
    "DE", "DE", "FR", "IT", "ES", "PL", "NL", "BE", "SE", "LT", "DK", "FI",
];
const WORDS: [&str; 24] = [
    "security",
    "border",
    "cyber",
    "resilience",
    "innovation",
    "digital",
    "maritime",
    "surveillance",
    "crisis",
    "critical",
    "infrastructure",
    "protection",
    "detection",
    "emergency",
    "drones",
    "sensors",
    "intelligence",
    "data",
    "cooperation",
    "regional",
    "startups",
    "pilot",
    "quantum",
    "satellite",
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The process's peak and current resident memory, in MB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// Resets VmHWM to the current RSS (Linux's `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn words(rng: &mut StdRng, n: usize) -> String {
    (0..n)
        .map(|_| WORDS[rng.random_range(0..WORDS.len())])
        .collect::<Vec<_>>()
        .join(" ")
}

fn slug(t: usize) -> String {
    format!("synthetic-{:02}", t + 1)
}

/// One event row for the bulk insert.
struct Row {
    tenant: String,
    aggregate_type: &'static str,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: Value,
    recorded_at: OffsetDateTime,
}

fn row<E: DomainEvent + serde::Serialize>(
    tenant: &str,
    aggregate_type: &'static str,
    id: &str,
    sequence: i64,
    event: &E,
    at: OffsetDateTime,
) -> Row {
    Row {
        tenant: tenant.to_owned(),
        aggregate_type,
        aggregate_id: id.to_owned(),
        sequence,
        event_type: event.event_type(),
        event_version: event.event_version(),
        payload: serde_json::to_value(event).unwrap(),
        recorded_at: at,
    }
}

/// An instrument's life: drafted at `drafted`, then an event an hour apart.
fn instrument(rng: &mut StdRng, n: usize, drafted: OffsetDateTime) -> Vec<Row> {
    let s = slug(n % TENANTS);
    let id = format!("syn-{n:06}");
    let kind = match rng.random_range(0..100) {
        0..60 => InstrumentKind::Call,
        60..85 => InstrumentKind::Programme,
        _ => InstrumentKind::StrategicDocument,
    };
    let countries = {
        let mut c: Vec<CountryCode> = (0..rng.random_range(1..=3))
            .map(|_| CountryCode::parse("c", COUNTRIES[rng.random_range(0..COUNTRIES.len())]))
            .collect::<Result<_, _>>()
            .unwrap();
        c.sort_by_key(|c| c.to_string());
        c.dedup();
        c
    };
    let details = InstrumentDetails {
        title: Title::parse("title", &words(rng, 4)).unwrap(),
        kind,
        cover_level: [
            CoverLevel::Regional,
            CoverLevel::National,
            CoverLevel::Eu,
            CoverLevel::International,
        ][rng.random_range(0..4)],
        countries,
        programme: rng
            .random_bool(0.6)
            .then(|| ShortText::parse("programme", "Horizon Europe").unwrap()),
        link: None,
        summary: Summary::parse(
            "summary",
            &format!("Synthetic benchmark instrument. {}", words(rng, 16)),
        )
        .unwrap(),
        target_organisations: vec![TargetOrganisation::Sme],
        funding: rng.random_bool(0.8).then(|| FundingRange {
            min: Some(10_000),
            max: Some(500_000),
            currency: CurrencyCode::parse("currency", "EUR").unwrap(),
        }),
        periodicity: Some(Periodicity::Annual),
        languages: vec![LanguageCode::parse("languages", "en").unwrap()],
    };
    let features = {
        let codes: Vec<&str> = (0..rng.random_range(1..=8))
            .map(|_| {
                if rng.random_bool(0.7) {
                    COMMON[rng.random_range(0..COMMON.len())]
                } else {
                    FEATURES[rng.random_range(0..FEATURES.len())].code
                }
            })
            .collect();
        FeatureSet::parse(codes).unwrap()
    };
    let hour = time::Duration::hours(1);
    let mut at = drafted;
    let mut events = vec![InstrumentEvent::InstrumentDrafted {
        tenant: tenant(&s),
        details,
    }];
    events.push(InstrumentEvent::InstrumentFeaturesTagged { features });
    if kind == InstrumentKind::Call {
        events.push(InstrumentEvent::InstrumentScheduleSet {
            old: Schedule::default(),
            new: Schedule {
                opening_date: None,
                deadline: Some(drafted + time::Duration::days(rng.random_range(30..400))),
                time_zone: Some("Europe/Brussels".to_owned()),
            },
        });
    }
    let fate = rng.random_range(0..100);
    if fate >= 8 {
        events.push(InstrumentEvent::InstrumentPublished);
    }
    match fate {
        8..14 => events.push(InstrumentEvent::InstrumentWithdrawn {
            reason: ShortText::parse("reason", "Withdrawn.").unwrap(),
        }),
        14..20 => events.push(InstrumentEvent::InstrumentArchived),
        20..30 => events.push(InstrumentEvent::InstrumentClosed),
        _ => {}
    }
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            at += hour;
            row(&s, "FundingInstrument", &id, i as i64 + 1, e, at)
        })
        .collect()
}

async fn insert(owner: &PgPool, rows: &[Row], metadata: &[Value]) {
    let tenants: Vec<&str> = rows.iter().map(|r| r.tenant.as_str()).collect();
    let meta: Vec<&Value> = rows
        .iter()
        .map(|r| {
            let t: usize = r.tenant["synthetic-".len()..].parse().unwrap();
            &metadata[t - 1]
        })
        .collect();
    sqlx::query(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, \
                             event_type, event_version, payload, metadata, recorded_at) \
         SELECT gen_random_uuid(), e.tenant, e.aggregate_type, e.aggregate_id, e.sequence, \
                e.event_type, e.event_version, e.payload, e.metadata, e.recorded_at \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::text[], $6::text[], \
                     $7::jsonb[], $8::jsonb[], $9::timestamptz[]) WITH ORDINALITY \
              AS e(tenant, aggregate_type, aggregate_id, sequence, event_type, event_version, \
                   payload, metadata, recorded_at, n) \
         ORDER BY e.n",
    )
    .bind(&tenants)
    .bind(rows.iter().map(|r| r.aggregate_type).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.aggregate_id.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.sequence).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.event_type.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        rows.iter()
            .map(|r| r.event_version.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| &r.payload).collect::<Vec<_>>())
    .bind(&meta)
    .bind(rows.iter().map(|r| r.recorded_at).collect::<Vec<_>>())
    .execute(owner)
    .await
    .unwrap();
}

/// Writes the synthetic log; returns the events written and the first and last moments.
async fn write_log(owner: &PgPool, instruments: usize) -> (usize, OffsetDateTime) {
    let mut rng = StdRng::seed_from_u64(16);
    let metadata: Vec<Value> = (0..TENANTS)
        .map(|t| serde_json::to_value(metadata(&slug(t)).to_map()).unwrap())
        .collect();
    let now = OffsetDateTime::now_utc();
    let start = now - time::Duration::days(1000);
    let mut rows = Vec::new();
    for t in 0..TENANTS {
        let s = slug(t);
        let registered = TenantEvent::TenantRegistered {
            slug: tenant(&s),
            profile: TenantProfile {
                name: Title::parse("name", &format!("Synthetic cluster {}", t + 1)).unwrap(),
                kind: TenantKind::AmbassadorCluster,
                country: CountryCode::parse("country", "DE").unwrap(),
                website: None,
                domains: vec![],
                member_count: None,
            },
        };
        rows.push(row(&s, "Tenant", &s, 1, &registered, start));
        if t + 1 == TENANTS {
            let suspended = TenantEvent::TenantSuspended {
                reason: ShortText::parse("reason", "Synthetic.").unwrap(),
            };
            rows.push(row(
                &s,
                "Tenant",
                &s,
                2,
                &suspended,
                start + time::Duration::days(500),
            ));
        }
    }
    let mut written = 0;
    // Drafted evenly over 950 days, in order: a moment half-way holds about half.
    let step = time::Duration::days(950) / u32::try_from(instruments.max(1)).unwrap();
    for n in 1..=instruments {
        let drafted = start + time::Duration::days(1) + step * u32::try_from(n).unwrap();
        rows.extend(instrument(&mut rng, n, drafted));
        if rows.len() >= EVENTS_PER_INSERT {
            insert(owner, &rows, &metadata).await;
            written += rows.len();
            rows.clear();
        }
    }
    insert(owner, &rows, &metadata).await;
    written += rows.len();
    sqlx::query("ANALYZE events").execute(owner).await.unwrap();
    (written, start)
}

fn issue3() -> InstrumentFilter {
    InstrumentFilter {
        cover_levels: vec![CoverLevel::National],
        countries: vec![CountryCode::parse("c", "DE").unwrap()],
        features: FeatureSet::parse(["T1", "T15", "P12"]).unwrap(),
        feature_match: FeatureMatch::Any,
        statuses: vec![InstrumentStatus::Open],
        ..InstrumentFilter::default()
    }
}

fn quantiles(mut ms: Vec<f64>) -> String {
    if ms.is_empty() {
        return "no calls".to_owned();
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    format!(
        "{} calls, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    )
}

/// Live searches by `callers` threads until `stop`; each call's milliseconds.
fn live_callers(
    index: &Arc<SearchIndex>,
    callers: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<Vec<f64>>> {
    (0..callers)
        .map(|_| {
            let (index, stop) = (Arc::clone(index), Arc::clone(stop));
            std::thread::spawn(move || {
                let filter = issue3();
                let mut ms = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let now = OffsetDateTime::now_utc();
                    index
                        .search(&filter, InstrumentSort::DeadlineSoonest, 20, None, now)
                        .unwrap();
                    ms.push(t.elapsed().as_secs_f64() * 1e3);
                }
                ms
            })
        })
        .collect()
}

#[tokio::main]
async fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let instruments: usize = env_or("RI_BENCH_INSTRUMENTS", 100_000);
    let seconds: u64 = env_or("RI_BENCH_SECONDS", 3);
    let _ = std::process::Command::new("uptime").status();

    let db = TestDb::new().await;
    let started = Instant::now();
    let (events, first) = write_log(&db.owner, instruments).await;
    println!(
        "wrote {events} events ({instruments} instruments, {TENANTS} tenants) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let log = db.log_with(ri_domain::event_registry(), 20);
    let config = SearchIndexConfig {
        history: HistoryConfig {
            timeout: Duration::from_secs(600),
            max_instruments: 10_000_000,
            cache_entries: 2,
            ..HistoryConfig::default()
        },
        ..SearchIndexConfig::default()
    };
    let index = SearchIndex::new(config).unwrap();
    let filter = issue3();
    let sort = InstrumentSort::DeadlineSoonest;

    // 0. Reading the log alone, as a build reads it.
    let reader = log.reader();
    let t = Instant::now();
    let horizon = reader.horizon(log.pool()).await.unwrap();
    let (mut after, mut read) = (ri_eventstore::Checkpoint::START, 0);
    loop {
        let page = reader
            .read_until(
                log.pool(),
                &["FundingInstrument", "Tenant"],
                OffsetDateTime::now_utc(),
                horizon,
                after,
                HistoryConfig::default().page_size,
            )
            .await
            .unwrap();
        let Some(last) = page.last() else { break };
        after = last.checkpoint();
        read += page.len();
    }
    println!(
        "reading the log alone: {read} events in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    // 1. As of now: the build, then the kept index.
    let (_, rss) = memory();
    reset_peak();
    let now = OffsetDateTime::now_utc();
    let t = Instant::now();
    let then = index
        .search_as_of(&log, &filter, sort, 20, None, now, now)
        .await
        .unwrap();
    let built = t.elapsed();
    let (hwm, rss_after) = memory();
    println!(
        "as of now, built: {:.2} s; VmRSS before {rss} MB, VmHWM during {hwm} MB, VmRSS after \
         {rss_after} MB; total {}",
        built.as_secs_f64(),
        then.total_count
    );
    let t = Instant::now();
    index
        .search_as_of(&log, &filter, sort, 20, None, now, now)
        .await
        .unwrap();
    println!("as of now, kept: {:.3} ms", t.elapsed().as_secs_f64() * 1e3);

    // 2. Half-way through the log.
    let half = first + (now - first) / 2;
    let t = Instant::now();
    let page = index
        .search_as_of(&log, &filter, sort, 20, None, half, now)
        .await
        .unwrap();
    println!(
        "as of half-way ({half}), built: {:.2} s; total {}",
        t.elapsed().as_secs_f64(),
        page.total_count
    );

    // 3. The live index from the same log: the baseline.
    let live = SearchIndex::new(SearchIndexConfig::default()).unwrap();
    let shutdown = CancellationToken::new();
    let (_, rss) = memory();
    reset_peak();
    let t = Instant::now();
    let feeding = {
        let (live, log, stop) = (Arc::clone(&live), log.clone(), shutdown.clone());
        tokio::spawn(async move { live.run(log, stop).await })
    };
    while !live.is_ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (hwm, rss_after) = memory();
    println!(
        "live index from the log, ready: {:.2} s; VmRSS before {rss} MB, VmHWM during {hwm} MB, \
         VmRSS after {rss_after} MB",
        t.elapsed().as_secs_f64()
    );

    // 4. The same answer.
    let now = OffsetDateTime::now_utc();
    let live_page = live.search(&filter, sort, 20, None, now).unwrap();
    let then = index
        .search_as_of(&log, &filter, sort, 20, None, now, now)
        .await
        .unwrap();
    let ids = |p: &ri_projections::catalogue::InstrumentPage| {
        p.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(live_page.total_count, then.total_count);
    assert_eq!(ids(&live_page), ids(&then));
    println!("live and as of now agree: total {}", then.total_count);

    // 5. Live searches alone, then during a build (each a moment not built yet): with one
    // caller (a core left for the build), and with two (both cores busy with live searches)
    // under the service's default time limit.
    let service = SearchIndex::new(SearchIndexConfig::default()).unwrap();
    for (callers, during_build, fraction) in [
        (1, false, 0.0),
        (1, true, 0.9),
        (2, false, 0.0),
        (2, true, 0.8),
    ] {
        let stop = Arc::new(AtomicBool::new(false));
        let running = live_callers(&live, callers, &stop);
        let t = Instant::now();
        let outcome = if during_build {
            let moment = first + (now - first) * fraction;
            let on = if callers == 1 { &index } else { &service };
            match on
                .search_as_of(&log, &filter, sort, 20, None, moment, now)
                .await
            {
                Ok(_) => "built".to_owned(),
                Err(e) => e.to_string(),
            }
        } else {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            "alone".to_owned()
        };
        let window = t.elapsed();
        stop.store(true, Ordering::Relaxed);
        let ms: Vec<f64> = running
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        println!(
            "live issue-3 search, {callers} caller(s), {} ({:.2} s; {outcome}): {}",
            if during_build {
                "during a build"
            } else {
                "alone"
            },
            window.as_secs_f64(),
            quantiles(ms)
        );
    }
    shutdown.cancel();
    let _ = feeding.await;
    drop((index, service, live, log));
    if std::env::var_os("RI_BENCH_KEEP").is_none() {
        drop_database(db).await;
    }
    let _ = std::process::Command::new("uptime").status();
}

/// Drops the bench's database (`RI_BENCH_KEEP=1` keeps it).
async fn drop_database(db: TestDb) {
    let TestDb {
        name, owner, app, ..
    } = db;
    owner.close().await;
    app.close().await;
    let server = PgPool::connect(&format!("{}/postgres", ri_testkit::server_url()))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&server)
    .await
    .unwrap();
    server.close().await;
}

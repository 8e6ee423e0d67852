//! Benchmark of every projection catching up a backlog (not a test): a mixed log of about
//! 50,000 events written through the real domain commands (tenants with their role grants,
//! projects with features and thresholds, watches created and changed among the instruments,
//! instruments drafted, tagged, scheduled, published, revised, re-tagged, some withdrawn or
//! archived, a few left as drafts), then each projection's `catch_up` from the start of the
//! log, timed alone.
//!
//! `cargo bench -p ri-projections --bench catch_up` (needs the local PostgreSQL; see
//! docs/performance.md). `RI_BENCH_EVENTS` changes the log's size (50,000), `RI_BENCH_BATCH`
//! the runner's batch (1,000, the service's default), `RI_BENCH_ONLY` names one projection.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ri_domain::Role;
use ri_domain::instrument::{
    CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentKind,
    InstrumentPatch, InstrumentServices, Schedule, SystemClock,
};
use ri_domain::project::{
    Acronym, Consortium, MatchThreshold, Project, ProjectCommand, ProjectDetails, Stage,
};
use ri_domain::tenant::{Tenant, TenantCommand, TenantKind, TenantProfile};
use ri_domain::values::{CountryCode, ShortText, Summary, Title};
use ri_domain::watch::{ReminderDays, Watch, WatchCommand, WatchFilter};
use ri_eventstore::EventLog;
use ri_projections::{ProjectionRunner, RunnerConfig};
use ri_taxonomy::{FEATURES, FeatureSet};
use ri_testkit::{TestDb, metadata, tenant};

const TENANTS: usize = 20;
const PROJECTS_PER_TENANT: usize = 10;
const WRITERS: usize = 4;
/// Events an instrument's life makes on average here (see `instrument_life`).
const EVENTS_PER_INSTRUMENT: usize = 7;
/// One watch created (or, every other time, changed) per this many instruments.
const INSTRUMENTS_PER_WATCH_EVENT: usize = 20;
const COUNTRIES: [&str; 10] = ["DE", "FR", "IT", "ES", "PL", "NL", "LT", "DK", "FI", "SE"];

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn slug(i: usize) -> String {
    format!("tenant-{i:02}")
}

fn country(rng: &mut StdRng) -> CountryCode {
    CountryCode::parse("country", COUNTRIES[rng.random_range(0..COUNTRIES.len())]).unwrap()
}

fn features(rng: &mut StdRng, n: usize) -> FeatureSet {
    let codes = (0..n)
        .map(|_| FEATURES[rng.random_range(0..FEATURES.len())].code)
        .collect::<Vec<_>>();
    FeatureSet::parse(codes).unwrap()
}

async fn tenants_and_projects(log: &EventLog, rng: &mut StdRng) {
    for t in 0..TENANTS {
        let s = slug(t);
        let commands = [
            TenantCommand::Register {
                slug: tenant(&s),
                profile: TenantProfile {
                    name: Title::parse("name", &format!("Cluster {t}")).unwrap(),
                    kind: TenantKind::AmbassadorCluster,
                    country: country(rng),
                    website: None,
                    domains: vec![],
                    member_count: None,
                },
            },
            TenantCommand::GrantRole {
                subject: "manager".into(),
                role: Role::FollowUpManager,
            },
            TenantCommand::GrantRole {
                subject: "curator".into(),
                role: Role::Curator,
            },
        ];
        for command in commands {
            log.execute::<Tenant>(&tenant(&s), &s, command, &metadata(&s), ())
                .await
                .unwrap();
        }
        for p in 0..PROJECTS_PER_TENANT {
            let id = format!("p-{t}-{p}");
            let commands = [
                ProjectCommand::Register {
                    tenant: tenant(&s),
                    details: ProjectDetails {
                        acronym: Acronym::parse("acronym", &format!("PRJ{t}X{p}")).unwrap(),
                        title: Title::parse("title", &format!("Project {t}-{p}")).unwrap(),
                        open_call: None,
                        stage: Some(Stage::Prototyping),
                        security_domain: None,
                        consortium: Consortium::default(),
                        lead_country: Some(country(rng)),
                        summary: Summary::parse("summary", "").unwrap(),
                    },
                },
                ProjectCommand::DeclareFeatures {
                    features: features(rng, 3),
                },
                ProjectCommand::SetMatchThreshold {
                    threshold: MatchThreshold::parse("threshold", 0.6).unwrap(),
                },
            ];
            for command in commands {
                log.execute::<Project>(&tenant(&s), &id, command, &metadata(&s), ())
                    .await
                    .unwrap();
            }
        }
    }
}

fn instrument_details(rng: &mut StdRng, n: usize) -> InstrumentDetails {
    InstrumentDetails {
        title: Title::parse("title", &format!("Call {n} for security technology")).unwrap(),
        kind: InstrumentKind::Call,
        cover_level: CoverLevel::National,
        countries: vec![country(rng)],
        programme: None,
        link: None,
        summary: Summary::parse("summary", "Grants for prototypes and demonstrators.").unwrap(),
        target_organisations: vec![],
        funding: None,
        periodicity: None,
        languages: vec![],
    }
}

/// Draft, tag, schedule, publish, two revisions, a re-tag (7 events); one in ten stays a
/// draft after tagging, one in five is then withdrawn, one in ten archived.
async fn instrument_life(log: &EventLog, rng: &mut StdRng, s: &str, n: usize) {
    let id = uuid::Uuid::new_v4().to_string();
    let services = || InstrumentServices {
        clock: Arc::new(SystemClock),
    };
    let run = |command| {
        let id = id.clone();
        async move {
            let done = log
                .execute::<FundingInstrument>(&tenant(s), &id, command, &metadata(s), services())
                .await;
            // A random re-tag may add nothing: refused, no event, as in the service.
            if let Err(e) = done
                && !matches!(e, cqrs_es::AggregateError::UserError(_))
            {
                panic!("{e:?}");
            }
        }
    };
    run(InstrumentCommand::Draft {
        tenant: tenant(s),
        details: instrument_details(rng, n),
    })
    .await;
    run(InstrumentCommand::TagFeatures {
        features: features(rng, 3),
    })
    .await;
    let fate = rng.random_range(0..10);
    if fate == 0 {
        return;
    }
    run(InstrumentCommand::SetSchedule {
        schedule: Schedule {
            opening_date: None,
            deadline: Some(time::OffsetDateTime::now_utc() + time::Duration::days(60)),
            time_zone: None,
        },
    })
    .await;
    run(InstrumentCommand::Publish).await;
    for round in 0..2 {
        run(InstrumentCommand::Revise {
            patch: InstrumentPatch {
                title: Some(
                    Title::parse(
                        "title",
                        &format!("Call {n} for security technology {round}"),
                    )
                    .unwrap(),
                ),
                ..InstrumentPatch::default()
            },
        })
        .await;
    }
    run(InstrumentCommand::TagFeatures {
        features: features(rng, 1),
    })
    .await;
    if fate <= 2 {
        run(InstrumentCommand::Withdraw {
            reason: ShortText::parse("reason", "budget cut").unwrap(),
        })
        .await;
    } else if fate == 3 {
        run(InstrumentCommand::Archive).await;
    }
}

async fn watch_event(log: &EventLog, rng: &mut StdRng, s: &str, writer: usize, k: usize) {
    let id = format!("w-{writer}-{}", k / 2);
    let command = if k.is_multiple_of(2) {
        WatchCommand::Create {
            owner: "seeker".into(),
            name: Title::parse("name", &format!("Watch {k}")).unwrap(),
            filter: WatchFilter {
                features: features(rng, 1),
                ..WatchFilter::default()
            },
            reminder_days: ReminderDays::default(),
            calendar_token_sha256: "0".repeat(64),
        }
    } else {
        WatchCommand::Update {
            by: "seeker".into(),
            name: None,
            filter: Some(WatchFilter {
                features: features(rng, 2),
                ..WatchFilter::default()
            }),
            reminder_days: None,
        }
    };
    let done = log
        .execute::<Watch>(&tenant(s), &id, command, &metadata(s), ())
        .await;
    if let Err(e) = done
        && !matches!(e, cqrs_es::AggregateError::UserError(_))
    {
        panic!("{e:?}");
    }
}

async fn write_log(log: &EventLog, events: usize) {
    let mut rng = StdRng::seed_from_u64(11);
    tenants_and_projects(log, &mut rng).await;
    let per_writer = events / EVENTS_PER_INSTRUMENT / WRITERS;
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let log = log.clone();
        writers.spawn(async move {
            let mut rng = StdRng::seed_from_u64(100 + w as u64);
            for n in 0..per_writer {
                let s = slug(rng.random_range(0..TENANTS));
                instrument_life(&log, &mut rng, &s, n).await;
                if n.is_multiple_of(INSTRUMENTS_PER_WATCH_EVENT) {
                    let k = n / INSTRUMENTS_PER_WATCH_EVENT;
                    watch_event(&log, &mut rng, &slug(w), w, k).await;
                }
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let events = env("RI_BENCH_EVENTS", 50_000);
    let batch_size = i64::try_from(env("RI_BENCH_BATCH", 1000)).unwrap();
    let only = std::env::var("RI_BENCH_ONLY").ok();
    let db = TestDb::new().await;
    let log = db.log_with(ri_domain::event_registry(), 20);
    let started = Instant::now();
    write_log(&log, events).await;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(log.pool())
        .await
        .unwrap();
    let by_type: Vec<(String, i64)> =
        sqlx::query_as("SELECT aggregate_type, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC")
            .fetch_all(log.pool())
            .await
            .unwrap();
    println!(
        "log: {total} events written in {:.1} s: {by_type:?}",
        started.elapsed().as_secs_f64()
    );
    // Every event visible to the readers before timing.
    ri_testkit::read_at_least(&log, usize::try_from(total).unwrap()).await;

    println!("| projection | events | seconds | events/s |");
    println!("|---|---:|---:|---:|");
    for projection in ri_projections::all() {
        if only.as_deref().is_some_and(|o| o != projection.name()) {
            continue;
        }
        let name = projection.name();
        let runner = ProjectionRunner::new(
            log.clone(),
            projection,
            RunnerConfig {
                batch_size,
                ..RunnerConfig::default()
            },
        );
        let started = Instant::now();
        let applied = runner.catch_up().await.unwrap();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "| {name} | {applied} | {seconds:.2} | {:.0} |",
            applied as f64 / seconds
        );
    }
    let (rows, notices, matches): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM notifications), \
             (SELECT coalesce(sum(cardinality(ids)), 0)::int8 FROM notifications), \
             (SELECT coalesce(sum(cardinality(watches)), 0)::int8 FROM watch_notified)",
    )
    .fetch_one(log.pool())
    .await
    .unwrap();
    println!(
        "watches made {notices} notifications in {rows} rows, and {matches} (watch, instrument) pairs announced"
    );
}

//! Poison events (issue 11): events an earlier version of the API stored, with instants no
//! read model can hold, written straight into the log as that API wrote them. Every projection
//! keeps running past them, live and in catch-up; the event is recorded in
//! `projection_failures` (position, error), counted and skipped; other tenants' work appears;
//! replay skips exactly what the live runner skipped. And a failure of the environment is
//! retried, not skipped.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use ri_domain::cluster::{
    AggregateRef, AreaCommand, AreaDomain, ClusterCommand, ClusterServices, EndUserArea,
    FeedbackWindow, ProjectCluster, ProjectRef, TimeZoneName, Venue,
};
use ri_domain::instrument::{
    CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentKind,
    InstrumentServices, Schedule, SystemClock,
};
use ri_domain::project::{Acronym, Consortium, Project, ProjectCommand, ProjectDetails};
use ri_domain::values::{CountryCode, ShortText, Summary, Title};
use ri_domain::watch::{ReminderDays, Watch, WatchCommand, WatchFilter};
use ri_eventstore::{EventLog, StoredEvent};
use ri_projections::streams::Streams;
use ri_projections::{
    Projection, ProjectionError, ProjectionFailure, ProjectionRunner, RunnerConfig, failures,
    replay,
};
use ri_testkit::{TestDb, metadata, read_at_least, tenant};
use serde_json::{Value, json};
use sqlx::PgConnection;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const ALPHA: &str = "alpha-cluster";
const BETA: &str = "beta-hub";
/// What `setInstrumentDeadline` accepted: year 10000 in UTC.
const POISON_DEADLINE: &str = "9999-12-31T23:59:59-23:59";
/// What `scheduleDemoEvent` accepted: its feedback window closes in year 10000.
const POISON_START: &str = "9999-12-31T12:00:00Z";

fn fast(batch_size: i64) -> RunnerConfig {
    RunnerConfig {
        batch_size,
        idle_poll: Duration::from_millis(20),
        takeover_poll: Duration::from_millis(100),
        lock_check: Duration::from_millis(200),
    }
}

/// A table's rows as sorted text, for exact comparison.
async fn dump(pool: &sqlx::PgPool, table: &str) -> String {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t"
    )))
    .fetch_one(pool)
    .await
    .unwrap()
}

fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| PrometheusBuilder::new().install_recorder().unwrap())
}

/// `ri_projection_failures_total{projection="<name>"}` as the exporter shows it.
fn failures_counted(name: &str) -> u64 {
    let prefix = format!("ri_projection_failures_total{{projection=\"{name}\"}} ");
    metrics()
        .render()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(|n| n.trim().parse().unwrap()))
        .unwrap_or(0)
}

fn title(s: &str) -> Title {
    Title::parse("title", s).unwrap()
}

fn aref(raw: &str) -> AggregateRef {
    AggregateRef::parse("id", raw).unwrap()
}

struct World {
    db: TestDb,
    log: EventLog,
}

impl World {
    async fn new() -> Self {
        metrics();
        let db = TestDb::new().await;
        let log = db.log_with(ri_domain::event_registry(), 5);
        World { db, log }
    }

    async fn instrument(&self, slug: &str, id: &str, command: InstrumentCommand) {
        let services = InstrumentServices {
            clock: Arc::new(SystemClock),
        };
        self.log
            .execute::<FundingInstrument>(&tenant(slug), id, command, &metadata(slug), services)
            .await
            .unwrap_or_else(|e| panic!("{id}: {e:?}"));
    }

    async fn draft(&self, slug: &str, id: &str) {
        let details = InstrumentDetails {
            title: title(&format!("Instrument {id}")),
            kind: InstrumentKind::Call,
            cover_level: CoverLevel::National,
            countries: vec![CountryCode::parse("countries", "LT").unwrap()],
            programme: None,
            link: None,
            summary: Summary::parse("summary", "").unwrap(),
            target_organisations: vec![],
            funding: None,
            periodicity: None,
            languages: vec![],
        };
        let tenant = tenant(slug);
        self.instrument(slug, id, InstrumentCommand::Draft { tenant, details })
            .await;
    }

    async fn project(&self, slug: &str, id: &str) {
        let details = ProjectDetails {
            acronym: Acronym::parse("acronym", &id.to_uppercase()).unwrap(),
            title: title(&format!("Project {id}")),
            open_call: None,
            stage: None,
            security_domain: None,
            consortium: Consortium::default(),
            lead_country: None,
            summary: Summary::parse("summary", "").unwrap(),
        };
        let command = ProjectCommand::Register {
            tenant: tenant(slug),
            details,
        };
        self.log
            .execute::<Project>(&tenant(slug), id, command, &metadata(slug), ())
            .await
            .unwrap();
    }

    async fn area(&self, slug: &str, id: &str) {
        let command = AreaCommand::Name {
            tenant: tenant(slug),
            name: title("Public event security"),
            domain: AreaDomain::PublicSpaceProtection,
            description: Summary::parse("description", "").unwrap(),
        };
        self.log
            .execute::<EndUserArea>(&tenant(slug), id, command, &metadata(slug), ())
            .await
            .unwrap();
    }

    async fn cluster(&self, command: ClusterCommand) {
        self.log
            .execute::<ProjectCluster>(
                &tenant(ALPHA),
                "c-1",
                command,
                &metadata(ALPHA),
                ClusterServices::default(),
            )
            .await
            .unwrap();
    }

    async fn watch(&self, slug: &str, id: &str) {
        let command = WatchCommand::Create {
            owner: "ben".into(),
            name: title("Everything"),
            filter: WatchFilter::default(),
            reminder_days: ReminderDays::default(),
            calendar_token_sha256: "0".repeat(64),
        };
        self.log
            .execute::<Watch>(&tenant(slug), id, command, &metadata(slug), ())
            .await
            .unwrap();
    }

    /// Appends a copy of the newest `event_type` event of the stream as the next event of that
    /// stream, its payload changed by `poison`: how an earlier API stored what it accepted.
    /// Returns its position.
    async fn append_poisoned(&self, event_type: &str, poison: impl FnOnce(&mut Value)) -> i64 {
        let (position, mut payload): (i64, Value) = sqlx::query_as(
            "SELECT position, payload FROM events WHERE event_type = $1 \
             ORDER BY position DESC LIMIT 1",
        )
        .bind(event_type)
        .fetch_one(&self.db.owner)
        .await
        .unwrap();
        poison(&mut payload);
        sqlx::query_scalar(
            "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, \
                 event_type, event_version, payload, metadata) \
             SELECT $1, t.tenant, t.aggregate_type, t.aggregate_id, \
                 (SELECT max(sequence) + 1 FROM events s WHERE s.tenant = t.tenant \
                    AND s.aggregate_type = t.aggregate_type AND s.aggregate_id = t.aggregate_id), \
                 t.event_type, t.event_version, $2, t.metadata \
             FROM events t WHERE t.position = $3 \
             RETURNING position",
        )
        .bind(Uuid::new_v4())
        .bind(&payload)
        .bind(position)
        .fetch_one(&self.db.owner)
        .await
        .unwrap()
    }

    /// ALPHA's draft, area, project and cluster with a demo event, all valid; then the two
    /// poison events. Returns (deadline poison, demo event poison) positions.
    async fn alpha_then_poison(&self) -> (i64, i64) {
        self.draft(ALPHA, "i-alpha").await;
        let deadline = OffsetDateTime::now_utc() + time::Duration::days(30);
        self.instrument(
            ALPHA,
            "i-alpha",
            InstrumentCommand::SetSchedule {
                schedule: Schedule::new(None, Some(deadline), None).unwrap(),
            },
        )
        .await;
        self.project(ALPHA, "p-alpha").await;
        self.area(ALPHA, "area-alpha").await;
        self.cluster(ClusterCommand::Form {
            tenant: tenant(ALPHA),
            area_id: aref("area-alpha"),
            name: title("Cluster"),
            description: Summary::parse("description", "").unwrap(),
        })
        .await;
        let project = ProjectRef {
            id: aref("p-alpha"),
            tenant: tenant(ALPHA),
            acronym: Acronym::parse("acronym", "P-ALPHA").unwrap(),
            shared: false,
        };
        self.cluster(ClusterCommand::AssignProject { project })
            .await;
        self.cluster(ClusterCommand::ScheduleDemoEvent {
            id: Uuid::from_u128(0xe1),
            title: title("Demo day"),
            starts_at: deadline,
            time_zone: TimeZoneName::parse("timeZone", "Europe/Vilnius").unwrap(),
            venue: Venue::new(Some(ShortText::parse("place", "Vilnius").unwrap()), None).unwrap(),
            agenda: vec![aref("p-alpha")],
            feedback_window: FeedbackWindow::default(),
        })
        .await;

        let deadline = self
            .append_poisoned("InstrumentScheduleSet", |p| {
                let new = &mut p["InstrumentScheduleSet"]["new"];
                assert!(new.get("deadline").is_some(), "payload shape: {p}");
                new["deadline"] = json!(POISON_DEADLINE);
            })
            .await;
        let demo = self
            .append_poisoned("DemoEventScheduled", |p| {
                let event = &mut p["DemoEventScheduled"]["event"];
                assert!(event.get("starts_at").is_some(), "payload shape: {p}");
                event["id"] = json!(Uuid::from_u128(0xe2));
                event["starts_at"] = json!(POISON_START);
            })
            .await;
        (deadline, demo)
    }

    /// BETA's work after the poison: a draft, a watch, a project, an end-user area.
    async fn beta_after_poison(&self) {
        self.draft(BETA, "i-beta").await;
        self.watch(BETA, "w-beta").await;
        self.project(BETA, "p-beta").await;
        self.area(BETA, "area-beta").await;
    }

    async fn head(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.db.owner)
            .await
            .unwrap()
    }

    async fn has(&self, table: &str, column: &str, value: &str) -> bool {
        sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} = $1)"
        )))
        .bind(value)
        .fetch_one(&self.db.owner)
        .await
        .unwrap()
    }

    async fn beta_work_is_visible(&self) -> bool {
        self.has("catalogue_instruments", "id", "i-beta").await
            && self.has("watches", "id", "w-beta").await
            && self.has("watch_instruments", "id", "i-beta").await
            && self.has("projects", "id", "p-beta").await
            && self.has("cluster_areas", "id", "area-beta").await
            && self.has("audit_entries", "aggregate_id", "area-beta").await
            && self
                .has("stream_summaries", "aggregate_id", "area-beta")
                .await
    }

    async fn failures(&self) -> Vec<ProjectionFailure> {
        failures(&self.db.app, None, 100).await.unwrap()
    }

    fn runner(&self, projection: Arc<dyn Projection>, batch_size: i64) -> ProjectionRunner {
        ProjectionRunner::new(self.log.clone(), projection, fast(batch_size))
    }
}

/// The failures the two poison events must leave, and nothing else: (projection, position).
fn expected_failures(deadline: i64, demo: i64) -> BTreeSet<(String, i64)> {
    [
        ("catalogue", deadline),
        ("watches", deadline),
        ("clusters", demo),
    ]
    .into_iter()
    .map(|(p, at)| (p.to_owned(), at))
    .collect()
}

fn recorded(failures: &[ProjectionFailure]) -> BTreeSet<(String, i64)> {
    failures
        .iter()
        .map(|f| (f.projection.clone(), f.position))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_events_are_recorded_and_skipped_and_replay_skips_the_same() {
    let w = World::new().await;
    let (deadline, demo) = w.alpha_then_poison().await;
    w.beta_after_poison().await;
    read_at_least(&w.log, usize::try_from(w.head().await).unwrap()).await;

    let counted_before = ["catalogue", "watches", "clusters"].map(failures_counted);
    // Batches of 1000 take the poison with its neighbours; batches of 2 nearly alone.
    for projection in ri_projections::all() {
        let name = projection.name();
        let applied = w.runner(projection, 1000).catch_up().await;
        assert!(applied.is_ok(), "{name} halted: {applied:?}");
    }
    assert!(
        w.beta_work_is_visible().await,
        "BETA's work after the poison"
    );

    let failures = w.failures().await;
    assert_eq!(recorded(&failures), expected_failures(deadline, demo));
    for f in &failures {
        assert_eq!(f.tenant, ALPHA);
        let what = if f.projection == "clusters" {
            "demo event start"
        } else {
            "deadline"
        };
        assert!(
            f.error.contains(what) && f.error.contains(&f.position.to_string()),
            "{f:?}"
        );
    }
    let counted_after = ["catalogue", "watches", "clusters"].map(failures_counted);
    for (before, after) in counted_before.iter().zip(&counted_after) {
        assert!(
            after > before,
            "counted: {counted_before:?} → {counted_after:?}"
        );
    }
    // The valid deadline stands; the demo event that would close in year 10000 is not there.
    let kept: Option<OffsetDateTime> =
        sqlx::query_scalar("SELECT deadline FROM catalogue_instruments WHERE id = 'i-alpha'")
            .fetch_one(&w.db.owner)
            .await
            .unwrap();
    assert!(kept.is_some_and(|d| d.year() < 9999), "{kept:?}");
    let demos: i64 = sqlx::query_scalar("SELECT count(*) FROM cluster_demo_events")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(demos, 1);

    for projection in ri_projections::all()
        .into_iter()
        .filter(|p| ["catalogue", "watches", "clusters"].contains(&p.name()))
    {
        let live = dump_tables(&w, projection.as_ref()).await;
        for batch in [1000, 2] {
            let report = replay(&w.log, &w.db.owner, projection.as_ref(), batch)
                .await
                .unwrap_or_else(|e| panic!("replay {} by {batch}: {e}", projection.name()));
            assert_eq!(report.failures, 1, "{} by {batch}", projection.name());
            assert_eq!(
                dump_tables(&w, projection.as_ref()).await,
                live,
                "replay of {} by {batch} equals live",
                projection.name()
            );
        }
    }
    assert_eq!(
        w.failures().await,
        failures,
        "one row per projection and event"
    );
}

async fn dump_tables(w: &World, projection: &dyn Projection) -> Vec<String> {
    let mut dumps = Vec::new();
    for table in projection.tables() {
        dumps.push(dump(&w.db.owner, table).await);
    }
    dumps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_runners_keep_running_past_poison_events() {
    let w = World::new().await;
    let shutdown = CancellationToken::new();
    let options = w.db.config.connect_options().unwrap();
    let runners = ri_projections::all()
        .into_iter()
        .map(|p| tokio::spawn(w.runner(p, 50).run(options.clone(), shutdown.clone())))
        .collect::<Vec<_>>();

    let (deadline, demo) = w.alpha_then_poison().await;
    w.beta_after_poison().await;

    let head: i64 = sqlx::query_scalar("SELECT max(position) FROM events")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let at_head: Vec<String> =
            sqlx::query_scalar("SELECT reader FROM reader_checkpoints WHERE position = $1")
                .bind(head)
                .fetch_all(&w.db.owner)
                .await
                .unwrap();
        if at_head.len() == ri_projections::all().len() && w.beta_work_is_visible().await {
            break;
        }
        assert!(
            Instant::now() < until,
            "only {at_head:?} reached the head {head}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        recorded(&w.failures().await),
        expected_failures(deadline, demo)
    );

    shutdown.cancel();
    for runner in runners {
        runner.await.unwrap();
    }
}

/// Streams, except that it panics on the events of one aggregate.
#[derive(Debug)]
struct PanicsOn(&'static str);

impl Projection for PanicsOn {
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
            Streams.apply(&mut *conn, events).await?;
            if events.iter().any(|e| e.aggregate_id == self.0) {
                panic!("a bug met {}", self.0);
            }
            Ok(())
        }
        .boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_projection_that_panics_on_an_event_skips_only_that_event() {
    let w = World::new().await;
    w.project(ALPHA, "p-1").await;
    w.project(ALPHA, "p-bug").await;
    w.project(BETA, "p-2").await;
    read_at_least(&w.log, 3).await;

    let applied = w.runner(Arc::new(PanicsOn("p-bug")), 100).catch_up().await;
    assert_eq!(applied.unwrap(), 3);
    let failures = w.failures().await;
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0].aggregate_id, "p-bug");
    assert_eq!(failures[0].projection, "streams");
    assert!(
        failures[0].error.contains("panicked: a bug met p-bug"),
        "{failures:?}"
    );
    // The panicking event's rows were rolled back; its neighbours' were kept.
    let streams: Vec<String> =
        sqlx::query_scalar("SELECT aggregate_id FROM stream_summaries ORDER BY aggregate_id")
            .fetch_all(&w.db.owner)
            .await
            .unwrap();
    assert_eq!(streams, ["p-1", "p-2"]);
}

/// Streams, except that its first apply terminates its own database connection.
#[derive(Debug, Default)]
struct TerminatesOnce(AtomicBool);

impl Projection for TerminatesOnce {
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
            Streams.apply(&mut *conn, events).await?;
            if !self.0.swap(true, Ordering::SeqCst) {
                sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
                    .execute(&mut *conn)
                    .await?;
            }
            Ok(())
        }
        .boxed()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_whose_connection_is_terminated_is_retried_not_skipped() {
    let w = World::new().await;
    w.project(ALPHA, "p-1").await;
    w.project(BETA, "p-2").await;
    read_at_least(&w.log, 2).await;

    let runner = w.runner(Arc::new(TerminatesOnce::default()), 100);
    let err = runner.catch_up().await.unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        w.failures().await.is_empty(),
        "a transient failure skips nothing"
    );
    let summaries: i64 = sqlx::query_scalar("SELECT count(*) FROM stream_summaries")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    assert_eq!(
        summaries, 0,
        "the batch was rolled back, checkpoint and all"
    );

    // Retried (as the live runner's follow loop does): everything applied, nothing skipped.
    assert_eq!(runner.catch_up().await.unwrap(), 2);
    assert!(w.failures().await.is_empty());
    let streams: Vec<String> =
        sqlx::query_scalar("SELECT aggregate_id FROM stream_summaries ORDER BY aggregate_id")
            .fetch_all(&w.db.owner)
            .await
            .unwrap();
    assert_eq!(streams, ["p-1", "p-2"]);
}

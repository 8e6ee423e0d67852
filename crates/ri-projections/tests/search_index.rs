//! The in-memory search index against the catalogue it stands in for (issue 12), on the real
//! PostgreSQL: a randomized history of real commands; the index loaded from a snapshot taken
//! while one projection lagged the other and then fed from the log; every public search (no
//! text: the index stems and forgives typos, the SQL search does neither) answered with the same
//! items in the same order, the same cursors and totals, and facets that equal the SQL search's
//! with that facet's own selection removed ("sideways").

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use ri_domain::instrument::{
    Clock, CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentKind,
    InstrumentPatch, InstrumentServices, InstrumentStatus, Schedule,
};
use ri_domain::tenant::{Tenant, TenantCommand, TenantKind, TenantProfile};
use ri_domain::values::{CountryCode, ShortText, Summary, Title};
use ri_eventstore::{Checkpoint, EventLog};
use ri_projections::catalogue::{
    self, FeatureMatch, InstrumentFilter, InstrumentPage, InstrumentSort, Viewer,
};
use ri_projections::{
    Catalogue, Projection, ProjectionRunner, RunnerConfig, SearchIndex, SearchIndexConfig, Tenants,
};
use ri_taxonomy::FeatureSet;
use ri_testkit::{TestDb, metadata, tenant};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio_util::sync::CancellationToken;

/// The aggregates' "now": deadlines between it and the real date read as closed to a search.
const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
const TENANTS: [&str; 3] = ["alpha-cluster", "beta-hub", "gamma-lab"];
const COUNTRIES: [&str; 5] = ["LT", "LV", "DE", "RO", "EE"];
const FEATURES: [&str; 8] = ["T1", "T2", "T15", "D2", "P3", "P12", "G2", "A1"];

#[derive(Debug)]
struct Fixed;

impl Clock for Fixed {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

fn services() -> InstrumentServices {
    InstrumentServices {
        clock: Arc::new(Fixed),
    }
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse("countries", code).unwrap()
}

fn some<T: Clone>(rng: &mut StdRng, from: &[T], most: usize) -> Vec<T> {
    let n = rng.random_range(1..=most);
    from.sample(rng, n).cloned().collect()
}

fn features(rng: &mut StdRng, most: usize) -> FeatureSet {
    FeatureSet::parse(some(rng, &FEATURES, most)).unwrap()
}

fn kind(rng: &mut StdRng) -> InstrumentKind {
    *[
        InstrumentKind::Call,
        InstrumentKind::Programme,
        InstrumentKind::StrategicDocument,
    ]
    .choose(rng)
    .unwrap()
}

fn cover(rng: &mut StdRng) -> CoverLevel {
    *[
        CoverLevel::Regional,
        CoverLevel::National,
        CoverLevel::Eu,
        CoverLevel::International,
    ]
    .choose(rng)
    .unwrap()
}

/// An instrument's details: a title, its kind, cover level and countries, nothing else.
fn details(
    title: &str,
    kind: InstrumentKind,
    cover: CoverLevel,
    countries: &[&str],
) -> InstrumentDetails {
    InstrumentDetails {
        title: Title::parse("title", title).unwrap(),
        kind,
        cover_level: cover,
        countries: countries.iter().map(|c| country(c)).collect(),
        programme: None,
        link: None,
        summary: Summary::parse("summary", "").unwrap(),
        target_organisations: vec![],
        funding: None,
        periodicity: None,
        languages: vec![],
    }
}

fn schedule(rng: &mut StdRng) -> Schedule {
    // 2025 to 2030, some before the aggregates' now, some between it and the real date.
    let deadline = (rng.random_ratio(9, 10)).then(|| {
        datetime!(2025-01-01 17:00 UTC) + Duration::from_secs(rng.random_range(0..6 * 365 * 86_400))
    });
    Schedule::new(None, deadline, Some("Europe/Vilnius")).unwrap()
}

struct World {
    db: TestDb,
    log: EventLog,
    rng: StdRng,
    made: usize,
}

impl World {
    async fn instrument(&self, slug: &str, id: &str, command: InstrumentCommand) {
        // A history at random: a command the aggregate refuses is simply not part of it.
        let _ = self
            .log
            .execute::<FundingInstrument>(&tenant(slug), id, command, &metadata(slug), services())
            .await;
    }

    async fn tenant(&self, slug: &str, command: TenantCommand) {
        self.log
            .execute::<Tenant>(&tenant(slug), slug, command, &metadata(slug), ())
            .await
            .unwrap();
    }

    /// `n` new instruments, most published, then `n` changes to instruments at random.
    async fn history(&mut self, n: usize) {
        for _ in 0..n {
            self.made += 1;
            let id = format!("i{:04}", self.made);
            let slug = *TENANTS.choose(&mut self.rng).unwrap();
            let countries = some(&mut self.rng, &COUNTRIES, 3);
            let (kind, cover) = (kind(&mut self.rng), cover(&mut self.rng));
            let details = details(&format!("Instrument {id}"), kind, cover, &countries);
            let draft = InstrumentCommand::Draft {
                tenant: tenant(slug),
                details,
            };
            self.instrument(slug, &id, draft).await;
            let tags = features(&mut self.rng, 4);
            self.instrument(slug, &id, InstrumentCommand::TagFeatures { features: tags })
                .await;
            let schedule = schedule(&mut self.rng);
            self.instrument(slug, &id, InstrumentCommand::SetSchedule { schedule })
                .await;
            if self.rng.random_ratio(4, 5) {
                self.instrument(slug, &id, InstrumentCommand::Publish).await;
            }
        }
        for _ in 0..n {
            let id = format!("i{:04}", self.rng.random_range(1..=self.made));
            let slug = *TENANTS.choose(&mut self.rng).unwrap();
            let command = match self.rng.random_range(0..9) {
                0 => InstrumentCommand::Revise {
                    patch: InstrumentPatch {
                        kind: Some(kind(&mut self.rng)),
                        cover_level: Some(cover(&mut self.rng)),
                        countries: Some(
                            some(&mut self.rng, &COUNTRIES, 2)
                                .iter()
                                .map(|c| country(c))
                                .collect(),
                        ),
                        ..InstrumentPatch::default()
                    },
                },
                1 => InstrumentCommand::TagFeatures {
                    features: features(&mut self.rng, 2),
                },
                2 => InstrumentCommand::UntagFeatures {
                    features: features(&mut self.rng, 2),
                },
                3 => InstrumentCommand::SetSchedule {
                    schedule: schedule(&mut self.rng),
                },
                4 => InstrumentCommand::Publish,
                5 => InstrumentCommand::Withdraw {
                    reason: ShortText::parse("reason", "cancelled").unwrap(),
                },
                6 => InstrumentCommand::Archive,
                7 => InstrumentCommand::Close,
                _ => InstrumentCommand::Reopen {
                    schedule: schedule(&mut self.rng),
                },
            };
            // Often the wrong tenant: the command is refused (another tenant's stream).
            self.instrument(slug, &id, command).await;
        }
    }

    async fn catch_up(&self, projection: Arc<dyn Projection>) {
        let config = RunnerConfig {
            batch_size: 17,
            ..RunnerConfig::default()
        };
        let runner = ProjectionRunner::new(self.log.clone(), projection, config);
        // Until every event written so far is visible and applied.
        let head = head(&self.log).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            runner.catch_up().await.unwrap();
            let at = Checkpoint::load(self.log.pool(), runner.name())
                .await
                .unwrap();
            if at >= head {
                return;
            }
            assert!(Instant::now() < deadline, "{} stuck at {at}", runner.name());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn profile(name: &str) -> TenantProfile {
    TenantProfile {
        name: Title::parse("name", name).unwrap(),
        kind: TenantKind::AmbassadorCluster,
        country: country("LT"),
        website: None,
        domains: vec![],
        member_count: None,
    }
}

async fn head(log: &EventLog) -> Checkpoint {
    let (tx, position): (String, i64) = sqlx::query_as(
        "SELECT tx_id::text, position FROM events ORDER BY tx_id DESC, position DESC LIMIT 1",
    )
    .fetch_one(log.pool())
    .await
    .unwrap();
    Checkpoint {
        tx_id: tx.parse().unwrap(),
        position,
    }
}

async fn reached(index: &SearchIndex, log: &EventLog) {
    let head = head(log).await;
    index
        .wait_for(head, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("the index did not catch up: {e}"));
}

fn random_filter(rng: &mut StdRng) -> InstrumentFilter {
    let maybe = |rng: &mut StdRng| rng.random_ratio(1, 2);
    let statuses = [
        InstrumentStatus::Open,
        InstrumentStatus::Closed,
        InstrumentStatus::Withdrawn,
        InstrumentStatus::Archived,
    ];
    InstrumentFilter {
        text: None,
        cover_levels: if maybe(rng) { vec![cover(rng)] } else { vec![] },
        countries: if maybe(rng) {
            some(rng, &COUNTRIES, 2)
                .iter()
                .map(|c| country(c))
                .collect()
        } else {
            vec![]
        },
        kinds: if maybe(rng) { vec![kind(rng)] } else { vec![] },
        features: if maybe(rng) {
            features(rng, 3)
        } else {
            FeatureSet::empty()
        },
        feature_match: if maybe(rng) {
            FeatureMatch::Any
        } else {
            FeatureMatch::All
        },
        statuses: if maybe(rng) {
            some(rng, &statuses, 3)
        } else {
            vec![]
        },
        deadline_from: rng
            .random_ratio(1, 4)
            .then_some(datetime!(2027-01-01 00:00 UTC)),
        deadline_to: rng
            .random_ratio(1, 4)
            .then_some(datetime!(2029-06-01 00:00 UTC)),
        tenant: rng
            .random_ratio(1, 4)
            .then(|| tenant(TENANTS.choose(rng).unwrap())),
    }
}

async fn sql(log: &EventLog, filter: &InstrumentFilter, sort: InstrumentSort) -> InstrumentPage {
    catalogue::search_instruments(log.pool(), &Viewer::anonymous(), filter, sort, 100, None)
        .await
        .unwrap()
}

/// The index's answer equals the SQL search's, facets sideways.
async fn same_answers(log: &EventLog, index: &SearchIndex, rng: &mut StdRng, searches: usize) {
    let now = OffsetDateTime::now_utc();
    let mut found = 0;
    for _ in 0..searches {
        let filter = random_filter(rng);
        for sort in [
            InstrumentSort::DeadlineSoonest,
            InstrumentSort::RecentlyUpdated,
        ] {
            let expected = sql(log, &filter, sort).await;
            assert!(index.answers(&filter));
            let got = index.search(&filter, sort, 100, None, now).unwrap();
            let ids = |p: &InstrumentPage| p.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&expected), "{filter:?} {sort:?}");
            assert_eq!(got.items, expected.items, "{filter:?}");
            assert_eq!(got.cursors, expected.cursors, "{filter:?}");
            assert_eq!(got.total_count, expected.total_count, "{filter:?}");
            found += got.items.len();

            // Sideways: each facet as the SQL search counts it without that facet's selection.
            let without = |f: &dyn Fn(&mut InstrumentFilter)| {
                let mut other = filter.clone();
                f(&mut other);
                other
            };
            // Features that must ALL match are counted within the result.
            let features = match filter.feature_match {
                FeatureMatch::All => expected.clone(),
                FeatureMatch::Any => {
                    sql(log, &without(&|f| f.features = FeatureSet::empty()), sort).await
                }
            };
            let countries = sql(log, &without(&|f| f.countries.clear()), sort).await;
            let covers = sql(log, &without(&|f| f.cover_levels.clear()), sort).await;
            let kinds = sql(log, &without(&|f| f.kinds.clear()), sort).await;
            assert_eq!(got.facets.features, features.facets.features, "{filter:?}");
            assert_eq!(
                got.facets.countries, countries.facets.countries,
                "{filter:?}"
            );
            assert_eq!(
                got.facets.cover_levels, covers.facets.cover_levels,
                "{filter:?}"
            );
            assert_eq!(got.facets.kinds, kinds.facets.kinds, "{filter:?}");
        }
    }
    assert!(
        found > searches,
        "the searches found too little to prove anything: {found}"
    );
}

/// Pages of 7 through the index's answer, cursor by cursor, are the SQL search's list.
fn pages(index: &SearchIndex, filter: &InstrumentFilter, sort: InstrumentSort) -> Vec<String> {
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = index
            .search(filter, sort, 7, after.as_deref(), now)
            .unwrap();
        ids.extend(page.items.iter().map(|i| i.id.clone()));
        if !page.has_next_page {
            return ids;
        }
        after = page.end_cursor;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_answers_every_public_search_as_the_catalogue_does() {
    let db = TestDb::new().await;
    let log = db.log_with(ri_domain::event_registry(), 20);
    let mut w = World {
        db,
        log: log.clone(),
        rng: StdRng::seed_from_u64(12),
        made: 0,
    };
    for (i, slug) in TENANTS.iter().enumerate() {
        let register = TenantCommand::Register {
            slug: tenant(slug),
            profile: profile(&format!("Cluster {i}")),
        };
        w.tenant(slug, register).await;
    }
    w.history(60).await;
    w.catch_up(Arc::new(Catalogue)).await;
    w.catch_up(Arc::new(Tenants)).await;

    // The tenant directory lags the catalogue when the index takes its snapshot: the rename is
    // read from the log, the catalogue's rows are not applied twice.
    w.tenant(
        TENANTS[0],
        TenantCommand::UpdateProfile {
            profile: profile("Alpha Renamed"),
        },
    )
    .await;
    w.history(40).await;
    w.catch_up(Arc::new(Catalogue)).await;

    let index = SearchIndex::new(SearchIndexConfig {
        idle_poll: Duration::from_millis(20),
        ..SearchIndexConfig::default()
    })
    .unwrap();
    let stop = CancellationToken::new();
    let feed = tokio::spawn({
        let (index, log, stop) = (index.clone(), log.clone(), stop.clone());
        async move { index.run(log, stop).await }
    });
    reached(&index, &log).await;
    assert!(index.is_ready());

    // Then the log moves on under the running feed.
    w.history(40).await;
    w.tenant(
        TENANTS[1],
        TenantCommand::Suspend {
            reason: ShortText::parse("reason", "unpaid").unwrap(),
        },
    )
    .await;
    w.catch_up(Arc::new(Catalogue)).await;
    w.catch_up(Arc::new(Tenants)).await;
    reached(&index, &log).await;

    let mut rng = StdRng::seed_from_u64(7);
    same_answers(&log, &index, &mut rng, 25).await;
    let renamed = index
        .search(
            &InstrumentFilter::default(),
            InstrumentSort::DeadlineSoonest,
            100,
            None,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert!(
        renamed
            .items
            .iter()
            .any(|i| i.tenant_name.as_deref() == Some("Alpha Renamed"))
    );
    assert!(renamed.items.iter().any(|i| i.tenant_suspended));

    for filter in [InstrumentFilter::default(), random_filter(&mut rng)] {
        for sort in [
            InstrumentSort::DeadlineSoonest,
            InstrumentSort::RecentlyUpdated,
        ] {
            let all = sql(&log, &filter, sort).await;
            let expected = all.items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
            assert_eq!(
                pages(&index, &filter, sort),
                expected,
                "{filter:?} {sort:?}"
            );
        }
    }

    // A search for drafts is not the index's to answer.
    let drafts = InstrumentFilter {
        statuses: vec![InstrumentStatus::Draft],
        ..InstrumentFilter::default()
    };
    assert!(!index.answers(&drafts));

    stop.cancel();
    feed.await.unwrap();
    w.db.app.close().await;
    w.db.owner.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_is_waited_for_and_a_position_never_reached_is_refused_in_time() {
    let db = TestDb::new().await;
    let log = db.log_with(ri_domain::event_registry(), 20);
    let index = SearchIndex::new(SearchIndexConfig {
        idle_poll: Duration::from_millis(50),
        ..SearchIndexConfig::default()
    })
    .unwrap();
    let stop = CancellationToken::new();
    let feed = tokio::spawn({
        let (index, log, stop) = (index.clone(), log.clone(), stop.clone());
        async move { index.run(log, stop).await }
    });
    let slug = TENANTS[0];
    let register = TenantCommand::Register {
        slug: tenant(slug),
        profile: profile("Alpha"),
    };
    log.execute::<Tenant>(&tenant(slug), slug, register, &metadata(slug), ())
        .await
        .unwrap();
    let mut rng = StdRng::seed_from_u64(3);
    let details = details(
        "Counter-drone pilots",
        InstrumentKind::Call,
        CoverLevel::Eu,
        &["LT"],
    );
    let draft = InstrumentCommand::Draft {
        tenant: tenant(slug),
        details,
    };
    for command in [
        draft,
        InstrumentCommand::SetSchedule {
            schedule: Schedule::new(None, Some(datetime!(2031-01-01 12:00 UTC)), None).unwrap(),
        },
        InstrumentCommand::TagFeatures {
            features: features(&mut rng, 2),
        },
    ] {
        log.execute::<FundingInstrument>(
            &tenant(slug),
            "c-1",
            command,
            &metadata(slug),
            services(),
        )
        .await
        .unwrap();
    }
    let published = log
        .execute_at::<FundingInstrument>(
            &tenant(slug),
            "c-1",
            InstrumentCommand::Publish,
            &metadata(slug),
            services(),
            None,
        )
        .await
        .unwrap();
    let at = published.committed.expect("a publication is an event");
    assert_eq!(published.version, 4);
    index.wait_for(at, Duration::from_secs(30)).await.unwrap();
    let page = index
        .search(
            &InstrumentFilter::default(),
            InstrumentSort::DeadlineSoonest,
            10,
            None,
            OffsetDateTime::now_utc(),
        )
        .unwrap();
    assert_eq!(
        page.items.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(),
        ["c-1"]
    );
    assert_eq!(page.facets.features.len(), page.items[0].features.len());
    let never = Checkpoint {
        tx_id: u64::MAX,
        position: 1,
    };
    let started = Instant::now();
    let refused = index.wait_for(never, Duration::from_millis(300)).await;
    assert!(refused.is_err());
    assert!(started.elapsed() < Duration::from_secs(10));

    stop.cancel();
    feed.await.unwrap();
    db.app.close().await;
    db.owner.close().await;
}

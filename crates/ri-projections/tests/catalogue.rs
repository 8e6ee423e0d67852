//! The catalogue, tenant directory and audit trail projections and their read API, against the
//! real PostgreSQL: real commands on the Tenant and FundingInstrument aggregates, the runner,
//! row-level security as the service role meets it, and replay.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::collections::BTreeSet;
use std::sync::Arc;

use ri_domain::instrument::{
    Clock, CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentKind,
    InstrumentPatch, InstrumentServices, InstrumentStatus, Periodicity, Schedule,
    TargetOrganisation,
};
use ri_domain::tenant::{Tenant, TenantCommand, TenantKind, TenantProfile, TenantStatus};
use ri_domain::values::{
    CountryCode, CurrencyCode, FundingRange, LanguageCode, Link, ShortText, Summary, Title,
};
use ri_domain::{Role, TenantSlug};
use ri_eventstore::EventLog;
use ri_projections::catalogue::{
    self, FeatureMatch, FieldChange, InstrumentFilter, InstrumentPage, InstrumentSort, ReadError,
    Viewer,
};
use ri_projections::{Audit, Catalogue, Projection, ProjectionRunner, RunnerConfig, replay};
use ri_taxonomy::{FeatureCode, FeatureSet};
use ri_testkit::{TestDb, metadata, read_at_least, tenant};
use sqlx::{AssertSqlSafe, PgPool};
use time::OffsetDateTime;
use time::macros::{date, datetime};

/// The aggregates' "now": before the real date, so that a call published then with a deadline
/// that has since passed shows how expired calls leave the search.
const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

const ALPHA: &str = "alpha-cluster";
const BETA: &str = "beta-hub";
const GAMMA: &str = "gamma-bulk";

/// How many instruments gamma publishes, to page through.
const BULK: usize = 25;

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

fn projections() -> Vec<Arc<dyn Projection>> {
    vec![
        Arc::new(Catalogue),
        Arc::new(ri_projections::Tenants),
        Arc::new(Audit),
    ]
}

fn codes(codes: &[&str]) -> FeatureSet {
    FeatureSet::parse(codes.iter().copied()).unwrap()
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse("countries", code).unwrap()
}

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

fn schedule(deadline: Option<OffsetDateTime>) -> Schedule {
    Schedule::new(
        Some(date!(2026 - 05 - 01)),
        deadline,
        Some("Europe/Vilnius"),
    )
    .unwrap()
}

struct World {
    db: TestDb,
    log: EventLog,
}

impl World {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let log = db.log_with(ri_domain::event_registry(), 20);
        World { db, log }
    }

    async fn instrument(&self, slug: &str, id: &str, command: InstrumentCommand) {
        self.log
            .execute::<FundingInstrument>(&tenant(slug), id, command, &metadata(slug), services())
            .await
            .unwrap_or_else(|e| panic!("{slug}/{id}: {e:?}"));
    }

    async fn tenant(&self, slug: &str, command: TenantCommand) {
        self.log
            .execute::<Tenant>(&tenant(slug), slug, command, &metadata(slug), ())
            .await
            .unwrap_or_else(|e| panic!("{slug}: {e:?}"));
    }

    /// Drafts, tags, schedules and (when asked) publishes an instrument.
    async fn publish(
        &self,
        slug: &str,
        id: &str,
        details: InstrumentDetails,
        features: &[&str],
        deadline: Option<OffsetDateTime>,
        publish: bool,
    ) {
        self.instrument(
            slug,
            id,
            InstrumentCommand::Draft {
                tenant: tenant(slug),
                details,
            },
        )
        .await;
        self.instrument(
            slug,
            id,
            InstrumentCommand::TagFeatures {
                features: codes(features),
            },
        )
        .await;
        if deadline.is_some() {
            self.instrument(
                slug,
                id,
                InstrumentCommand::SetSchedule {
                    schedule: schedule(deadline),
                },
            )
            .await;
        }
        if publish {
            self.instrument(slug, id, InstrumentCommand::Publish).await;
        }
    }

    /// Lets every event written so far become visible, then runs each projection over them in
    /// small batches (so that folds across batch boundaries are exercised).
    async fn project(&self) {
        let written: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.db.owner)
            .await
            .unwrap();
        read_at_least(&self.log, written as usize).await;
        for projection in projections() {
            let config = RunnerConfig {
                batch_size: 13,
                ..RunnerConfig::default()
            };
            ProjectionRunner::new(self.log.clone(), projection, config)
                .catch_up()
                .await
                .unwrap();
        }
    }

    fn pool(&self) -> &PgPool {
        &self.db.app
    }
}

fn profile(name: &str, country_code: &str) -> TenantProfile {
    TenantProfile {
        name: Title::parse("name", name).unwrap(),
        kind: TenantKind::AmbassadorCluster,
        country: country(country_code),
        website: Some(Link::parse("website", "https://cluster.example.eu").unwrap()),
        domains: vec![ShortText::parse("domains", "ICT").unwrap()],
        member_count: Some(12),
    }
}

/// Three tenants and their instruments:
/// - alpha: `border-call` (national call, LT, T1 D2, every detail), `cyber-prog` (EU
///   programme, T1, no deadline), `draft-call` (a draft), `expired-call` (published before its
///   deadline, which has passed since), `withdrawn-doc` (published, then withdrawn);
/// - beta: `maritime-call` (regional call, LV, D2 P3), and a draft that tries to take
///   `border-call`'s id;
/// - gamma: `BULK` programmes and calls tagged G2, with tied deadlines and none, to page through.
async fn world() -> World {
    let w = World::new().await;
    for (slug, name, c) in [
        (ALPHA, "Alpha Cluster", "LT"),
        (BETA, "Beta Hub", "RO"),
        (GAMMA, "Gamma Bulk", "EE"),
    ] {
        w.tenant(
            slug,
            TenantCommand::Register {
                slug: tenant(slug),
                profile: profile(name, c),
            },
        )
        .await;
    }

    let mut border = details(
        "Border security innovation call",
        InstrumentKind::Call,
        CoverLevel::National,
        &["LT"],
    );
    border.programme = Some(ShortText::parse("programme", "Horizon Europe").unwrap());
    border.summary =
        Summary::parse("summary", "Drones for surveillance of the land border").unwrap();
    border.link = Some(Link::parse("link", "https://ec.europa.eu/border").unwrap());
    border.target_organisations = vec![TargetOrganisation::Sme, TargetOrganisation::Startup];
    border.funding = Some(
        FundingRange::new(
            Some(10_000),
            Some(50_000),
            CurrencyCode::parse("currency", "EUR").unwrap(),
        )
        .unwrap(),
    );
    border.periodicity = Some(Periodicity::Annual);
    border.languages = vec![LanguageCode::parse("languages", "en").unwrap()];
    w.publish(
        ALPHA,
        "border-call",
        border,
        &["T1", "D2"],
        Some(datetime!(2035-03-01 17:00 +2)),
        true,
    )
    .await;

    let mut cyber = details(
        "Cybersecurity programme",
        InstrumentKind::Programme,
        CoverLevel::Eu,
        &[],
    );
    cyber.summary =
        Summary::parse("summary", "Cyber resilience of SMEs, border regions too").unwrap();
    w.publish(ALPHA, "cyber-prog", cyber, &["T1"], None, true)
        .await;

    w.publish(
        ALPHA,
        "draft-call",
        details(
            "Secret border draft",
            InstrumentKind::Call,
            CoverLevel::International,
            &[],
        ),
        &["T1"],
        Some(datetime!(2035-02-01 12:00 UTC)),
        false,
    )
    .await;
    w.publish(
        ALPHA,
        "expired-call",
        details(
            "Expired call",
            InstrumentKind::Call,
            CoverLevel::National,
            &["LT"],
        ),
        &["T2"],
        Some(datetime!(2026-09-01 12:00 UTC)),
        true,
    )
    .await;
    w.publish(
        ALPHA,
        "withdrawn-doc",
        details(
            "Strategy paper",
            InstrumentKind::StrategicDocument,
            CoverLevel::Eu,
            &[],
        ),
        &["G1"],
        None,
        true,
    )
    .await;
    w.instrument(
        ALPHA,
        "withdrawn-doc",
        InstrumentCommand::Withdraw {
            reason: ShortText::parse("reason", "superseded").unwrap(),
        },
    )
    .await;

    w.publish(
        BETA,
        "maritime-call",
        details(
            "Maritime surveillance",
            InstrumentKind::Call,
            CoverLevel::Regional,
            &["LV"],
        ),
        &["D2", "P3"],
        Some(datetime!(2035-01-15 12:00 UTC)),
        true,
    )
    .await;
    w.publish(
        BETA,
        "border-call",
        details("Impostor", InstrumentKind::Programme, CoverLevel::Eu, &[]),
        &["T1"],
        None,
        false,
    )
    .await;

    for i in 0..BULK {
        let (kind, deadline) = if i % 5 == 0 {
            (InstrumentKind::Programme, None)
        } else {
            let day = 1 + (i / 3) as u8;
            let at = datetime!(2036-01-01 12:00 UTC).replace_day(day).unwrap();
            (InstrumentKind::Call, Some(at))
        };
        let mut d = details(
            &format!("Bulk instrument {i:02}"),
            kind,
            CoverLevel::Eu,
            &[],
        );
        // Some rank higher for "bulk" than others; many tie.
        if i % 4 == 0 {
            d.summary = Summary::parse("summary", "bulk bulk").unwrap();
        }
        w.publish(GAMMA, &format!("bulk-{i:02}"), d, &["G2"], deadline, true)
            .await;
    }
    w.project().await;
    w
}

fn ids(page: &InstrumentPage) -> Vec<&str> {
    page.items.iter().map(|i| i.id.as_str()).collect()
}

fn sorted(mut ids: Vec<&str>) -> Vec<&str> {
    ids.sort_unstable();
    ids
}

async fn search(w: &World, viewer: &Viewer, filter: InstrumentFilter) -> InstrumentPage {
    catalogue::search_instruments(
        w.pool(),
        viewer,
        &filter,
        InstrumentSort::DeadlineSoonest,
        100,
        None,
    )
    .await
    .unwrap()
}

fn not_bulk() -> Vec<TenantSlug> {
    vec![tenant(ALPHA), tenant(BETA)]
}

/// Searches alpha's and beta's instruments (not gamma's bulk) under `filter`.
async fn search_ab(w: &World, filter: InstrumentFilter) -> Vec<String> {
    let mut found = Vec::new();
    for t in not_bulk() {
        let filter = InstrumentFilter {
            tenant: Some(t),
            ..filter.clone()
        };
        let page = search(w, &Viewer::anonymous(), filter).await;
        found.extend(page.items.into_iter().map(|i| i.id));
    }
    found.sort_unstable();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_by_every_criterion() {
    let w = world().await;
    let all = InstrumentFilter::default;

    // Open only by default: no draft, no withdrawn, no call whose deadline has passed.
    assert_eq!(
        search_ab(&w, all()).await,
        ["border-call", "cyber-prog", "maritime-call"]
    );
    let page = search(&w, &Viewer::anonymous(), all()).await;
    assert_eq!(page.total_count, 3 + BULK as i64);

    let text = |t: &str| InstrumentFilter {
        text: Some(t.to_owned()),
        ..all()
    };
    assert_eq!(
        search_ab(&w, text("border")).await,
        ["border-call", "cyber-prog"]
    );
    assert_eq!(search_ab(&w, text("BORDER -drones")).await, ["cyber-prog"]);
    assert_eq!(
        search_ab(&w, text("\"horizon europe\"")).await,
        ["border-call"]
    );
    assert_eq!(
        search_ab(&w, text("   ")).await.len(),
        3,
        "blank text filters nothing"
    );

    let cover = |c: Vec<CoverLevel>| InstrumentFilter {
        cover_levels: c,
        ..all()
    };
    assert_eq!(
        search_ab(&w, cover(vec![CoverLevel::National])).await,
        ["border-call"]
    );
    assert_eq!(
        search_ab(&w, cover(vec![CoverLevel::Regional, CoverLevel::Eu])).await,
        ["cyber-prog", "maritime-call"]
    );

    let countries = |c: &[&str]| InstrumentFilter {
        countries: c.iter().map(|c| country(c)).collect(),
        ..all()
    };
    assert_eq!(search_ab(&w, countries(&["LV"])).await, ["maritime-call"]);
    assert_eq!(
        search_ab(&w, countries(&["LT", "LV"])).await,
        ["border-call", "maritime-call"]
    );
    assert!(search_ab(&w, countries(&["DE"])).await.is_empty());

    let kinds = InstrumentFilter {
        kinds: vec![InstrumentKind::Programme],
        ..all()
    };
    assert_eq!(search_ab(&w, kinds).await, ["cyber-prog"]);

    let features = |f: &[&str], m: FeatureMatch| InstrumentFilter {
        features: codes(f),
        feature_match: m,
        ..all()
    };
    assert_eq!(
        search_ab(&w, features(&["T1", "P3"], FeatureMatch::Any)).await,
        ["border-call", "cyber-prog", "maritime-call"]
    );
    assert!(
        search_ab(&w, features(&["T1", "P3"], FeatureMatch::All))
            .await
            .is_empty()
    );
    assert_eq!(
        search_ab(&w, features(&["T1", "D2"], FeatureMatch::All)).await,
        ["border-call"]
    );
    assert_eq!(
        search_ab(&w, features(&["D2"], FeatureMatch::All)).await,
        ["border-call", "maritime-call"]
    );

    let statuses = |s: Vec<InstrumentStatus>| InstrumentFilter {
        statuses: s,
        ..all()
    };
    assert_eq!(
        search_ab(&w, statuses(vec![InstrumentStatus::Withdrawn])).await,
        ["withdrawn-doc"]
    );
    // The expired call was never closed by a command, yet it counts as closed.
    assert_eq!(
        search_ab(&w, statuses(vec![InstrumentStatus::Closed])).await,
        ["expired-call"]
    );
    let closed = search(
        &w,
        &Viewer::anonymous(),
        statuses(vec![InstrumentStatus::Closed]),
    )
    .await;
    assert_eq!(closed.items[0].status, InstrumentStatus::Closed);
    assert_eq!(
        search_ab(
            &w,
            statuses(vec![InstrumentStatus::Open, InstrumentStatus::Withdrawn])
        )
        .await,
        [
            "border-call",
            "cyber-prog",
            "maritime-call",
            "withdrawn-doc"
        ]
    );
    assert!(
        search_ab(&w, statuses(vec![InstrumentStatus::Draft]))
            .await
            .is_empty(),
        "the public sees no draft"
    );

    let range = InstrumentFilter {
        deadline_from: Some(datetime!(2035-01-01 00:00 UTC)),
        deadline_to: Some(datetime!(2035-02-01 00:00 UTC)),
        ..all()
    };
    assert_eq!(search_ab(&w, range).await, ["maritime-call"]);
    let from = InstrumentFilter {
        deadline_from: Some(datetime!(2035-01-16 00:00 UTC)),
        tenant: Some(tenant(ALPHA)),
        ..all()
    };
    assert_eq!(
        ids(&search(&w, &Viewer::anonymous(), from).await),
        ["border-call"]
    );

    let beta = InstrumentFilter {
        tenant: Some(tenant(BETA)),
        ..all()
    };
    let page = search(&w, &Viewer::anonymous(), beta).await;
    assert_eq!(ids(&page), ["maritime-call"]);
    assert_eq!(page.total_count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_carry_every_column_and_sorts_and_facets_follow_the_filter() {
    let w = world().await;
    let anonymous = Viewer::anonymous();

    let border = catalogue::instrument(w.pool(), &anonymous, "border-call")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        border.tenant,
        tenant(ALPHA),
        "the first tenant keeps the id"
    );
    assert_eq!(border.tenant_name.as_deref(), Some("Alpha Cluster"));
    assert!(!border.tenant_suspended);
    assert_eq!(border.version, 4);
    assert_eq!(border.status, InstrumentStatus::Open);
    assert_eq!(border.title, "Border security innovation call");
    assert_eq!(border.kind, InstrumentKind::Call);
    assert_eq!(border.cover_level, CoverLevel::National);
    assert_eq!(border.countries, [country("LT")]);
    assert_eq!(border.programme.as_deref(), Some("Horizon Europe"));
    assert_eq!(border.link.as_deref(), Some("https://ec.europa.eu/border"));
    assert_eq!(border.summary, "Drones for surveillance of the land border");
    assert_eq!(
        border.target_organisations,
        [TargetOrganisation::Sme, TargetOrganisation::Startup]
    );
    let funding = border.funding.clone().unwrap();
    assert_eq!(
        (funding.min, funding.max, funding.currency.as_str()),
        (Some(10_000), Some(50_000), "EUR")
    );
    assert_eq!(border.periodicity, Some(Periodicity::Annual));
    assert_eq!(border.languages, [LanguageCode::parse("l", "en").unwrap()]);
    assert_eq!(border.features, codes(&["T1", "D2"]));
    assert_eq!(border.opening_date, Some(date!(2026 - 05 - 01)));
    assert_eq!(border.deadline, Some(datetime!(2035-03-01 15:00 UTC)));
    assert_eq!(border.time_zone.as_deref(), Some("Europe/Vilnius"));
    assert!(border.drafted_at < border.updated_at);
    assert_eq!(border.published_at, Some(border.updated_at));

    // Sorts, over the three open instruments with T1 or P3.
    let filter = InstrumentFilter {
        features: codes(&["T1", "P3"]),
        ..InstrumentFilter::default()
    };
    let sorted_by = |sort| {
        let filter = filter.clone();
        let pool = w.pool().clone();
        async move {
            catalogue::search_instruments(&pool, &Viewer::anonymous(), &filter, sort, 10, None)
                .await
                .unwrap()
        }
    };
    let soonest = sorted_by(InstrumentSort::DeadlineSoonest).await;
    assert_eq!(
        ids(&soonest),
        ["maritime-call", "border-call", "cyber-prog"],
        "no deadline last"
    );
    assert_eq!(
        ids(&sorted_by(InstrumentSort::Relevance).await),
        ids(&soonest),
        "relevance without a text is deadline order"
    );
    w.instrument(
        ALPHA,
        "cyber-prog",
        InstrumentCommand::Revise {
            patch: InstrumentPatch {
                periodicity: Some(Some(Periodicity::Continuous)),
                ..InstrumentPatch::default()
            },
        },
    )
    .await;
    w.project().await;
    let recent = sorted_by(InstrumentSort::RecentlyUpdated).await;
    assert_eq!(recent.items[0].id, "cyber-prog");
    assert!(
        recent
            .items
            .windows(2)
            .all(|p| p[0].updated_at >= p[1].updated_at)
    );

    let relevant = catalogue::search_instruments(
        w.pool(),
        &anonymous,
        &InstrumentFilter {
            text: Some("border".into()),
            ..InstrumentFilter::default()
        },
        InstrumentSort::Relevance,
        10,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        ids(&relevant),
        ["border-call", "cyber-prog"],
        "a title match ranks first"
    );

    // Facets count the whole result under the filter, not the page.
    let page = catalogue::search_instruments(
        w.pool(),
        &anonymous,
        &filter,
        InstrumentSort::DeadlineSoonest,
        1,
        None,
    )
    .await
    .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.total_count, 3);
    let f = |c: &str| c.parse::<FeatureCode>().unwrap();
    assert_eq!(
        page.facets.features,
        [(f("T1"), 2), (f("D2"), 2), (f("P3"), 1)]
    );
    assert_eq!(
        page.facets.countries,
        [("LT".to_owned(), 1), ("LV".to_owned(), 1)]
    );
    assert_eq!(
        page.facets.cover_levels,
        [
            (CoverLevel::Eu, 1),
            (CoverLevel::National, 1),
            (CoverLevel::Regional, 1)
        ]
    );
    assert_eq!(
        page.facets.kinds,
        [(InstrumentKind::Call, 2), (InstrumentKind::Programme, 1)]
    );
    let empty = catalogue::search_instruments(
        w.pool(),
        &anonymous,
        &InstrumentFilter {
            countries: vec![country("DE")],
            ..InstrumentFilter::default()
        },
        InstrumentSort::DeadlineSoonest,
        10,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (empty.total_count, empty.end_cursor, empty.has_next_page),
        (0, None, false)
    );
    assert!(empty.facets.features.is_empty() && empty.facets.kinds.is_empty());

    // A suspended tenant's instruments stay, marked.
    w.tenant(
        BETA,
        TenantCommand::Suspend {
            reason: ShortText::parse("reason", "unpaid").unwrap(),
        },
    )
    .await;
    w.project().await;
    let maritime = catalogue::instrument(w.pool(), &anonymous, "maritime-call")
        .await
        .unwrap()
        .unwrap();
    assert!(maritime.tenant_suspended);
}

/// Pages through `filter` under `sort`, `first` at a time; returns the ids in order.
async fn all_pages(
    w: &World,
    filter: &InstrumentFilter,
    sort: InstrumentSort,
    first: u32,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = catalogue::search_instruments(
            w.pool(),
            &Viewer::anonymous(),
            filter,
            sort,
            first,
            after.as_deref(),
        )
        .await
        .unwrap();
        assert!(page.items.len() <= first as usize);
        assert_eq!(page.total_count, BULK as i64);
        seen.extend(page.items.iter().map(|i| i.id.clone()));
        if !page.has_next_page {
            return seen;
        }
        assert_eq!(
            page.items.len(),
            first as usize,
            "a full page before the last"
        );
        after = page.end_cursor;
        assert!(after.is_some());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_cover_the_result_without_duplicates_or_gaps() {
    let w = world().await;
    let gamma = InstrumentFilter {
        tenant: Some(tenant(GAMMA)),
        ..InstrumentFilter::default()
    };
    let text = InstrumentFilter {
        text: Some("bulk".into()),
        ..gamma.clone()
    };
    for (filter, sort) in [
        (&gamma, InstrumentSort::DeadlineSoonest),
        (&gamma, InstrumentSort::RecentlyUpdated),
        (&text, InstrumentSort::Relevance),
    ] {
        let whole =
            catalogue::search_instruments(w.pool(), &Viewer::anonymous(), filter, sort, 100, None)
                .await
                .unwrap();
        assert!(!whole.has_next_page);
        let whole = ids(&whole)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        assert_eq!(whole.len(), BULK);
        for first in [1, 4, 7] {
            let paged = all_pages(&w, filter, sort, first).await;
            assert_eq!(paged, whole, "{sort:?} by {first}");
            let distinct = paged.iter().collect::<BTreeSet<_>>();
            assert_eq!(distinct.len(), BULK, "no duplicates");
        }
    }
    // Ties on the deadline are broken by id, and no deadline comes last.
    let soonest = all_pages(&w, &gamma, InstrumentSort::DeadlineSoonest, 5).await;
    assert_eq!(&soonest[..3], ["bulk-01", "bulk-02", "bulk-03"]);
    assert_eq!(
        soonest[BULK - 5..],
        ["bulk-00", "bulk-05", "bulk-10", "bulk-15", "bulk-20"]
    );
    // Higher rank first: the ones whose summary repeats the word.
    let relevant = all_pages(&w, &text, InstrumentSort::Relevance, 5).await;
    assert_eq!(
        sorted(relevant[..7].iter().map(String::as_str).collect()),
        [
            "bulk-00", "bulk-04", "bulk-08", "bulk-12", "bulk-16", "bulk-20", "bulk-24"
        ]
    );

    // `first` is capped; zero gives the count alone.
    let none = catalogue::search_instruments(
        w.pool(),
        &Viewer::anonymous(),
        &gamma,
        InstrumentSort::DeadlineSoonest,
        0,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (none.items.len(), none.total_count, none.has_next_page),
        (0, BULK as i64, true)
    );
    let capped = catalogue::search_instruments(
        w.pool(),
        &Viewer::anonymous(),
        &InstrumentFilter::default(),
        InstrumentSort::DeadlineSoonest,
        10_000,
        None,
    )
    .await
    .unwrap();
    assert_eq!(capped.items.len(), 3 + BULK);

    // A cursor is opaque, and only fits the order that made it.
    let first = catalogue::search_instruments(
        w.pool(),
        &Viewer::anonymous(),
        &gamma,
        InstrumentSort::DeadlineSoonest,
        2,
        None,
    )
    .await
    .unwrap();
    let cursor = first.end_cursor.unwrap();
    for (sort, after) in [
        (InstrumentSort::RecentlyUpdated, cursor.as_str()),
        (InstrumentSort::DeadlineSoonest, "not-a-cursor"),
        (InstrumentSort::DeadlineSoonest, "7b7d"),
    ] {
        let err = catalogue::search_instruments(
            w.pool(),
            &Viewer::anonymous(),
            &gamma,
            sort,
            2,
            Some(after),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(err, ReadError::BadInput { field: "after", .. }),
            "{err}"
        );
    }
    let err = catalogue::audit_trail(
        w.pool(),
        &Viewer::member_of(tenant(ALPHA)),
        "border-call",
        2,
        Some(&cursor),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ReadError::BadInput { field: "after", .. }),
        "{err}"
    );
}

/// Rows of `sql` that the service role sees with `app.tenant` set to `slug`.
async fn count_as(w: &World, slug: Option<&str>, sql: &str) -> i64 {
    let mut tx = w.db.app.begin().await.unwrap();
    if let Some(slug) = slug {
        sqlx::query("SELECT set_config('app.tenant', $1, true)")
            .bind(slug)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let n = sqlx::query_scalar(AssertSqlSafe(sql.to_owned()))
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drafts_and_audit_entries_stay_with_their_tenant() {
    let w = world().await;
    let drafts = "SELECT count(*) FROM catalogue_instruments WHERE status = 'DRAFT'";
    // The service role, straight at the table: row-level security, not the query, decides.
    assert_eq!(
        count_as(
            &w,
            Some(BETA),
            "SELECT count(*) FROM catalogue_instruments WHERE id = 'draft-call'"
        )
        .await,
        0
    );
    assert_eq!(count_as(&w, Some(BETA), drafts).await, 0);
    assert_eq!(count_as(&w, Some(""), drafts).await, 0);
    assert_eq!(count_as(&w, None, drafts).await, 0);
    assert_eq!(count_as(&w, Some(ALPHA), drafts).await, 1);
    let alpha_audit = "SELECT count(*) FROM audit_entries WHERE tenant = 'alpha-cluster'";
    assert_eq!(count_as(&w, Some(BETA), alpha_audit).await, 0);
    assert_eq!(
        count_as(&w, None, "SELECT count(*) FROM audit_entries").await,
        0
    );
    assert!(count_as(&w, Some(ALPHA), alpha_audit).await > 0);
    // Nor can it write without being a projector.
    let mut tx = w.db.app.begin().await.unwrap();
    let updated = sqlx::query("UPDATE catalogue_instruments SET title = 'x'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let refused = sqlx::query(
        "INSERT INTO audit_entries VALUES (0, 'beta-hub', 'x', 'x', 1, 'x', 'x', now(), '[]', NULL)",
    )
    .execute(&mut *tx)
    .await;
    assert!(refused.is_err(), "row-level security refuses the insert");
    drop(tx);

    // The read API, for each viewer.
    let alpha = Viewer::member_of(tenant(ALPHA));
    let beta = Viewer::member_of(tenant(BETA));
    let admin = Viewer {
        tenant: Some(tenant(BETA)),
        platform_admin: true,
    };
    for (viewer, sees) in [
        (&Viewer::anonymous(), false),
        (&beta, false),
        (&alpha, true),
        (&admin, true),
    ] {
        let draft = catalogue::instrument(w.pool(), viewer, "draft-call")
            .await
            .unwrap();
        assert_eq!(draft.is_some(), sees, "{viewer:?}");
        let page = catalogue::search_instruments(
            w.pool(),
            viewer,
            &InstrumentFilter {
                statuses: vec![InstrumentStatus::Draft],
                tenant: Some(tenant(ALPHA)),
                ..InstrumentFilter::default()
            },
            InstrumentSort::DeadlineSoonest,
            10,
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            ids(&page),
            if sees { vec!["draft-call"] } else { vec![] },
            "{viewer:?}"
        );
        assert_eq!(page.total_count, i64::from(sees));
        let trail = catalogue::audit_trail(w.pool(), viewer, "draft-call", 10, None)
            .await
            .unwrap();
        assert_eq!(trail.items.is_empty(), !sees, "{viewer:?}");
    }
    let draft = catalogue::instrument(w.pool(), &alpha, "draft-call")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(draft.status, InstrumentStatus::Draft);
    // Published instruments are everyone's.
    assert!(
        catalogue::instrument(w.pool(), &beta, "border-call")
            .await
            .unwrap()
            .is_some()
    );
    // The impostor's draft under border-call's id reaches neither the catalogue nor alpha's
    // trail; beta sees its own history.
    let beta_trail = catalogue::audit_trail(w.pool(), &beta, "border-call", 10, None)
        .await
        .unwrap();
    assert!(beta_trail.items.iter().all(|e| e.tenant == BETA));
    assert_eq!(beta_trail.total_count, 2);
}

fn change(field: &str, old: Option<&str>, new: Option<&str>) -> FieldChange {
    FieldChange {
        field: field.to_owned(),
        old: old.map(str::to_owned),
        new: new.map(str::to_owned),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_entries_carry_old_and_new_values() {
    let w = world().await;
    let id = "border-call";
    w.instrument(
        ALPHA,
        id,
        InstrumentCommand::SetSchedule {
            schedule: schedule(Some(datetime!(2035-03-15 17:00 +2))),
        },
    )
    .await;
    w.instrument(
        ALPHA,
        id,
        InstrumentCommand::Revise {
            patch: InstrumentPatch {
                title: Some(Title::parse("title", "Border innovation call").unwrap()),
                countries: Some(vec![country("LT"), country("LV")]),
                funding: Some(None),
                ..InstrumentPatch::default()
            },
        },
    )
    .await;
    w.instrument(
        ALPHA,
        id,
        InstrumentCommand::Withdraw {
            reason: ShortText::parse("reason", "budget cut").unwrap(),
        },
    )
    .await;
    w.instrument(ALPHA, id, InstrumentCommand::Publish).await;
    w.instrument(
        ALPHA,
        id,
        InstrumentCommand::UntagFeatures {
            features: codes(&["D2"]),
        },
    )
    .await;
    w.instrument(ALPHA, id, InstrumentCommand::Archive).await;
    w.project().await;

    let alpha = Viewer::member_of(tenant(ALPHA));
    let trail = catalogue::audit_trail(w.pool(), &alpha, id, 100, None)
        .await
        .unwrap();
    assert_eq!(trail.total_count, 10);
    assert!(!trail.has_next_page);
    let e = &trail.items;
    assert_eq!(
        e.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>(),
        "oldest first"
    );
    assert!(e.iter().all(|e| e.actor == "tester" && e.tenant == ALPHA));
    assert_eq!(e[0].event_type, "InstrumentDrafted");
    assert_eq!(
        e[0].summary.as_deref(),
        Some("drafted \"Border security innovation call\"")
    );
    assert!(e[0].changes.contains(&change(
        "title",
        None,
        Some("Border security innovation call")
    )));
    assert!(
        e[0].changes
            .contains(&change("funding", None, Some("10000–50000 EUR")))
    );
    assert!(
        e[0].changes
            .contains(&change("status", None, Some("DRAFT")))
    );
    assert_eq!(e[1].changes, [change("features", None, Some("T1, D2"))]);
    assert_eq!(e[1].summary.as_deref(), Some("features added: T1, D2"));
    assert_eq!(
        e[2].summary.as_deref(),
        Some(
            "opening date moved from none to 2026-05-01; deadline moved from none to 2035-03-01; \
              time zone changed from none to Europe/Vilnius"
        )
    );
    assert_eq!(
        e[3].changes,
        [change("status", Some("DRAFT"), Some("OPEN"))]
    );
    assert_eq!(e[3].summary.as_deref(), Some("published"));
    assert_eq!(e[4].event_type, "InstrumentScheduleSet");
    assert_eq!(
        e[4].changes,
        [change(
            "deadline",
            Some("2035-03-01T17:00:00+02:00"),
            Some("2035-03-15T17:00:00+02:00")
        )]
    );
    assert_eq!(
        e[4].summary.as_deref(),
        Some("deadline moved from 2035-03-01 to 2035-03-15")
    );
    assert_eq!(
        e[5].changes,
        [
            change(
                "title",
                Some("Border security innovation call"),
                Some("Border innovation call")
            ),
            change("countries", Some("LT"), Some("LT, LV")),
            change("funding", Some("10000–50000 EUR"), None),
        ]
    );
    assert_eq!(
        e[5].summary.as_deref(),
        Some("revised title, countries, funding")
    );
    assert_eq!(
        e[6].changes,
        [change("status", Some("OPEN"), Some("WITHDRAWN"))]
    );
    assert_eq!(e[6].summary.as_deref(), Some("withdrawn: budget cut"));
    assert_eq!(
        e[7].changes,
        [change("status", Some("WITHDRAWN"), Some("OPEN"))]
    );
    assert_eq!(e[8].changes, [change("features", Some("D2"), None)]);
    assert_eq!(e[8].summary.as_deref(), Some("features removed: D2"));
    assert_eq!(
        e[9].changes,
        [change("status", Some("OPEN"), Some("ARCHIVED"))]
    );

    // Pages of the trail.
    let first = catalogue::audit_trail(w.pool(), &alpha, id, 4, None)
        .await
        .unwrap();
    assert!(first.has_next_page);
    let rest = catalogue::audit_trail(w.pool(), &alpha, id, 100, first.end_cursor.as_deref())
        .await
        .unwrap();
    let paged = first
        .items
        .iter()
        .chain(&rest.items)
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(paged, trail.items);

    // The catalogue agrees: archived, out of the search.
    let row = catalogue::instrument(w.pool(), &alpha, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.status, row.version), (InstrumentStatus::Archived, 10));
    assert_eq!(row.features, codes(&["T1"]));
    assert_eq!(row.countries, [country("LT"), country("LV")]);
    assert_eq!(row.funding, None);

    // The tenant's history too.
    w.tenant(
        ALPHA,
        TenantCommand::GrantRole {
            subject: "ana".into(),
            role: Role::Curator,
        },
    )
    .await;
    let mut bigger = profile("Alpha Cluster", "LT");
    bigger.member_count = Some(15);
    w.tenant(ALPHA, TenantCommand::UpdateProfile { profile: bigger })
        .await;
    w.project().await;
    let trail = catalogue::audit_trail(w.pool(), &alpha, ALPHA, 10, None)
        .await
        .unwrap();
    let summaries = trail
        .items
        .iter()
        .map(|e| e.summary.clone().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(
        summaries,
        [
            "registered \"Alpha Cluster\"",
            "granted curator to ana",
            "profile changed: member count"
        ]
    );
    assert_eq!(
        trail.items[1].changes,
        [change("roles of ana", None, Some("curator"))]
    );
    assert_eq!(
        trail.items[2].changes,
        [change("member_count", Some("12"), Some("15"))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tenant_directory_lists_tenants_and_their_roles() {
    let w = world().await;
    for (subject, role) in [
        ("ana", Role::Curator),
        ("ana", Role::TenantAdmin),
        ("bob", Role::Curator),
    ] {
        w.tenant(
            ALPHA,
            TenantCommand::GrantRole {
                subject: subject.into(),
                role,
            },
        )
        .await;
    }
    w.tenant(
        ALPHA,
        TenantCommand::RevokeRole {
            subject: "bob".into(),
            role: Role::Curator,
        },
    )
    .await;
    w.tenant(
        BETA,
        TenantCommand::Suspend {
            reason: ShortText::parse("reason", "unpaid").unwrap(),
        },
    )
    .await;
    w.project().await;

    let all = catalogue::tenants(w.pool()).await.unwrap();
    assert_eq!(
        all.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["Alpha Cluster", "Beta Hub", "Gamma Bulk"]
    );
    let alpha = catalogue::tenant(w.pool(), &tenant(ALPHA))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alpha.slug, tenant(ALPHA));
    assert_eq!(alpha.kind, TenantKind::AmbassadorCluster);
    assert_eq!(alpha.country, country("LT"));
    assert_eq!(
        alpha.website.as_deref(),
        Some("https://cluster.example.eu/")
    );
    assert_eq!(alpha.domains, ["ICT"]);
    assert_eq!(alpha.member_count, Some(12));
    assert_eq!(alpha.status, TenantStatus::Active);
    assert_eq!(alpha.version, 5);
    assert!(alpha.registered_at < alpha.updated_at);
    let beta = catalogue::tenant(w.pool(), &tenant(BETA))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(beta.status, TenantStatus::Suspended);
    assert!(
        catalogue::tenant(w.pool(), &tenant("nobody"))
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(
        catalogue::roles_of(w.pool(), &tenant(ALPHA), "ana")
            .await
            .unwrap(),
        [Role::Curator, Role::TenantAdmin]
    );
    assert!(
        catalogue::roles_of(w.pool(), &tenant(ALPHA), "bob")
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        catalogue::roles_of(w.pool(), &tenant(BETA), "ana")
            .await
            .unwrap()
            .is_empty()
    );
}

/// A projection's tables as sorted text, for exact comparison (as the owner, past RLS).
async fn dump(w: &World, projection: &dyn Projection) -> Vec<String> {
    let mut dumps = Vec::new();
    for table in projection.tables() {
        dumps.push(
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t"
            )))
            .fetch_one(&w.db.owner)
            .await
            .unwrap(),
        );
    }
    dumps
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_each_projection_equals_the_live_tables() {
    let w = world().await;
    // Some history on top: across batches, statuses and grants come and go.
    w.instrument(
        ALPHA,
        "cyber-prog",
        InstrumentCommand::Withdraw {
            reason: ShortText::parse("reason", "").unwrap(),
        },
    )
    .await;
    w.instrument(ALPHA, "cyber-prog", InstrumentCommand::Publish)
        .await;
    w.instrument(
        BETA,
        "maritime-call",
        InstrumentCommand::UntagFeatures {
            features: codes(&["P3"]),
        },
    )
    .await;
    w.tenant(
        ALPHA,
        TenantCommand::GrantRole {
            subject: "ana".into(),
            role: Role::Curator,
        },
    )
    .await;
    w.tenant(
        ALPHA,
        TenantCommand::RevokeRole {
            subject: "ana".into(),
            role: Role::Curator,
        },
    )
    .await;
    w.tenant(
        ALPHA,
        TenantCommand::GrantRole {
            subject: "ana".into(),
            role: Role::Curator,
        },
    )
    .await;
    w.project().await;

    for projection in projections() {
        let live = dump(&w, projection.as_ref()).await;
        assert!(
            live.iter().all(|t| !t.is_empty()),
            "{} has rows",
            projection.name()
        );
        for batch in [7, 1000] {
            let report = replay(&w.log, &w.db.owner, projection.as_ref(), batch)
                .await
                .unwrap();
            assert!(report.events > 0);
            assert_eq!(
                dump(&w, projection.as_ref()).await,
                live,
                "{} by {batch}",
                projection.name()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_that_does_not_decode_is_recorded_with_its_position_and_skipped() {
    let w = World::new().await;
    w.db.exec(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, event_type, \
                             event_version, payload, metadata) \
         VALUES (gen_random_uuid(), 'alpha-cluster', 'FundingInstrument', 'broken', 1, \
                 'InstrumentRevised', '1', '{\"InstrumentRevised\": {\"changes\": 5}}', \
                 '{\"tenant\": \"alpha-cluster\", \"actor\": \"x\"}')",
    )
    .await;
    read_at_least(&w.log, 1).await;
    let position: i64 = sqlx::query_scalar("SELECT position FROM events")
        .fetch_one(&w.db.owner)
        .await
        .unwrap();
    for projection in [Arc::new(Catalogue) as Arc<dyn Projection>, Arc::new(Audit)] {
        let name = projection.name();
        let applied = ProjectionRunner::new(w.log.clone(), projection, RunnerConfig::default())
            .catch_up()
            .await
            .unwrap();
        assert_eq!(applied, 1, "{name} moved past the event");
        let failures = ri_projections::failures(&w.db.app, Some(name), 10)
            .await
            .unwrap();
        assert_eq!(failures.len(), 1, "{name}: {failures:?}");
        assert_eq!(failures[0].position, position);
        assert!(
            failures[0].error.contains("InstrumentRevised"),
            "{name}: {}",
            failures[0].error
        );
    }
}

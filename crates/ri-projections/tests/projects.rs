//! The `projects` projection and its read API against the real PostgreSQL: real Project,
//! FundingInstrument commands, the runner in small batches, the fold of every Project event,
//! row-level security between tenants (another tenant sees nothing through any read, nor
//! through the tables themselves), the matcher's profiles and the feature needs, and replay.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::collections::BTreeMap;
use std::sync::Arc;

use ri_domain::TenantSlug;
use ri_domain::instrument::{
    Clock, CoverLevel, FundingInstrument, InstrumentCommand, InstrumentDetails, InstrumentKind,
    InstrumentServices, Schedule,
};
use ri_domain::project::{
    Acronym, Consortium, ConsortiumMember, FundingApplicationStatus, InstrumentRef, MatchThreshold,
    MilestoneDescription, Money, OpenCall, Project, ProjectCommand, ProjectDetails, ProjectPatch,
    Stage, SuccessCriterion, award_milestone_id,
};
use ri_domain::values::{CountryCode, CurrencyCode, Link, ShortText, Summary, Title};
use ri_eventstore::EventLog;
use ri_matching::{InstrumentStatus, Weights};
use ri_projections::projects::{self, ProjectRow};
use ri_projections::{Catalogue, Projection, ProjectionRunner, Projects, RunnerConfig, replay};
use ri_taxonomy::{FeatureCode, FeatureSet};
use ri_testkit::{TestDb, metadata, read_at_least, tenant};
use sqlx::AssertSqlSafe;
use time::macros::date;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

const ALPHA: &str = "alpha-cluster";
const BETA: &str = "beta-hub";
/// Has no project at all.
const GAMMA: &str = "gamma-hub";

const APP_A: Uuid = Uuid::from_u128(0xa1);
const APP_B: Uuid = Uuid::from_u128(0xb1);
const PILOT: Uuid = Uuid::from_u128(0xc1);

/// A clock ten days back, so that a call published "then" has a deadline that passed since.
#[derive(Debug)]
struct TenDaysAgo;

impl Clock for TenDaysAgo {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() - Duration::days(10)
    }
}

fn codes(codes: &[&str]) -> FeatureSet {
    FeatureSet::parse(codes.iter().copied()).unwrap()
}

fn country(code: &str) -> CountryCode {
    CountryCode::parse("country", code).unwrap()
}

fn eur(amount: u64) -> Money {
    Money::new(amount, CurrencyCode::parse("currency", "EUR").unwrap()).unwrap()
}

fn details(acronym: &str, stage: Option<Stage>, members: &[(&str, &str)]) -> ProjectDetails {
    ProjectDetails {
        acronym: Acronym::parse("acronym", acronym).unwrap(),
        title: Title::parse("title", &format!("{acronym} project")).unwrap(),
        open_call: Some(OpenCall::parse("openCall", "SecurIT Open Call 1").unwrap()),
        stage,
        security_domain: None,
        consortium: Consortium::parse(
            members
                .iter()
                .map(|(name, c)| ConsortiumMember {
                    name: Title::parse("name", name).unwrap(),
                    country: country(c),
                })
                .collect(),
        )
        .unwrap(),
        lead_country: None,
        summary: Summary::parse("summary", "").unwrap(),
    }
}

struct World {
    db: TestDb,
    log: EventLog,
}

impl World {
    async fn new() -> Self {
        let db = TestDb::new().await;
        let log = db.log_with(ri_domain::event_registry(), 5);
        World { db, log }
    }

    async fn project(&self, slug: &str, id: &str, command: ProjectCommand) {
        self.log
            .execute::<Project>(&tenant(slug), id, command, &metadata(slug), ())
            .await
            .unwrap_or_else(|e| panic!("{slug}/{id}: {e:?}"));
    }

    async fn register(&self, slug: &str, id: &str, details: ProjectDetails, features: &[&str]) {
        self.project(
            slug,
            id,
            ProjectCommand::Register {
                tenant: tenant(slug),
                details,
            },
        )
        .await;
        if !features.is_empty() {
            self.project(
                slug,
                id,
                ProjectCommand::DeclareFeatures {
                    features: codes(features),
                },
            )
            .await;
        }
    }

    /// Drafts, tags, schedules and (when `publish`) publishes an instrument of ALPHA.
    #[allow(clippy::too_many_arguments)]
    async fn instrument(
        &self,
        id: &str,
        kind: InstrumentKind,
        cover: CoverLevel,
        countries: &[&str],
        features: &[&str],
        deadline: Option<OffsetDateTime>,
        clock: Arc<dyn Clock>,
        publish: bool,
    ) {
        let mut commands = vec![
            InstrumentCommand::Draft {
                tenant: tenant(ALPHA),
                details: InstrumentDetails {
                    title: Title::parse("title", id).unwrap(),
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
                },
            },
            InstrumentCommand::TagFeatures {
                features: codes(features),
            },
        ];
        if deadline.is_some() {
            commands.push(InstrumentCommand::SetSchedule {
                schedule: Schedule::new(None, deadline, None).unwrap(),
            });
        }
        if publish {
            commands.push(InstrumentCommand::Publish);
        }
        for command in commands {
            self.log
                .execute::<FundingInstrument>(
                    &tenant(ALPHA),
                    id,
                    command,
                    &metadata(ALPHA),
                    InstrumentServices {
                        clock: clock.clone(),
                    },
                )
                .await
                .unwrap_or_else(|e| panic!("{id}: {e:?}"));
        }
    }

    /// Runs the catalogue and the projects projections over everything written so far, in
    /// small batches.
    async fn catch_up(&self) {
        let written: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&self.db.owner)
            .await
            .unwrap();
        read_at_least(&self.log, written as usize).await;
        for projection in [
            Arc::new(Catalogue) as Arc<dyn Projection>,
            Arc::new(Projects),
        ] {
            let config = RunnerConfig {
                batch_size: 3,
                ..RunnerConfig::default()
            };
            ProjectionRunner::new(self.log.clone(), projection, config)
                .catch_up()
                .await
                .unwrap();
        }
    }

    fn pool(&self) -> &sqlx::PgPool {
        &self.db.app
    }
}

/// ALPHA's VASCREEN through every Project event (shared with BETA, and with GAMMA until
/// withdrawn), and a second ALPHA project; BETA's project under the same id as VASCREEN.
async fn history(w: &World) {
    w.register(
        ALPHA,
        "p-1",
        details(
            "VASCREEN",
            Some(Stage::Prototyping),
            &[("MION", "ES"), ("EZAKO", "FR")],
        ),
        &["T1", "T8", "P2", "D2"],
    )
    .await;
    for command in [
        ProjectCommand::RetractFeatures {
            features: codes(&["P2"]),
        },
        ProjectCommand::NoteApplicationsBeyondSecurity {
            applications: ShortText::parse("applicationsBeyondSecurity", "construction").unwrap(),
        },
        ProjectCommand::Revise {
            patch: ProjectPatch {
                title: Some(Title::parse("title", "Volatile-analysis sensor").unwrap()),
                stage: Some(Some(Stage::Demonstrator)),
                lead_country: Some(Some(country("LT"))),
                ..ProjectPatch::default()
            },
        },
        ProjectCommand::RecordMilestone {
            id: PILOT,
            criterion: SuccessCriterion::OperationalDeployment,
            date: date!(2026 - 05 - 01),
            description: MilestoneDescription::parse("description", "Piloted at a border post")
                .unwrap(),
            evidence_link: Some(Link::parse("evidenceLink", "https://example.eu/pilot").unwrap()),
        },
        ProjectCommand::RecordFundingApplication {
            id: APP_A,
            instrument_id: Some(InstrumentRef::parse_id("instrumentId", "open-call").unwrap()),
            instrument_name: Title::parse("instrumentName", "Open call").unwrap(),
            status: FundingApplicationStatus::Planned,
            date: date!(2026 - 04 - 01),
            amount: Some(eur(100_000)),
            evidence_link: None,
        },
        ProjectCommand::UpdateFundingApplication {
            id: APP_A,
            status: FundingApplicationStatus::Submitted,
            date: date!(2026 - 05 - 10),
            amount: None,
            evidence_link: None,
        },
        ProjectCommand::UpdateFundingApplication {
            id: APP_A,
            status: FundingApplicationStatus::Awarded,
            date: date!(2026 - 06 - 15),
            amount: Some(eur(90_000)),
            evidence_link: Some(Link::parse("evidenceLink", "https://example.eu/award").unwrap()),
        },
        ProjectCommand::RecordFundingApplication {
            id: APP_B,
            instrument_id: None,
            instrument_name: Title::parse("instrumentName", "Regional voucher").unwrap(),
            status: FundingApplicationStatus::Rejected,
            date: date!(2026 - 03 - 01),
            amount: None,
            evidence_link: None,
        },
        ProjectCommand::SetMatchThreshold {
            threshold: MatchThreshold::parse("matchThreshold", 0.7).unwrap(),
        },
        ProjectCommand::Share {
            with: tenant(GAMMA),
        },
        ProjectCommand::Share { with: tenant(BETA) },
        ProjectCommand::WithdrawShare {
            from: tenant(GAMMA),
        },
    ] {
        w.project(ALPHA, "p-1", command).await;
    }
    w.register(ALPHA, "p-2", details("arsp", None, &[]), &["T1"])
        .await;
    w.register(
        BETA,
        "p-1",
        details("SHOWID", Some(Stage::Demonstrator), &[("Ideas SME", "NL")]),
        &["T3", "P4"],
    )
    .await;
}

fn acronyms(rows: &[ProjectRow]) -> Vec<&str> {
    rows.iter().map(|r| r.acronym.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_project_event_folds_into_the_read_model() {
    let w = World::new().await;
    history(&w).await;
    w.catch_up().await;

    let alpha = tenant(ALPHA);
    let p = projects::project(w.pool(), &alpha, "p-1")
        .await
        .unwrap()
        .expect("ALPHA sees its project");
    assert_eq!(p.id, "p-1");
    assert_eq!(p.tenant, alpha);
    // Register, declare, retract, note, revise, milestone, application, submitted,
    // awarded (two events), rejected application, threshold, two shares and a withdrawal.
    assert_eq!(p.version, 15);
    assert_eq!(p.acronym, "VASCREEN");
    assert_eq!(p.title, "Volatile-analysis sensor");
    assert_eq!(p.open_call.as_deref(), Some("SecurIT Open Call 1"));
    assert_eq!(p.stage, Some(Stage::Demonstrator));
    assert_eq!(p.security_domain, None);
    assert_eq!(
        p.consortium
            .iter()
            .map(|m| (m.name.as_str(), m.country.as_str()))
            .collect::<Vec<_>>(),
        [("MION", "ES"), ("EZAKO", "FR")]
    );
    assert_eq!(p.lead_country, Some(country("LT")));
    assert_eq!(p.countries, [country("ES"), country("FR"), country("LT")]);
    assert_eq!(p.features, codes(&["T1", "T8", "D2"]));
    assert_eq!(
        p.applications_beyond_security.as_deref(),
        Some("construction")
    );
    assert_eq!(p.match_threshold.value(), 0.7);
    assert!(p.updated_at >= p.registered_at);

    // Milestones by date: the pilot, then the award's recognition.
    let m = &p.milestones;
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0].id, PILOT);
    assert_eq!(m[0].criterion, SuccessCriterion::OperationalDeployment);
    assert_eq!(m[0].date, date!(2026 - 05 - 01));
    assert_eq!(m[0].description, "Piloted at a border post");
    assert_eq!(
        m[0].evidence_link.as_deref(),
        Some("https://example.eu/pilot")
    );
    assert_eq!(m[0].funding_application, None);
    assert_eq!(m[1].id, award_milestone_id(APP_A));
    assert_eq!(m[1].criterion, SuccessCriterion::Recognition);
    assert_eq!(m[1].date, date!(2026 - 06 - 15));
    assert_eq!(m[1].description, "Funding awarded: Open call (90000 EUR)");
    assert_eq!(
        m[1].evidence_link.as_deref(),
        Some("https://example.eu/award")
    );
    assert_eq!(m[1].funding_application, Some(APP_A));

    // Applications in the order recorded.
    let a = &p.funding_applications;
    assert_eq!(a.len(), 2, "{a:?}");
    assert_eq!(a[0].id, APP_A);
    assert_eq!(a[0].instrument_id.as_deref(), Some("open-call"));
    assert_eq!(a[0].instrument_name, "Open call");
    assert_eq!(a[0].status, FundingApplicationStatus::Awarded);
    assert_eq!(a[0].status_date, date!(2026 - 06 - 15));
    assert_eq!(a[0].amount, Some(eur(90_000)));
    assert!(a[0].updated_at > a[0].recorded_at);
    assert_eq!(a[1].id, APP_B);
    assert_eq!(a[1].instrument_id, None);
    assert_eq!(a[1].status, FundingApplicationStatus::Rejected);
    assert_eq!(a[1].amount, None);

    // The matcher's view of it.
    let profile = p.match_profile().unwrap();
    assert_eq!(profile.features, codes(&["T1", "T8", "D2"]));
    assert_eq!(profile.stage, Some(ri_matching::Stage::Demonstrator));
    assert_eq!(
        profile
            .countries
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        ["ES", "FR", "LT"]
    );

    // Lists: by acronym ignoring case; by ids, only the tenant's existing ones.
    let all = projects::projects(w.pool(), &alpha).await.unwrap();
    assert_eq!(acronyms(&all), ["arsp", "VASCREEN"]);
    assert_eq!(all[1], p);
    assert!(all[0].milestones.is_empty() && all[0].funding_applications.is_empty());
    assert_eq!(all[0].match_threshold, MatchThreshold::DEFAULT);
    assert_eq!(all[0].stage, None);
    let some = projects::projects_by_ids(
        w.pool(),
        &alpha,
        &["p-2".to_owned(), "nope".to_owned(), "p-1".to_owned()],
    )
    .await
    .unwrap();
    assert_eq!(acronyms(&some), ["arsp", "VASCREEN"]);
    assert!(
        projects::projects_by_ids(w.pool(), &alpha, &[])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        projects::project(w.pool(), &alpha, "nope").await.unwrap(),
        None
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
async fn another_tenant_sees_nothing_of_a_tenants_projects() {
    let w = World::new().await;
    history(&w).await;
    w.instrument(
        "prog",
        InstrumentKind::Programme,
        CoverLevel::Eu,
        &[],
        &["T1", "T3"],
        None,
        Arc::new(ri_domain::instrument::SystemClock),
        true,
    )
    .await;
    w.catch_up().await;
    let (alpha, beta, gamma) = (tenant(ALPHA), tenant(BETA), tenant(GAMMA));

    // Each read, for the tenant with nothing.
    assert!(
        projects::projects(w.pool(), &gamma)
            .await
            .unwrap()
            .is_empty()
    );
    for id in ["p-1", "p-2"] {
        assert_eq!(projects::project(w.pool(), &gamma, id).await.unwrap(), None);
    }
    assert!(
        projects::projects_by_ids(w.pool(), &gamma, &["p-1".into(), "p-2".into()])
            .await
            .unwrap()
            .is_empty()
    );
    let profiles = projects::match_profiles(w.pool(), &gamma).await.unwrap();
    assert!(profiles.projects.is_empty());
    assert_eq!(
        profiles.instruments.len(),
        1,
        "published instruments are public"
    );
    assert!(
        projects::feature_needs(w.pool(), &gamma)
            .await
            .unwrap()
            .is_empty()
    );

    // Two tenants, one id: each sees its own project, with its own records only.
    let b = projects::project(w.pool(), &beta, "p-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.acronym, "SHOWID");
    assert_eq!(b.tenant, beta);
    assert!(b.milestones.is_empty() && b.funding_applications.is_empty());
    assert_eq!(
        acronyms(&projects::projects(w.pool(), &beta).await.unwrap()),
        ["SHOWID"]
    );
    assert_eq!(
        acronyms(
            &projects::projects_by_ids(w.pool(), &beta, &["p-1".into(), "p-2".into()])
                .await
                .unwrap()
        ),
        ["SHOWID"]
    );
    let a = projects::project(w.pool(), &alpha, "p-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(a.acronym, "VASCREEN");
    let beta_profiles = projects::match_profiles(w.pool(), &beta).await.unwrap();
    assert_eq!(
        beta_profiles
            .projects
            .iter()
            .map(|p| p.acronym.as_str())
            .collect::<Vec<_>>(),
        ["SHOWID"]
    );
    let beta_needs = projects::feature_needs(w.pool(), &beta).await.unwrap();
    assert_eq!(
        beta_needs
            .iter()
            .map(|n| (n.feature.as_str(), n.projects))
            .collect::<Vec<_>>(),
        [("T3", 1), ("P4", 1)]
    );

    // The service role, straight at the tables: row-level security, not the query, decides.
    // ALPHA's p-1 is shared with BETA (and no longer with GAMMA): BETA reads it and its
    // records, and nothing else of ALPHA's.
    for (table, id) in [
        ("projects", "id"),
        ("project_milestones", "project_id"),
        ("project_applications", "project_id"),
        ("project_shares", "project_id"),
    ] {
        let all = format!("SELECT count(*) FROM {table}");
        let alphas = format!("SELECT count(*) FROM {table} WHERE tenant = '{ALPHA}'");
        let unshared = format!("{alphas} AND {id} <> 'p-1'");
        assert_eq!(count_as(&w, Some(GAMMA), &all).await, 0, "{table}");
        assert_eq!(count_as(&w, Some(""), &all).await, 0, "{table}");
        assert_eq!(count_as(&w, None, &all).await, 0, "{table}");
        assert_eq!(count_as(&w, Some(BETA), &unshared).await, 0, "{table}");
        assert!(count_as(&w, Some(BETA), &alphas).await > 0, "{table}");
        assert!(count_as(&w, Some(ALPHA), &alphas).await > 0, "{table}");
        assert_eq!(
            count_as(&w, Some(ALPHA), &all).await,
            count_as(&w, Some(ALPHA), &alphas).await,
            "{table}"
        );
    }
    // Nor can it write without being the projector.
    let mut tx = w.db.app.begin().await.unwrap();
    sqlx::query("SELECT set_config('app.tenant', $1, true)")
        .bind(ALPHA)
        .execute(&mut *tx)
        .await
        .unwrap();
    let updated = sqlx::query("UPDATE projects SET title = 'x'")
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(updated.rows_affected(), 0);
    let refused = sqlx::query(
        "INSERT INTO project_milestones VALUES ('alpha-cluster', 'p-1', gen_random_uuid(), \
         'RECOGNITION', '2026-01-01', 'x', NULL, NULL, 0, now())",
    )
    .execute(&mut *tx)
    .await;
    assert!(refused.is_err(), "row-level security refuses the insert");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn match_profiles_and_feature_needs_follow_the_catalogue() {
    let w = World::new().await;
    let now = OffsetDateTime::now_utc();
    let system: Arc<dyn Clock> = Arc::new(ri_domain::instrument::SystemClock);
    w.instrument(
        "b-open-call",
        InstrumentKind::Call,
        CoverLevel::National,
        &["LT"],
        &["T1", "D2"],
        Some(now + Duration::days(30)),
        system.clone(),
        true,
    )
    .await;
    w.instrument(
        "c-prog",
        InstrumentKind::Programme,
        CoverLevel::Eu,
        &[],
        &["T1", "P3"],
        None,
        system.clone(),
        true,
    )
    .await;
    // Published ten days ago with a deadline yesterday: closed as of now, not yet expired.
    w.instrument(
        "a-expired",
        InstrumentKind::Call,
        CoverLevel::Eu,
        &[],
        &["T1", "P9"],
        Some(now - Duration::days(1)),
        Arc::new(TenDaysAgo),
        true,
    )
    .await;
    w.instrument(
        "d-draft",
        InstrumentKind::Call,
        CoverLevel::Eu,
        &[],
        &["T1", "P9"],
        Some(now + Duration::days(30)),
        system,
        false,
    )
    .await;
    let mut lithuanian = details("LITPROJ", Some(Stage::Prototyping), &[]);
    lithuanian.lead_country = Some(country("LT"));
    w.register(ALPHA, "p-1", lithuanian, &["T1", "D2", "P9"])
        .await;
    w.register(
        ALPHA,
        "p-2",
        details("BROAD", None, &[("SME", "FR")]),
        &["T1"],
    )
    .await;
    w.catch_up().await;
    let alpha = tenant(ALPHA);

    let needs = projects::feature_needs(w.pool(), &alpha).await.unwrap();
    let by_code = needs
        .iter()
        .map(|n| (n.feature.as_str(), (n.projects, n.open_instruments)))
        .collect::<BTreeMap<_, _>>();
    assert_eq!(
        by_code,
        BTreeMap::from([("T1", (2, 2)), ("D2", (1, 1)), ("P9", (1, 0))]),
        "the expired call and the draft fund nothing now"
    );
    let order = needs
        .iter()
        .map(|n| n.feature)
        .collect::<Vec<FeatureCode>>();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "taxonomy order");

    let profiles = projects::match_profiles(w.pool(), &alpha).await.unwrap();
    assert_eq!(
        profiles
            .instruments
            .iter()
            .map(|i| (i.id.as_str(), i.status))
            .collect::<Vec<_>>(),
        [
            ("a-expired", InstrumentStatus::Closed),
            ("b-open-call", InstrumentStatus::Open),
            ("c-prog", InstrumentStatus::Open),
        ]
    );
    assert_eq!(
        projects::instrument_profiles(w.pool()).await.unwrap(),
        profiles.instruments
    );
    let call = &profiles.instruments[1];
    assert_eq!(call.features, codes(&["T1", "D2"]));
    assert_eq!(call.kind, ri_matching::InstrumentKind::Call);
    assert_eq!(call.cover_level, ri_matching::CoverLevel::National);
    assert_eq!(call.countries, ["LT".parse().unwrap()]);
    assert!(call.deadline.is_some());

    assert_eq!(
        profiles
            .projects
            .iter()
            .map(|p| (p.id.as_str(), p.acronym.as_str(), p.version))
            .collect::<Vec<_>>(),
        [("p-2", "BROAD", 2), ("p-1", "LITPROJ", 2)]
    );
    let lit = &profiles.projects[1];
    assert_eq!(lit.match_threshold, MatchThreshold::DEFAULT);
    assert_eq!(lit.profile.stage, Some(ri_matching::Stage::Prototyping));
    assert_eq!(lit.profile.countries, ["LT".parse().unwrap()]);

    // What the matcher makes of them: the Lithuanian project gets the Lithuanian call first;
    // the French one cannot apply to it; the expired call matches neither.
    let top = |p: usize| {
        ri_matching::top_matches(
            &Weights::default(),
            &profiles.projects[p].profile,
            &profiles.instruments,
            10,
            0.0,
            now,
        )
        .into_iter()
        .map(|(i, _)| profiles.instruments[i].id.as_str())
        .collect::<Vec<_>>()
    };
    assert_eq!(top(1), ["b-open-call", "c-prog"]);
    assert_eq!(top(0), ["c-prog"]);
}

/// The projection's tables as sorted text, for exact comparison (as the owner, past RLS).
async fn dump(w: &World) -> Vec<String> {
    let mut dumps = Vec::new();
    for table in Projects.tables() {
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
async fn replay_equals_the_live_tables() {
    let w = World::new().await;
    history(&w).await;
    w.catch_up().await;
    let live = dump(&w).await;
    assert!(live.iter().all(|t| !t.is_empty()), "every table has rows");
    for batch in [1, 4, 1000] {
        let report = replay(&w.log, &w.db.owner, &Projects, batch).await.unwrap();
        assert!(report.events > 0);
        assert_eq!(dump(&w).await, live, "replay by {batch}");
    }
    // And the service still reads the swapped-in rows through row-level security.
    let p = projects::project(w.pool(), &TenantSlug::parse(ALPHA).unwrap(), "p-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.milestones.len(), 2);
}

//! The shipped seed, loaded through the real event log on the real PostgreSQL: every tenant,
//! instrument and project of the project's seed files becomes events, a second load writes
//! nothing, calls end closed and featured programmes and strategic documents end open, and the
//! 42 projects land under their follow-up partners' tenants, and the six success stories of
//! section 3.2 show their milestones and funding applications.
//!
//! Expectations are computed from the project's own copy of the seed (`seed/*.json`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;
/// The success stories of section 3.2, over the GraphQL API (a file of its own for its size).
#[path = "seed/success_stories.rs"]
mod success_stories;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use cqrs_es::persist::PersistedEventRepository;
use cqrs_es::{Aggregate, EventEnvelope};
use regional_invest::seed::{self, SeedReport};
use ri_domain::TenantSlug;
use ri_domain::instrument::{FundingInstrument, InstrumentStatus};
use ri_domain::project::Stage;
use ri_eventstore::EventLog;
use ri_projections::{ProjectionRunner, Projects, RunnerConfig, projects};
use ri_taxonomy::FeatureSet;
use ri_testkit::{TestDb, read_at_least};
use serde_json::Value;

const CLUSTERS: &str = include_str!("../seed/clusters.json");
const INSTRUMENTS: &str = include_str!("../seed/instruments.json");
const PROJECTS: &str = include_str!("../seed/projects.json");

fn clusters() -> Vec<Value> {
    let file: Value = serde_json::from_str(CLUSTERS).unwrap();
    ["consortium_partners", "ambassador_clusters"]
        .iter()
        .flat_map(|list| file[list].as_array().unwrap().clone())
        .collect()
}

fn instruments() -> Vec<Value> {
    serde_json::from_str(INSTRUMENTS).unwrap()
}

fn projects_json() -> Vec<Value> {
    serde_json::from_str(PROJECTS).unwrap()
}

fn is_call(instrument: &Value) -> bool {
    instrument["kind"] == "CALL"
}

fn has_features(instrument: &Value) -> bool {
    !instrument["features"].as_array().unwrap().is_empty()
}

async fn log() -> (TestDb, EventLog) {
    let db = TestDb::new().await;
    let log = db.log_with(ri_domain::event_registry(), 20);
    (db, log)
}

async fn count_by_type(log: &EventLog) -> HashMap<String, i64> {
    sqlx::query_as::<_, (String, i64)>(
        "SELECT event_type, count(*) FROM events GROUP BY event_type",
    )
    .fetch_all(log.pool())
    .await
    .unwrap()
    .into_iter()
    .collect()
}

async fn total_events(log: &EventLog) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(log.pool())
        .await
        .unwrap()
}

/// The instrument as its owner's repository rebuilds it from its events.
async fn load_instrument(log: &EventLog, tenant: &str, id: &str) -> FundingInstrument {
    let repository = log.for_tenant(TenantSlug::parse(tenant).unwrap());
    let events = repository
        .get_events::<FundingInstrument>(id)
        .await
        .unwrap();
    assert!(!events.is_empty(), "no events for {id} under {tenant}");
    let mut instrument = FundingInstrument::default();
    for event in events {
        let envelope = EventEnvelope::<FundingInstrument>::try_from(event).unwrap();
        instrument.apply(envelope.payload);
    }
    instrument
}

#[tokio::test]
async fn the_first_load_registers_every_tenant_and_instrument_and_the_second_writes_nothing() {
    let (_db, log) = log().await;
    let clusters = clusters();
    let instruments = instruments();

    let report = seed::load_if_empty(&log).await.unwrap();
    assert_eq!(
        report,
        SeedReport {
            tenants: clusters.len(),
            instruments: instruments.len(),
            projects: projects_json().len(),
            skipped: false,
        }
    );

    let counts = count_by_type(&log).await;
    let count = |event: &str| counts.get(event).copied().unwrap_or(0) as usize;
    assert_eq!(count("TenantRegistered"), clusters.len());
    assert_eq!(count("InstrumentDrafted"), instruments.len());
    assert_eq!(
        count("InstrumentFeaturesTagged"),
        instruments.iter().filter(|i| has_features(i)).count()
    );
    let calls = instruments.iter().filter(|i| is_call(i)).count();
    assert_eq!(count("InstrumentClosed"), calls);
    assert_eq!(
        count("InstrumentScheduleSet"),
        instruments
            .iter()
            .filter(|i| is_call(i) && i["deadline"].is_string())
            .count()
    );
    assert_eq!(
        count("InstrumentPublished"),
        instruments
            .iter()
            .filter(|i| !is_call(i) && has_features(i))
            .count()
    );
    for untouched in [
        "InstrumentRevised",
        "InstrumentWithdrawn",
        "InstrumentArchived",
        "TenantProfileUpdated",
        "RoleGranted",
    ] {
        assert_eq!(count(untouched), 0, "{untouched}");
    }

    // Everything the seed wrote was done by the system, in one conversation.
    let actors: Vec<(String, String)> = sqlx::query_as(
        "SELECT DISTINCT metadata->>'actor', metadata->>'correlation_id' FROM events",
    )
    .fetch_all(log.pool())
    .await
    .unwrap();
    assert_eq!(actors.len(), 1, "{actors:?}");
    assert_eq!(actors[0].0, "system");

    let written = total_events(&log).await;
    let again = seed::load_if_empty(&log).await.unwrap();
    assert_eq!(
        again,
        SeedReport {
            tenants: 0,
            instruments: 0,
            projects: 0,
            skipped: true,
        }
    );
    assert_eq!(total_events(&log).await, written, "the second load wrote");
}

#[tokio::test]
async fn every_command_id_in_the_seeded_log_names_one_command() {
    let (_db, log) = log().await;
    seed::load_if_empty(&log).await.unwrap();

    // A command writes to one aggregate in one transaction: a command id shared by events of
    // two aggregates, or of two transactions, was given to two commands.
    let shared: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT metadata->>'command_id', \
                count(DISTINCT (aggregate_type, aggregate_id)), \
                count(DISTINCT tx_id::text), count(DISTINCT recorded_at) \
         FROM events GROUP BY 1 \
         HAVING count(DISTINCT (aggregate_type, aggregate_id)) > 1 \
             OR count(DISTINCT tx_id::text) > 1 OR count(DISTINCT recorded_at) > 1",
    )
    .fetch_all(log.pool())
    .await
    .unwrap();
    assert!(
        shared.is_empty(),
        "command ids of several commands: {shared:?}"
    );

    // And every transaction (every command) has a command id of its own.
    let (commands, transactions): (i64, i64) = sqlx::query_as(
        "SELECT count(DISTINCT metadata->>'command_id'), count(DISTINCT tx_id::text) FROM events",
    )
    .fetch_one(log.pool())
    .await
    .unwrap();
    assert_eq!(commands, transactions);
    assert!(commands > 100, "the seed ran {commands} commands");
}

#[tokio::test]
async fn tenant_slugs_are_unique_valid_and_each_tenant_owns_its_registration() {
    let (_db, log) = log().await;
    seed::load_if_empty(&log).await.unwrap();

    let rows: Vec<(String, String, Value, Value)> = sqlx::query_as(
        "SELECT tenant, aggregate_id, payload, metadata FROM events \
         WHERE event_type = 'TenantRegistered' ORDER BY position",
    )
    .fetch_all(log.pool())
    .await
    .unwrap();
    let clusters = clusters();
    assert_eq!(rows.len(), clusters.len());

    let mut slugs = HashSet::new();
    let mut names = HashSet::new();
    for (tenant, aggregate_id, payload, metadata) in &rows {
        let registered = &payload["TenantRegistered"];
        assert_eq!(tenant, aggregate_id);
        assert_eq!(registered["slug"], tenant.as_str());
        assert_eq!(metadata["tenant"], tenant.as_str());
        assert_eq!(metadata["roles"], "platform_admin");
        let slug = TenantSlug::parse(tenant).unwrap();
        assert!(slugs.insert(slug), "slug {tenant} is used twice");
        names.insert(registered["profile"]["name"].as_str().unwrap().to_owned());
    }
    let expected: HashSet<String> = clusters
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, expected);

    let profile = |slug: &str| {
        rows.iter()
            .find(|row| row.0 == slug)
            .map(|row| row.2["TenantRegistered"]["profile"].clone())
            .unwrap_or_else(|| panic!("no tenant {slug}"))
    };
    assert_eq!(profile("safe")["kind"], "CONSORTIUM_PARTNER");
    assert_eq!(profile("cluj-it-cluster")["kind"], "AMBASSADOR_CLUSTER");
    assert_eq!(profile("cluj-it-cluster")["member_count"], 70);
    assert_eq!(
        profile("cyber-wales")["website"],
        "https://www.cyberwales.net/"
    );
    assert_eq!(
        profile("aertic-agrupacion-empresarial-innovadora-del-sector-tic-de-la")["country"],
        "ES"
    );
}

#[tokio::test]
async fn calls_end_closed_and_featured_programmes_end_open() {
    let (_db, log) = log().await;
    seed::load_if_empty(&log).await.unwrap();

    let owners: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT aggregate_id, tenant FROM events WHERE event_type = 'InstrumentDrafted'",
    )
    .fetch_all(log.pool())
    .await
    .unwrap()
    .into_iter()
    .collect();

    for record in instruments() {
        let name = record["name"].as_str().unwrap();
        let id = seed::instrument_id(name).to_string();
        let owner = owners
            .get(&id)
            .unwrap_or_else(|| panic!("{name} was not drafted under its deterministic id"));
        let instrument = load_instrument(&log, owner, &id).await;
        let details = instrument.details.as_ref().unwrap();
        assert_eq!(details.title.as_str(), name);
        assert_eq!(instrument.tenant.as_ref().unwrap().as_str(), owner);

        let expected = match (is_call(&record), has_features(&record)) {
            (true, _) => InstrumentStatus::Closed,
            (false, true) => InstrumentStatus::Open,
            (false, false) => InstrumentStatus::Draft,
        };
        assert_eq!(instrument.status, expected, "{name}");
        assert_eq!(
            instrument.features.len(),
            record["features"].as_array().unwrap().len(),
            "{name}"
        );
        if let Some(deadline) = record["deadline"].as_str() {
            let set = instrument.schedule.deadline.unwrap();
            assert_eq!(set.date().to_string(), deadline, "{name}");
            assert_eq!(set.hour(), 17);
            assert_eq!(
                instrument.schedule.time_zone.as_deref(),
                Some("Europe/Brussels")
            );
        } else {
            assert_eq!(instrument.schedule.deadline, None, "{name}");
        }
    }

    // Owners: a partner of the instrument's country, else the coordinator.
    let owner_of = |name: &str| owners[&seed::instrument_id(name).to_string()].clone();
    assert_eq!(owner_of("Innovation Fund Denmark"), "censec");
    assert_eq!(owner_of("Cybersecurity strategy (Lithuania)"), "l3ce");
    assert_eq!(owner_of("FRIEND CCI Eurocluster"), "safe");
    assert_eq!(
        owner_of("NATO DIANA accelerator challenge programme"),
        "safe"
    );

    // The August deadline is in summer time.
    let friend = load_instrument(
        &log,
        "safe",
        &seed::instrument_id("FRIEND CCI Eurocluster").to_string(),
    )
    .await;
    assert_eq!(
        friend.schedule.deadline.unwrap().offset(),
        time::macros::offset!(+2)
    );
}

#[tokio::test]
async fn concurrent_loads_seed_once() {
    let (_db, log) = log().await;
    let (a, b) = tokio::join!(seed::load_if_empty(&log), seed::load_if_empty(&log));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.skipped != b.skipped, "{a:?} {b:?}");
    let registered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE event_type = 'TenantRegistered'")
            .fetch_one(log.pool())
            .await
            .unwrap();
    assert_eq!(registered as usize, clusters().len());
}

#[tokio::test]
async fn the_42_projects_land_under_their_follow_up_partners() {
    let (_db, log) = log().await;
    seed::load_if_empty(&log).await.unwrap();
    let records = projects_json();
    assert_eq!(records.len(), 42);

    // Events: one registration each, features where the data has them, applications noted.
    let counts = count_by_type(&log).await;
    let count = |event: &str| counts.get(event).copied().unwrap_or(0) as usize;
    assert_eq!(count("ProjectRegistered"), 42);
    assert_eq!(
        count("ProjectFeaturesDeclared"),
        records
            .iter()
            .filter(|p| !p["features"].as_array().unwrap().is_empty())
            .count()
    );
    assert_eq!(
        count("ProjectApplicationsBeyondSecurityNoted"),
        records
            .iter()
            .filter(|p| p["application_beyond_security"].is_string())
            .count()
    );
    let roles: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT metadata->>'roles' FROM events WHERE aggregate_type = 'Project'",
    )
    .fetch_all(log.pool())
    .await
    .unwrap();
    assert_eq!(roles, ["follow_up_manager"]);

    // Each project under its deterministic id, in its owner's stream.
    let owners: HashMap<String, String> = sqlx::query_as::<_, (String, String)>(
        "SELECT aggregate_id, tenant FROM events WHERE event_type = 'ProjectRegistered'",
    )
    .fetch_all(log.pool())
    .await
    .unwrap()
    .into_iter()
    .collect();
    for record in &records {
        let acronym = record["acronym"].as_str().unwrap();
        assert!(
            owners.contains_key(&seed::project_id(acronym).to_string()),
            "{acronym} was not registered under its deterministic id"
        );
    }

    // Counts per tenant: the follow-up partners of Open Call 1; SECURVERSE and Open Call 2 by
    // lead country (AIRA: PL, RoBriNet: DK), the rest with the coordinator.
    let mut per_tenant = BTreeMap::new();
    for tenant in owners.values() {
        *per_tenant.entry(tenant.as_str()).or_insert(0) += 1;
    }
    assert_eq!(
        per_tenant,
        BTreeMap::from([
            ("censec", 4),
            ("fundingbox", 1),
            ("hsd", 3),
            ("l3ce", 2),
            ("lsec", 3),
            ("pole-scs", 3),
            ("safe", 23),
            ("systematic", 3),
        ])
    );

    // Through the projection, as L3CE reads its projects.
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(log.pool())
        .await
        .unwrap();
    read_at_least(&log, written as usize).await;
    ProjectionRunner::new(log.clone(), Arc::new(Projects), RunnerConfig::default())
        .catch_up()
        .await
        .unwrap();
    let l3ce = TenantSlug::parse("l3ce").unwrap();
    let rows = projects::projects(log.pool(), &l3ce).await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.acronym.as_str()).collect::<Vec<_>>(),
        ["C-SHIELD", "FusionSec"]
    );
    let shield = &rows[0];
    assert_eq!(shield.title, "C-SHIELD");
    assert_eq!(shield.stage, Some(Stage::Demonstrator));
    assert_eq!(shield.open_call.as_deref(), Some("SecurIT Open Call 1"));
    assert_eq!(
        shield.features,
        FeatureSet::parse([
            "T1", "T8", "P2", "P3", "P5", "P6", "P8", "D2", "D3", "G3", "A1"
        ])
        .unwrap()
    );
    assert_eq!(
        shield.applications_beyond_security.as_deref(),
        Some("environmental protection")
    );
    assert_eq!(shield.match_threshold.value(), 0.5);
    assert_eq!(
        rows[1].summary,
        "Equips police patrols to manage incidents and security during large public events."
    );
    let safe = TenantSlug::parse("safe").unwrap();
    let safes = projects::projects(log.pool(), &safe).await.unwrap();
    assert_eq!(safes.len(), 23);
    let disgrid = safes.iter().find(|p| p.acronym == "DISGRID").unwrap();
    assert_eq!(disgrid.stage, None);
    assert!(disgrid.features.is_empty());
    assert_eq!(
        disgrid
            .countries
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>(),
        ["GR"]
    );
    let bim = safes.iter().find(|p| p.acronym == "BIM2SIM").unwrap();
    assert_eq!(
        bim.consortium
            .iter()
            .map(|m| (m.name.as_str(), m.country.as_str()))
            .collect::<Vec<_>>(),
        [("APEX Solutions", "FR")]
    );
}

#[tokio::test]
async fn the_two_clusters_of_section_3_3_are_seeded_with_their_projects() {
    let (_db, log) = log().await;
    seed::load_if_empty(&log).await.unwrap();
    let written: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
        .fetch_one(log.pool())
        .await
        .unwrap();
    read_at_least(&log, written as usize).await;
    for projection in [
        Arc::new(Projects) as Arc<dyn ri_projections::Projection>,
        Arc::new(ri_projections::Clusters),
    ] {
        ProjectionRunner::new(log.clone(), projection, RunnerConfig::default())
            .catch_up()
            .await
            .unwrap();
    }
    // L3CE ran the clustering: it owns both clusters, and SAFE shared its projects with it.
    let l3ce = TenantSlug::parse("l3ce").unwrap();
    let safe = TenantSlug::parse("safe").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let rows = ri_projections::clusters::clusters(log.pool(), &l3ce, now)
        .await
        .unwrap();
    assert_eq!(
        rows.iter()
            .map(|c| (c.name.as_str(), c.area_name.as_deref(), c.projects))
            .collect::<Vec<_>>(),
        [
            (
                "Critical Infrastructure Protection (CI operators: water, DSOs)",
                Some("CI operators: water, DSOs"),
                4
            ),
            (
                "Public Space Protection (public event security)",
                Some("Public event security"),
                7
            ),
        ]
    );
    let public_id = seed::cluster_id("Public Space Protection (public event security)").to_string();
    let public = ri_projections::clusters::cluster_dashboard(log.pool(), &l3ce, &public_id, now)
        .await
        .unwrap()
        .expect("the public space cluster");
    assert_eq!(
        public
            .projects
            .iter()
            .map(|p| (p.acronym.as_str(), p.registered, p.owner.as_ref()))
            .collect::<Vec<_>>(),
        [
            ("Safe Festivals", true, Some(&safe)),
            ("AIR-T4S", true, Some(&safe)),
            ("CMD BOX", true, Some(&safe)),
            ("AI-Disaster Emergency Communication", true, Some(&safe)),
            ("ERRATA", true, Some(&safe)),
            ("RESPO Communication", true, Some(&safe)),
            ("Serval Management", true, Some(&safe)),
        ]
    );
    assert_eq!(
        public
            .stakeholders
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        [
            "First responders (Lithuania, France)",
            "Municipalities",
            "Private public-event organisers"
        ]
    );
    // SAFE follows its projects up and clusters none of them; the eleven are shared with L3CE.
    assert!(
        ri_projections::clusters::clusters(log.pool(), &safe, now)
            .await
            .unwrap()
            .is_empty()
    );
    let shared = projects::shared_projects(log.pool(), &l3ce, None)
        .await
        .unwrap();
    assert_eq!(shared.len(), 11);
    assert!(shared.iter().all(|p| p.tenant == safe));

    // The deliverable gives Open Call 2's projects no features, so nothing resembles them yet.
    // Once SAFE declares Safe Festivals' (crowd monitoring), L3CE's own FusionSec, the police
    // public-event project, is suggested for public event security.
    let festivals = shared
        .iter()
        .find(|p| p.acronym == "Safe Festivals")
        .unwrap();
    let meta = ri_domain::EventMetadata::new(
        "setup",
        safe.clone(),
        vec![ri_domain::Role::FollowUpManager],
    );
    log.execute::<ri_domain::project::Project>(
        &safe,
        &festivals.id,
        ri_domain::project::ProjectCommand::DeclareFeatures {
            features: FeatureSet::parse(["T1", "P5", "G3"]).unwrap(),
        },
        &meta,
        (),
    )
    .await
    .unwrap();
    read_at_least(&log, written as usize + 1).await;
    ProjectionRunner::new(log.clone(), Arc::new(Projects), RunnerConfig::default())
        .catch_up()
        .await
        .unwrap();
    let suggested = ri_projections::clusters::suggested_projects(log.pool(), &l3ce, &public_id, 10)
        .await
        .unwrap()
        .unwrap();
    let fusion = suggested
        .iter()
        .find(|s| s.acronym == "FusionSec")
        .expect("FusionSec is suggested");
    assert_eq!(fusion.owner, l3ce);
    assert_eq!(fusion.closest_member.as_deref(), Some("Safe Festivals"));
}

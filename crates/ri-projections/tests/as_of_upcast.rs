//! As-of reads fold upcast events (issue 16, item 1): in a registry where `InstrumentRevised` is
//! at version 2 and its version 1 had another shape, `instrument_as_of` at each moment of a
//! random history equals a fresh fold of the log up to that moment (the catalogue and tenant
//! directory replayed in a second database that holds only those events), and the product
//! registry, which has no upcaster, cannot read the old events back.
//!
//! The log refuses to write an event at another version than the registry's current one, and
//! the domain's events all say version 1, so revisions are appended by hand: version 2 in
//! today's shape (titles) and version 1 in the old shape (summaries).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::collections::HashMap;
use std::sync::Arc;

use rand::{RngExt, SeedableRng, rngs::StdRng};
use ri_domain::instrument::{
    FundingInstrument, INSTRUMENT, InstrumentChanges, InstrumentCommand, InstrumentDetails,
    InstrumentEvent, InstrumentServices, Schedule,
};
use ri_domain::tenant::{Tenant, TenantCommand, TenantProfile};
use ri_domain::values::{Change, ShortText, Summary, Title};
use ri_domain::{EventRegistry, StepUpcaster};
use ri_eventstore::EventLog;
use ri_projections::catalogue::{self, Viewer, instrument_as_of};
use ri_projections::{Catalogue, Projection, ProjectionRunner, RunnerConfig, Tenants, replay};
use ri_taxonomy::FeatureSet;
use ri_testkit::{TestDb, metadata, read_at_least, tenant};
use serde_json::{Value, json};
use sqlx::PgPool;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const HUB: &str = "legacy-hub";
const IDS: [&str; 3] = ["call-a", "call-b", "call-c"];
const FEATURES: [&str; 5] = ["T2", "T4", "P12", "D1", "G3"];
const REVISED: &str = "InstrumentRevised";

/// Version 1 recorded a revision as a list `{"diff": [{"field", "from", "to"}]}`; version 2
/// (today's) as `{"changes": {field: {"old", "new"}}}`.
fn revised_v1_to_v2(payload: Value) -> Value {
    let mut changes = serde_json::Map::new();
    for d in payload[REVISED]["diff"].as_array().into_iter().flatten() {
        if let Some(field) = d["field"].as_str() {
            changes.insert(field.to_owned(), json!({"old": d["from"], "new": d["to"]}));
        }
    }
    json!({ REVISED: { "changes": changes } })
}

/// The product registry with `InstrumentRevised` at version 2 and the step from 1.
fn test_registry() -> EventRegistry {
    let registry = ri_domain::event_registry()
        .register(INSTRUMENT, REVISED, 2)
        .upcaster(INSTRUMENT, StepUpcaster::new(REVISED, 1, revised_v1_to_v2));
    registry.validate().unwrap();
    registry
}

fn profile(name: &str) -> TenantProfile {
    let profile =
        json!({"name": name, "kind": "AMBASSADOR_CLUSTER", "country": "LT", "domains": []});
    serde_json::from_value(profile).unwrap()
}

fn reschedule(deadline: OffsetDateTime) -> InstrumentCommand {
    let schedule = Schedule::new(None, Some(deadline), Some("Europe/Vilnius")).unwrap();
    InstrumentCommand::SetSchedule { schedule }
}

/// Appends a revision of `id` by hand, at `version`, after its last event; returns its time.
async fn append_revision(db: &TestDb, id: &str, version: &str, payload: Value) -> OffsetDateTime {
    sqlx::query_scalar(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, \
                             event_type, event_version, payload, metadata) \
         SELECT gen_random_uuid(), $1, $2, $3, coalesce(max(sequence), 0) + 1, $4, $5, $6, $7 \
         FROM events WHERE tenant = $1 AND aggregate_type = $2 AND aggregate_id = $3 \
         RETURNING recorded_at",
    )
    .bind(HUB)
    .bind(INSTRUMENT)
    .bind(id)
    .bind(REVISED)
    .bind(version)
    .bind(payload)
    .bind(serde_json::to_value(metadata(HUB).to_map()).unwrap())
    .fetch_one(&db.owner)
    .await
    .unwrap()
}

/// What the test knows of a call while it writes its history.
struct Call {
    title: Title,
    summary: Summary,
    untagged: Vec<&'static str>,
    published: bool,
}

/// A revision appended by hand: when, the title and summary it left, and whether it is in the
/// old shape.
type Revision = (OffsetDateTime, String, String, bool);

/// A random history of the hub and its three calls; returns each call's revisions.
async fn history(db: &TestDb, log: &EventLog, seed: u64) -> HashMap<&'static str, Vec<Revision>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let hub = tenant(HUB);
    let run = async |id: &str, command: InstrumentCommand| {
        let (meta, services) = (metadata(HUB), InstrumentServices::default());
        let done = log.execute::<FundingInstrument>(&hub, id, command, &meta, services);
        done.await.unwrap_or_else(|e| panic!("{id}: {e:?}"));
    };
    let run_tenant = async |command: TenantCommand| {
        let meta = metadata(HUB);
        log.execute::<Tenant>(&hub, HUB, command, &meta, ())
            .await
            .unwrap();
    };
    let register = TenantCommand::Register {
        slug: hub.clone(),
        profile: profile("Legacy Hub"),
    };
    run_tenant(register).await;
    let (mut calls, mut revisions) = (HashMap::new(), HashMap::new());
    for (n, id) in IDS.into_iter().enumerate() {
        let details: InstrumentDetails = serde_json::from_value(json!({
            "title": format!("{id} as drafted"), "summary": "As drafted", "kind": "CALL",
            "cover_level": "NATIONAL", "countries": ["LT"], "target_organisations": [],
            "languages": [],
        }))
        .unwrap();
        let (title, summary) = (details.title.clone(), details.summary.clone());
        let tenant = hub.clone();
        run(id, InstrumentCommand::Draft { tenant, details }).await;
        let features = FeatureSet::parse(["T1"]).unwrap();
        run(id, InstrumentCommand::TagFeatures { features }).await;
        let deadline = datetime!(2040-01-01 17:00 +2) + Duration::days(n as i64);
        run(id, reschedule(deadline)).await;
        let (untagged, published) = (FEATURES.to_vec(), false);
        calls.insert(
            id,
            Call {
                title,
                summary,
                untagged,
                published,
            },
        );
        revisions.insert(id, vec![]);
    }
    let mut suspended = false;
    for step in 0..30_usize {
        // The first steps revise each call in the old shape, so every call needs the upcaster.
        let (id, choice) = match IDS.get(step) {
            Some(id) => (*id, 0),
            None => (IDS[rng.random_range(0..IDS.len())], rng.random_range(0..6)),
        };
        let call = calls.get_mut(id).unwrap();
        let revised = match choice {
            0 => {
                let new = Summary::parse("summary", &format!("Legacy summary {step}")).unwrap();
                let diff = json!([{"field": "summary", "from": call.summary, "to": new}]);
                call.summary = new;
                Some(("1", json!({ REVISED: { "diff": diff } })))
            }
            1 => {
                let new = Title::parse("title", &format!("{id} revised at {step}")).unwrap();
                let title = Change::between(&call.title, &new);
                let changes = InstrumentChanges {
                    title,
                    ..InstrumentChanges::default()
                };
                call.title = new;
                let event = InstrumentEvent::InstrumentRevised { changes };
                Some(("2", serde_json::to_value(event).unwrap()))
            }
            2 => {
                let deadline = datetime!(2041-01-01 12:00 UTC) + Duration::days(step as i64);
                run(id, reschedule(deadline)).await;
                None
            }
            3 => {
                let reason = ShortText::parse("reason", "on hold").unwrap();
                let command = match call.published {
                    true => InstrumentCommand::Withdraw { reason },
                    false => InstrumentCommand::Publish,
                };
                run(id, command).await;
                call.published = !call.published;
                None
            }
            4 if !call.untagged.is_empty() => {
                let code = call
                    .untagged
                    .swap_remove(rng.random_range(0..call.untagged.len()));
                let features = FeatureSet::parse([code]).unwrap();
                run(id, InstrumentCommand::TagFeatures { features }).await;
                None
            }
            4 => {
                let profile = profile(&format!("Legacy Hub {step}"));
                run_tenant(TenantCommand::UpdateProfile { profile }).await;
                None
            }
            _ => {
                let reason = ShortText::parse("reason", "audit").unwrap();
                let command = match suspended {
                    true => TenantCommand::Reinstate,
                    false => TenantCommand::Suspend { reason },
                };
                run_tenant(command).await;
                suspended = !suspended;
                None
            }
        };
        if let Some((version, payload)) = revised {
            let at = append_revision(db, id, version, payload).await;
            let (title, summary) = (call.title.to_string(), call.summary.to_string());
            revisions
                .get_mut(id)
                .unwrap()
                .push((at, title, summary, version == "1"));
        }
    }
    revisions
}

/// Copies the events recorded in `(after, until]` from one database to another, as stored
/// (version, payload and time); returns how many.
async fn copy(from: &PgPool, to: &PgPool, after: OffsetDateTime, until: OffsetDateTime) -> usize {
    let rows: Value = sqlx::query_scalar(
        "SELECT coalesce(jsonb_agg(e ORDER BY e.position), '[]') FROM events e \
         WHERE e.recorded_at > $1 AND e.recorded_at <= $2",
    )
    .bind(after)
    .bind(until)
    .fetch_one(from)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, \
                             event_type, event_version, payload, metadata, recorded_at) \
         SELECT event_id, tenant, aggregate_type, aggregate_id, sequence, event_type, \
                event_version, payload, metadata, recorded_at \
         FROM jsonb_populate_recordset(NULL::events, $1) ORDER BY position",
    )
    .bind(&rows)
    .execute(to)
    .await
    .unwrap();
    rows.as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_equals_a_fresh_fold_of_the_log_with_upcast_revisions() {
    for seed in [11_u64, 2026] {
        let db = TestDb::new().await;
        let log = db.log_with(test_registry(), 4);
        let revisions = history(&db, &log, seed).await;
        let written: i64 = sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(&db.owner)
            .await
            .unwrap();
        read_at_least(&log, written as usize).await;
        let projections: [Arc<dyn Projection>; 2] = [Arc::new(Catalogue), Arc::new(Tenants)];
        for projection in &projections {
            let config = RunnerConfig::default();
            let runner = ProjectionRunner::new(log.clone(), projection.clone(), config);
            runner.catch_up().await.unwrap();
        }
        let product = db.log_with(ri_domain::event_registry(), 4);

        let mut moments: Vec<OffsetDateTime> =
            sqlx::query_scalar("SELECT DISTINCT recorded_at FROM events ORDER BY 1")
                .fetch_all(&db.owner)
                .await
                .unwrap();
        let before = datetime!(2000-01-01 0:00 UTC);
        moments.insert(0, before);

        let fresh = TestDb::new().await;
        let fresh_log = fresh.log_with(test_registry(), 4);
        let (mut copied, mut last) = (0, before);
        let (mut refused, mut skipped) = (0, 0);
        for at in moments {
            copied += copy(&db.owner, &fresh.owner, last, at).await;
            last = at;
            read_at_least(&fresh_log, copied).await;
            for projection in &projections {
                let report = replay(&fresh_log, &fresh.owner, projection.as_ref(), 5).await;
                assert_eq!(report.unwrap().failures, 0, "seed {seed}, at {at}");
            }
            for id in IDS {
                let mut folds = vec![];
                for viewer in [Viewer::member_of(tenant(HUB)), Viewer::anonymous()] {
                    let fold = catalogue::instrument(&fresh.app, &viewer, id).await;
                    let as_of = instrument_as_of(&db.app, &log, &viewer, id, at).await;
                    let (fold, as_of) = (fold.unwrap(), as_of.unwrap());
                    assert_eq!(as_of, fold, "seed {seed}: {id} as of {at} for {viewer:?}");
                    folds.push(fold);
                }
                let Some(fold) = folds.swap_remove(0) else {
                    continue;
                };
                // The revisions read as they were written, whatever their version.
                let latest = revisions[id].iter().rfind(|r| r.0 <= at);
                let (title, summary) = latest
                    .map_or((format!("{id} as drafted"), "As drafted"), |r| {
                        (r.1.clone(), r.2.as_str())
                    });
                assert_eq!(
                    (fold.title.as_str(), fold.summary.as_str()),
                    (title.as_str(), summary)
                );
                // Once an old-shaped revision is in the history, the product registry, which
                // has no upcaster, cannot read it back: an error, or the revision skipped.
                if revisions[id].iter().any(|r| r.0 <= at && r.3) {
                    let viewer = Viewer::member_of(tenant(HUB));
                    let without = instrument_as_of(&db.app, &product, &viewer, id, at).await;
                    match &without {
                        Err(_) => refused += 1,
                        Ok(Some(row)) if *row != fold => skipped += 1,
                        _ => panic!(
                            "seed {seed}: {id} as of {at} read without the upcaster: {without:?}"
                        ),
                    }
                }
            }
        }
        assert!(
            refused > 0 && skipped > 0,
            "seed {seed}: {refused} refused, {skipped} skipped"
        );
    }
}

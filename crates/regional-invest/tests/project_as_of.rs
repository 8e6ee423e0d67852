//! A project as it stood at any moment (issue 16): `project(id, asOf)` folds its events
//! recorded until then, so each moment of a random history reads exactly as `project(id)` read
//! right after it; a tenant it is shared with reads its history too, nobody else does.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, operation, unique_slug};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use ri_domain::Role;
use serde_json::{Value, json};

async fn read(
    app: &TestApp,
    token: &str,
    id: &str,
    at: Option<&str>,
    as_of: Option<&str>,
) -> Value {
    app.ok(
        Some(token),
        &operation("ProjectAsOf"),
        json!({"id": id, "consistentWith": at, "asOf": as_of}),
    )
    .await["project"]
        .clone()
}

/// One random change of the project, as a mutation and its variables.
fn step(rng: &mut StdRng, id: &str, n: usize, applications: &[String]) -> (&'static str, Value) {
    const FEATURES: [&str; 6] = ["T1", "T4", "P2", "P5", "D3", "G1"];
    let feature = FEATURES[rng.random_range(0..FEATURES.len())];
    let day = format!(
        "2025-{:02}-{:02}",
        rng.random_range(1..=12),
        rng.random_range(1..=28)
    );
    match rng.random_range(0..7) {
        0 => (
            "ReviseProject",
            json!({"id": id, "input": {"title": format!("Title {n}"), "summary": format!("Summary {n}")}}),
        ),
        1 => (
            "DeclareProjectFeatures",
            json!({"id": id, "features": [feature]}),
        ),
        2 => (
            "RetractProjectFeatures",
            json!({"id": id, "features": [feature]}),
        ),
        3 => (
            "RecordProjectMilestone",
            json!({"id": id, "input": {"criterion": "NEW_COLLABORATIONS_MARKETS", "date": day,
                "description": format!("Milestone {n}")}}),
        ),
        4 if !applications.is_empty() => (
            "ChangeFundingApplicationStatus",
            json!({"id": id, "applicationId": applications[rng.random_range(0..applications.len())],
                "input": {"status": "SUBMITTED", "date": "2026-01-15",
                    "amount": {"amount": 1000 * n, "currency": "EUR"}}}),
        ),
        5 => (
            "SetProjectMatchThreshold",
            json!({"id": id, "matchThreshold": f64::from(u8::try_from(n % 10).unwrap()) / 10.0}),
        ),
        _ => (
            "RecordFundingApplication",
            json!({"id": id, "input": {"instrumentName": format!("Call {n}"), "status": "PLANNED",
                "date": "2026-01-01", "amount": {"amount": 500 * n, "currency": "EUR"}}}),
        ),
    }
}

#[tokio::test]
async fn a_project_reads_as_it_stood_at_each_moment_of_a_random_history() {
    let app = TestApp::start().await;
    let (owner, partner, other) = (unique_slug(), unique_slug(), unique_slug());
    for slug in [&owner, &partner, &other] {
        app.tenant(slug, "LT").await;
    }
    let ona = app.token("ona", &owner, &[Role::FollowUpManager]).await;
    let pia = app.token("pia", &partner, &[Role::FollowUpManager]).await;
    let oto = app.token("oto", &other, &[Role::FollowUpManager]).await;

    for seed in [7_u64, 2026] {
        let mut rng = StdRng::seed_from_u64(seed);
        let (data, at) = app
            .mutate(
                &ona,
                "RegisterProject",
                json!({"input": {"acronym": format!("HIST{seed}"), "title": "Title 0",
                "consortium": [{"name": "Vasco", "country": "LT"}], "summary": ""}}),
            )
            .await;
        let id = data["registerProject"]["id"].as_str().unwrap().to_owned();
        let mut moments = vec![read(&app, &ona, &id, Some(&at), None).await];
        let mut applications = Vec::new();
        for n in 1..=12 {
            let (name, variables) = step(&mut rng, &id, n, &applications);
            let (status, body) = app.gql(Some(&ona), &operation(name), variables).await;
            // A refusal (nothing changes, a status that cannot move) stores nothing: no moment.
            if !body["errors"].is_null() {
                assert_eq!(
                    body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT",
                    "{body}"
                );
                continue;
            }
            assert_eq!(status, 200, "{name}: {body}");
            if name == "RecordFundingApplication" {
                let recorded = &body["data"]["recordFundingApplication"]["recordedId"];
                applications.push(recorded.as_str().unwrap().to_owned());
            }
            let at = body["extensions"]["logPosition"].as_str().unwrap();
            moments.push(read(&app, &ona, &id, Some(at), None).await);
        }
        assert!(moments.len() > 6, "seed {seed}: too few changes");
        for now in &moments {
            let at = now["updatedAt"].as_str().unwrap();
            let then = read(&app, &ona, &id, None, Some(at)).await;
            assert_eq!(&then, now, "seed {seed}, as of {at}");
        }
        // Before its registration it did not exist.
        let registered = moments[0]["registeredAt"].as_str().unwrap();
        let before =
            time::OffsetDateTime::parse(registered, &time::format_description::well_known::Rfc3339)
                .unwrap()
                - time::Duration::milliseconds(1);
        let before = before
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        assert_eq!(
            read(&app, &ona, &id, None, Some(&before)).await,
            Value::Null
        );

        // Shared: the partner reads its history; the third tenant reads nothing of it.
        let (_, shared) = app
            .mutate(&ona, "ShareProject", json!({"id": id, "tenant": partner}))
            .await;
        let first = moments[0]["updatedAt"].as_str().unwrap();
        let theirs = read(&app, &pia, &id, Some(&shared), Some(first)).await;
        assert_eq!(theirs, moments[0]);
        assert_eq!(
            read(&app, &oto, &id, Some(&shared), Some(first)).await,
            Value::Null
        );
    }

    // A moment to come is not history.
    let refused = app
        .error(
            Some(&ona),
            &operation("ProjectAsOf"),
            json!({"id": uuid::Uuid::new_v4(), "asOf": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(refused, ("BAD_USER_INPUT".into(), Some("asOf".into())));
    app.app.stop().await;
}

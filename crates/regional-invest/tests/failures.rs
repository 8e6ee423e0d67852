//! Operators read the events projections skipped (issue 11): the platform-admin GraphQL query
//! `projectionFailures` and `regional-invest failures`, against the running service.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, operation};
use ri_domain::Role;
use serde_json::json;

/// An event an earlier version could have stored and no projection can decode; its position.
async fn poison(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO events (event_id, tenant, aggregate_type, aggregate_id, sequence, \
             event_type, event_version, payload, metadata) \
         VALUES (gen_random_uuid(), 'l3ce', 'FundingInstrument', 'broken', 1, \
             'InstrumentRevised', '1', '{\"InstrumentRevised\": {\"changes\": 5}}', \
             '{\"tenant\": \"l3ce\", \"actor\": \"x\"}') \
         RETURNING position",
    )
    .fetch_one(app.app.log.pool())
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn platform_admins_and_the_cli_read_the_events_projections_skipped() {
    let app = TestApp::start().await;
    let position = poison(&app).await;
    // A tenant registered after the poison still appears: the projections moved on.
    app.tenant("after", "LT").await;

    let admin = app.token("root", "platform", &[Role::PlatformAdmin]).await;
    let vars = json!({"projection": "catalogue"});
    let body = app
        .eventually_with(
            |b| b["data"]["projectionFailures"][0].is_object(),
            &operation("ProjectionFailures"),
            vars.clone(),
            Some(&admin),
        )
        .await;
    let failure = &body["data"]["projectionFailures"][0];
    assert_eq!(failure["projection"], "catalogue");
    assert_eq!(failure["position"], position);
    assert_eq!(failure["tenant"], "l3ce");
    assert_eq!(failure["aggregateId"], "broken");
    assert_eq!(failure["eventType"], "InstrumentRevised");
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .contains("InstrumentRevised"),
        "{failure}"
    );
    let all = app
        .eventually_with(
            |b| {
                b["data"]["projectionFailures"]
                    .as_array()
                    .is_some_and(|a| a.len() == 3)
            },
            &operation("ProjectionFailures"),
            json!({}),
            Some(&admin),
        )
        .await;
    let mut names = all["data"]["projectionFailures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["projection"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    names.sort();
    // The projections that read instrument events; the others never decode it.
    assert_eq!(names, ["audit", "catalogue", "watches"]);

    let curator = app
        .token("ana", "l3ce", &[Role::Curator, Role::TenantAdmin])
        .await;
    let (code, _) = app
        .error(
            Some(&curator),
            &operation("ProjectionFailures"),
            vars.clone(),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = app
        .error(None, &operation("ProjectionFailures"), vars)
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    let (code, field) = app
        .error(
            Some(&admin),
            &operation("ProjectionFailures"),
            json!({"projection": "nope"}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("projection"))
    );
    let (code, field) = app
        .error(
            Some(&admin),
            &operation("ProjectionFailures"),
            json!({"first": -1}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("first"))
    );

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_regional-invest"))
        .args(["failures", "catalogue"])
        .env("DATABASE_URL", &app.config.database_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    let lines = stdout.lines().collect::<Vec<_>>();
    assert_eq!(lines.len(), 2, "a header and one failure: {stdout}");
    assert!(
        lines[1].starts_with(&format!("{position}\tcatalogue\tInstrumentRevised\tl3ce\t")),
        "{stdout}"
    );

    app.app.stop().await;
}

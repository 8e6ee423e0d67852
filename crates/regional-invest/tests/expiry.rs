//! Calls expire on their own: the platform records one close event when the deadline passes,
//! however many server processes race for it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::{Duration, Instant};

use common::{TestApp, call, operation};
use regional_invest::App;
use ri_domain::Role;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

/// Publishes a call whose deadline is `seconds` from now; returns its id.
async fn call_closing_in(app: &TestApp, curator: &str, title: &str, seconds: u64) -> String {
    let data = app
        .ok(
            Some(curator),
            &operation("DraftInstrument"),
            json!({"input": call(title, "LT")}),
        )
        .await;
    let id = data["draftInstrument"]["id"].as_str().unwrap().to_owned();
    let deadline = (time::OffsetDateTime::now_utc() + Duration::from_secs(seconds))
        .format(&Rfc3339)
        .unwrap();
    for (op, variables) in [
        (
            "TagInstrumentFeatures",
            json!({"id": id, "features": ["T1"]}),
        ),
        (
            "SetInstrumentDeadline",
            json!({"id": id, "deadline": deadline}),
        ),
        ("PublishInstrument", json!({"id": id})),
    ] {
        app.ok(Some(curator), &operation(op), variables).await;
    }
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_on_an_expired_deadline_record_one_close() {
    let app = TestApp::start_with(|c| c.expiry_interval_ms = 50).await;
    // A second server process on the same database.
    let other = App::start(&app.config, false).await.unwrap();
    app.tenant("l3ce", "LT").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;

    let id = call_closing_in(&app, &curator, "Closing soon", 3).await;

    let closes = || async {
        sqlx::query_as::<_, (i64, Option<String>)>(
            "SELECT count(*), min(metadata->>'actor') FROM events \
             WHERE aggregate_id = $1 AND event_type = 'InstrumentClosed'",
        )
        .bind(&id)
        .fetch_one(app.app.log.pool())
        .await
        .unwrap()
    };
    let until = Instant::now() + Duration::from_secs(30);
    while closes().await.0 == 0 {
        assert!(Instant::now() < until, "the call never closed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Both processes keep scanning; give them many more rounds to get it wrong.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(closes().await, (1, Some("system".to_owned())));

    // The closed call has left the default search.
    let open = app
        .ok(None, &operation("SearchInstruments"), json!({}))
        .await;
    assert_eq!(open["instruments"]["totalCount"], 0);

    // Its curator reopens it with a new deadline: it is back in search, and stays open.
    app.ok(
        Some(&curator),
        &operation("ReopenInstrument"),
        json!({"id": id, "deadline": "2031-03-31T17:00:00+02:00", "timeZone": "Europe/Vilnius"}),
    )
    .await;
    app.eventually_with(
        |b| b["data"]["instruments"]["totalCount"] == 1,
        &operation("SearchInstruments"),
        json!({}),
        None,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        closes().await.0,
        1,
        "not closed again before its new deadline"
    );
    other.stop().await;
    app.app.stop().await;
}

#[tokio::test]
async fn a_deadline_that_passed_while_the_service_was_down_is_handled_at_start() {
    // Scans only at start (and then every ten minutes).
    let app = TestApp::start_with(|c| c.expiry_interval_ms = 600_000).await;
    app.tenant("l3ce", "LT").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let id = call_closing_in(&app, &curator, "Closes while down", 2).await;
    // Let the catalogue see the publication, then go down until the deadline has passed.
    app.eventually_with(
        |b| b["data"]["instrument"]["status"] == "OPEN",
        &operation("Instrument"),
        json!({"id": id}),
        None,
    )
    .await;
    let TestApp {
        app: server,
        config,
        ..
    } = app;
    server.stop().await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let restarted = App::start(&config, false).await.unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let closed: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM events WHERE aggregate_id = $1 AND event_type = 'InstrumentClosed'",
        )
        .bind(&id)
        .fetch_one(restarted.log.pool())
        .await
        .unwrap();
        if closed == 1 {
            break;
        }
        assert!(Instant::now() < until, "not closed after the restart");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    restarted.stop().await;
}

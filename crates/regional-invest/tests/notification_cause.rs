//! Why a notice fired (issue 16): every notification names the event that made it (position,
//! type, actor, time, changed fields), the watch's filter as it stood at that moment, and what
//! of it the instrument met, however the filter changed afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, call, operation, unique_slug};
use ri_domain::Role;
use serde_json::{Value, json};

/// The log position of a `<tx>:<position>` token.
fn position(token: &str) -> i64 {
    token.rsplit(':').next().unwrap().parse().unwrap()
}

/// Drafts, tags, schedules and publishes a call; returns its id and the publication's log
/// position.
async fn publish(app: &TestApp, curator: &str, title: &str, features: &[&str]) -> (String, String) {
    let id = app
        .ok(
            Some(curator),
            &operation("DraftInstrument"),
            json!({"input": call(title, "LT")}),
        )
        .await["draftInstrument"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.mutate(
        curator,
        "TagInstrumentFeatures",
        json!({"id": id, "features": features}),
    )
    .await;
    app.mutate(
        curator,
        "SetInstrumentDeadline",
        json!({"id": id, "deadline": "2030-03-31T17:00:00+02:00", "timeZone": "Europe/Vilnius"}),
    )
    .await;
    let published = app
        .mutate(curator, "PublishInstrument", json!({"id": id}))
        .await
        .1;
    (id, published)
}

fn codes(features: &Value) -> Vec<&str> {
    features
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn a_notice_names_its_event_and_the_filter_as_it_stood_whatever_changed_later() {
    let app = TestApp::start().await;
    let (curating, seeking) = (unique_slug(), unique_slug());
    app.tenant(&curating, "LT").await;
    app.tenant(&seeking, "RO").await;
    let curator = app.token("ana", &curating, &[Role::Curator]).await;
    let seeker = app.token("sme-1", &seeking, &[]).await;

    let watch = app
        .ok(
            Some(&seeker),
            &operation("CreateWatch"),
            json!({"input": {"name": "Border technology", "filter": {"features": ["T1"]}}}),
        )
        .await["createWatch"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A call with T1 and T8 is published: a NEW_MATCH under the T1 filter.
    let (id, published) = publish(&app, &curator, "Border call", &["T1", "T8"]).await;
    app.notifications(&seeker, 1).await;

    // The filter changes to T8 in Lithuania; then the title changes: a CHANGED under it.
    let update =
        |filter: Value| json!({"id": watch, "expectedVersion": null, "input": {"filter": filter}});
    app.mutate(
        &seeker,
        "UpdateWatch",
        update(json!({"features": ["T8"], "countries": ["LT"]})),
    )
    .await;
    let revised = app
        .mutate(
            &curator,
            "ReviseInstrument",
            json!({"id": id, "input": {"title": "Border call 2030"}}),
        )
        .await
        .1;
    app.notifications(&seeker, 2).await;
    // And later again, to something the call does not have: the causes above do not move.
    app.mutate(&seeker, "UpdateWatch", update(json!({"features": ["D2"]})))
        .await;

    let notices = app.notifications(&seeker, 2).await;
    assert_eq!(notices.len(), 2, "{notices:?}");
    let (matched, changed) = (&notices[0], &notices[1]);
    assert_eq!(matched["kind"], "NEW_MATCH");
    assert_eq!(changed["kind"], "CHANGED");

    let cause = &matched["cause"];
    let event = &cause["events"][0];
    assert_eq!(event["position"], position(&published));
    assert_eq!(event["eventType"], "InstrumentPublished");
    assert_eq!(event["aggregateId"], id);
    assert_eq!(event["tenant"], json!(curating));
    // Another tenant's curator: the organisation is named, the person is not.
    assert_eq!(event["actor"], Value::Null);
    assert_eq!(cause["asOf"], event["recordedAt"]);
    assert_eq!(cause["watch"]["id"], json!(watch));
    assert_eq!(cause["watch"]["version"], 1);
    assert_eq!(codes(&cause["watch"]["filter"]["features"]), ["T1"]);
    assert_eq!(codes(&cause["watchMatch"]["features"]), ["T1"]);
    assert_eq!(cause["watchMatch"]["met"], true);
    let summary = cause["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!(
            "Instrument published by a curator of {curating} on "
        )),
        "{summary}"
    );
    assert!(
        summary
            .ends_with("your watch \"Border technology\" (version 1) matched it on features T1."),
        "{summary}"
    );

    let cause = &changed["cause"];
    let event = &cause["events"][0];
    assert_eq!(event["position"], position(&revised));
    assert_eq!(event["eventType"], "InstrumentRevised");
    assert_eq!(event["changes"], json!([{"field": "title"}]));
    assert_eq!(cause["watch"]["version"], 2);
    assert_eq!(codes(&cause["watch"]["filter"]["features"]), ["T8"]);
    assert_eq!(cause["watch"]["filter"]["countries"], json!(["LT"]));
    assert_eq!(codes(&cause["watchMatch"]["features"]), ["T8"]);
    assert_eq!(cause["watchMatch"]["countries"], json!(["LT"]));

    // The link of the inbox: the instrument as the NEW_MATCH saw it, before its new title.
    let then = app
        .ok(
            Some(&seeker),
            &operation("Instrument"),
            json!({"id": id, "asOf": matched["cause"]["asOf"]}),
        )
        .await;
    assert_eq!(then["instrument"]["title"], "Border call");
    assert_eq!(then["instrument"]["status"], "OPEN");
    app.app.stop().await;
}

#[tokio::test]
async fn a_curators_own_tenant_sees_who_acted() {
    let app = TestApp::start().await;
    let slug = unique_slug();
    app.tenant(&slug, "LT").await;
    let curator = app.token("ana", &slug, &[Role::Curator]).await;
    let colleague = app.token("ben", &slug, &[]).await;
    app.ok(
        Some(&colleague),
        &operation("CreateWatch"),
        json!({"input": {"name": "Ours", "filter": {"tenant": slug}}}),
    )
    .await;
    publish(&app, &curator, "Our call", &["T1"]).await;
    let notices = app.notifications(&colleague, 1).await;
    let cause = &notices[0]["cause"];
    assert_eq!(cause["events"][0]["actor"], "ana");
    assert!(
        cause["summary"]
            .as_str()
            .unwrap()
            .starts_with("Instrument published by ana on "),
        "{cause}"
    );
    app.app.stop().await;
}

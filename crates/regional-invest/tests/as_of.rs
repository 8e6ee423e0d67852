//! An instrument as it stood at any moment of its history (issue 16): `instrument(id, asOf)`
//! folds its events recorded until then, so each moment reads exactly as the catalogue showed
//! it then, and another tenant or the public sees it only from its publication on.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, call, operation, unique_slug};
use rand::{RngExt, SeedableRng, rngs::StdRng};
use ri_domain::Role;
use serde_json::{Value, json};

/// Drafts a call titled `title`; returns its id.
async fn draft(app: &TestApp, token: &str, title: &str) -> String {
    let data = app
        .ok(
            Some(token),
            &operation("DraftInstrument"),
            json!({"input": call(title, "LT")}),
        )
        .await;
    data["draftInstrument"]["id"].as_str().unwrap().to_owned()
}

/// The instrument page's object for `token`: now, once the catalogue reflects `after`, or as
/// of `as_of`.
async fn instrument(
    app: &TestApp,
    token: Option<&str>,
    id: &str,
    after: Option<&str>,
    as_of: Option<&str>,
) -> Value {
    let (status, body) = app
        .gql(
            token,
            &operation("Instrument"),
            json!({"id": id, "consistentWith": after, "asOf": as_of}),
        )
        .await;
    assert!(status == 200 && body["errors"].is_null(), "{body}");
    body["data"]["instrument"].clone()
}

#[tokio::test]
async fn an_instrument_reads_as_it_stood_at_each_moment_of_its_history() {
    let app = TestApp::start().await;
    let (x, y) = (unique_slug(), unique_slug());
    app.tenant(&x, "LT").await;
    app.tenant(&y, "DK").await;
    let curator = app.token("ana", &x, &[Role::Curator]).await;
    let other = app.token("ben", &y, &[Role::Curator]).await;

    let id = draft(&app, &curator, "First title").await;
    app.mutate(
        &curator,
        "TagInstrumentFeatures",
        json!({"id": id, "features": ["T1"]}),
    )
    .await;
    let at = app.mutate(&curator,
        "SetInstrumentDeadline",
        json!({"id": id, "deadline": "2030-03-31T17:00:00+02:00", "timeZone": "Europe/Vilnius"}),
    )
    .await.1;
    let drafted = instrument(&app, Some(&curator), &id, Some(&at), None).await;
    let at = app
        .mutate(&curator, "PublishInstrument", json!({"id": id}))
        .await
        .1;
    let published = instrument(&app, Some(&curator), &id, Some(&at), None).await;
    let at = app
        .mutate(
            &curator,
            "ReviseInstrument",
            json!({"id": id, "input": {"title": "Second title"}}),
        )
        .await
        .1;
    let revised = instrument(&app, Some(&curator), &id, Some(&at), None).await;
    assert_eq!(drafted["status"], "DRAFT");
    assert_eq!(published["status"], "OPEN");
    assert_eq!(revised["title"], "Second title");

    // At the moment of each change, exactly what the catalogue showed then.
    for then in [&drafted, &published, &revised] {
        let when = then["updatedAt"].as_str().unwrap();
        assert_eq!(
            &instrument(&app, Some(&curator), &id, None, Some(when)).await,
            then,
            "as of {when}"
        );
    }
    // Before it was drafted: nothing.
    let before = Some("2020-01-01T00:00:00Z");
    assert_eq!(
        instrument(&app, Some(&curator), &id, None, before).await,
        Value::Null
    );
    // Another tenant and the public: nothing while it was a draft, then as it was.
    let while_draft = drafted["updatedAt"].as_str();
    let once_published = published["updatedAt"].as_str();
    for viewer in [None, Some(other.as_str())] {
        assert_eq!(
            instrument(&app, viewer, &id, None, while_draft).await,
            Value::Null,
            "{viewer:?}"
        );
        let then = instrument(&app, viewer, &id, None, once_published).await;
        assert_eq!(then["title"], "First title", "{viewer:?}");
        assert_eq!(then["version"], published["version"], "{viewer:?}");
    }
    // Past its deadline a call reads closed, as it would have then, whether or not the
    // platform had recorded its closing yet.
    let soon = draft(&app, &curator, "Soon closed").await;
    app.mutate(
        &curator,
        "TagInstrumentFeatures",
        json!({"id": soon, "features": ["T1"]}),
    )
    .await;
    // Seconds ahead, so that scheduling and publishing stay before it even under load.
    let deadline = time::OffsetDateTime::now_utc() + time::Duration::seconds(5);
    let rfc3339 = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    app.mutate(
        &curator,
        "SetInstrumentDeadline",
        json!({"id": soon, "deadline": rfc3339(deadline), "timeZone": "Europe/Vilnius"}),
    )
    .await;
    let published = app
        .mutate(&curator, "PublishInstrument", json!({"id": soon}))
        .await
        .1;
    let open = instrument(&app, None, &soon, Some(&published), None).await;
    assert_eq!(open["status"], "OPEN");
    let after = deadline + time::Duration::milliseconds(200);
    let wait = after - time::OffsetDateTime::now_utc() + time::Duration::milliseconds(100);
    if let Ok(wait) = std::time::Duration::try_from(wait) {
        tokio::time::sleep(wait).await;
    }
    let closed = instrument(&app, None, &soon, None, Some(&rfc3339(after))).await;
    assert_eq!(closed["status"], "CLOSED");
    assert_eq!(closed["title"], "Soon closed");
    let then = instrument(&app, None, &soon, None, open["updatedAt"].as_str()).await;
    assert_eq!(then["status"], "OPEN");
}

#[tokio::test]
async fn as_of_each_change_equals_what_the_catalogue_showed_after_it_in_random_histories() {
    let app = TestApp::start().await;
    let x = unique_slug();
    app.tenant(&x, "LT").await;
    let curator = app.token("ana", &x, &[Role::Curator]).await;
    let words = [
        "Border",
        "Drones",
        "Cyber",
        "Maritime",
        "Resilience",
        "Ports",
    ];
    let features = ["T1", "T2", "T4", "P12", "D1", "G3"];
    for seed in [7_u64, 1_234_567, 987_654_321] {
        let mut rng = StdRng::seed_from_u64(seed);
        let id = draft(&app, &curator, "Random history").await;
        // Every command changes something (a command that would change nothing is refused).
        let mut untagged: Vec<&str> = features.to_vec();
        let mut seen = Vec::new();
        for step in 0..10 {
            let choice = rng.random_range(0..4);
            let (name, variables) = match (step, choice) {
                (0, _) => {
                    untagged.retain(|f| *f != "T1");
                    (
                        "TagInstrumentFeatures",
                        json!({"id": id, "features": ["T1"]}),
                    )
                }
                (1, _) | (_, 0) => (
                    "SetInstrumentDeadline",
                    json!({
                        "id": id,
                        "deadline": format!("2031-0{}-{}T12:00:00Z", 1 + rng.random_range(0..9), 10 + step),
                    }),
                ),
                (4, _) => ("PublishInstrument", json!({"id": id})),
                (_, 3) if !untagged.is_empty() => {
                    let feature = untagged.swap_remove(rng.random_range(0..untagged.len()));
                    (
                        "TagInstrumentFeatures",
                        json!({"id": id, "features": [feature]}),
                    )
                }
                (_, 2) => (
                    "ReviseInstrument",
                    json!({"id": id, "input": {"summary": format!("About {} ({step}).", words[rng.random_range(0..words.len())])}}),
                ),
                _ => (
                    "ReviseInstrument",
                    json!({"id": id, "input": {"title": format!("{} call {step}", words[rng.random_range(0..words.len())])}}),
                ),
            };
            let at = app.mutate(&curator, name, variables).await.1;
            seen.push(instrument(&app, Some(&curator), &id, Some(&at), None).await);
        }
        for then in &seen {
            let when = then["updatedAt"].as_str().unwrap();
            assert_eq!(
                &instrument(&app, Some(&curator), &id, None, Some(when)).await,
                then,
                "seed {seed}, as of {when}"
            );
        }
    }
}

/// The moment now, as the API writes one; the service and PostgreSQL share this machine's
/// clock, so a change answered before it was recorded before it.
fn moment() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

async fn tenant_as_of(app: &TestApp, slug: &str, as_of: Option<&str>) -> Value {
    let (status, body) = app
        .gql(
            None,
            "query ($slug: String!, $asOf: DateTime) { tenant(slug: $slug, asOf: $asOf) { slug name suspended version } }",
            json!({"slug": slug, "asOf": as_of}),
        )
        .await;
    assert!(status == 200 && body["errors"].is_null(), "{body}");
    body["data"]["tenant"].clone()
}

#[tokio::test]
async fn a_tenant_and_its_instruments_curator_read_as_they_stood() {
    let app = TestApp::start().await;
    let x = unique_slug();
    app.tenant(&x, "LT").await;
    let registered = moment();
    let admin = app.token("admin", "platform", &[Role::PlatformAdmin]).await;
    let curator = app.token("ana", &x, &[Role::Curator]).await;
    let id = draft(&app, &curator, "Drafted before the rename").await;
    let drafted = moment();
    app.mutate(&admin,
        "UpdateTenantProfile",
        json!({"slug": x, "input": {"name": "Renamed cluster", "kind": "AMBASSADOR_CLUSTER", "country": "LT"}}),
    )
    .await;
    let renamed = moment();
    let at = app
        .mutate(
            &admin,
            "SuspendTenant",
            json!({"slug": x, "reason": "A test of the past."}),
        )
        .await
        .1;

    assert_eq!(
        tenant_as_of(&app, &x, Some("2020-01-01T00:00:00Z")).await,
        Value::Null
    );
    let then = tenant_as_of(&app, &x, Some(&registered)).await;
    assert_eq!(
        (then["name"].clone(), then["suspended"].clone()),
        (json!(format!("{x} cluster")), json!(false))
    );
    let then = tenant_as_of(&app, &x, Some(&renamed)).await;
    assert_eq!(
        (then["name"].clone(), then["suspended"].clone()),
        (json!("Renamed cluster"), json!(false))
    );
    // As of now: what the directory shows, once it has the suspension.
    let now = app
        .eventually(
            |b| b["data"]["tenant"]["suspended"] == true,
            format!("query {{ tenant(slug: \"{x}\") {{ slug name suspended version }} }}"),
            None,
        )
        .await;
    assert_eq!(
        tenant_as_of(&app, &x, Some(&moment())).await,
        now["data"]["tenant"]
    );

    // The instrument drafted before the rename shows its curator as it was then (read once
    // this replica has the log up to the suspension, as every read after a write here).
    let before = instrument(&app, Some(&curator), &id, Some(&at), Some(&drafted)).await;
    assert_eq!(before["curator"]["name"], format!("{x} cluster"));
    assert_eq!(before["curator"]["suspended"], false);
    let current = instrument(&app, Some(&curator), &id, Some(&at), None).await;
    assert_eq!(current["curator"]["name"], "Renamed cluster");
}

#[tokio::test]
async fn a_moment_that_is_not_an_instant_is_refused() {
    let app = TestApp::start().await;
    for (query, variables) in [
        (
            operation("Instrument"),
            json!({"id": uuid::Uuid::new_v4().to_string(), "asOf": "last March"}),
        ),
        (
            "query ($slug: String!, $asOf: DateTime) { tenant(slug: $slug, asOf: $asOf) { slug } }"
                .to_owned(),
            json!({"slug": "l3ce", "asOf": "2026-13-01T00:00:00Z"}),
        ),
    ] {
        let (_, body) = app.gql(None, &query, variables).await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        // async-graphql's scalar check, as for every DateTime argument: it names the type.
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .starts_with("Failed to parse \"DateTime\""),
            "{body}"
        );
        assert!(
            body["data"].is_null() || body["data"]["instrument"].is_null(),
            "{body}"
        );
    }
    // A moment to come is not history: refused at `asOf`, for an instrument and a tenant.
    app.tenant("l3ce", "LT").await;
    let future = "2999-01-01T00:00:00Z";
    for (query, variables) in [
        (
            operation("Instrument"),
            json!({"id": uuid::Uuid::new_v4().to_string(), "asOf": future}),
        ),
        (
            "query ($slug: String!, $asOf: DateTime) { tenant(slug: $slug, asOf: $asOf) { slug } }"
                .to_owned(),
            json!({"slug": "l3ce", "asOf": future}),
        ),
    ] {
        let refused = app.error(None, &query, variables).await;
        assert_eq!(refused, ("BAD_USER_INPUT".into(), Some("asOf".into())));
    }
}

//! Issue 11, the input side, over HTTP on the real PostgreSQL and NATS: no input is accepted
//! that a projection cannot apply, and no input panics the request or answers `INTERNAL`.
//!
//! - the poison instants of the issue (`9999-12-31T23:59:59-23:59` as a deadline, a demo
//!   event in 9999, a window that would close past 2199) are `BAD_USER_INPUT` naming the field,
//!   and the log does not grow;
//! - time zones are names of the IANA database; a follow-up session is not before its demo
//!   event; a milestone is not in the future;
//! - query inputs: out-of-range `deadlineFrom`/`deadlineTo`, crafted cursors, a NUL in search
//!   text or in an id are `BAD_USER_INPUT` (or nothing found), and the service keeps answering;
//! - NUL in the text of a command (a title) or in a CSV header is refused, nothing stored.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, call, operation};
use ri_domain::Role;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

const POISON: &str = "9999-12-31T23:59:59-23:59";

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

fn today() -> time::Date {
    OffsetDateTime::now_utc().date()
}

/// A tenant slug no other test (nor another run, on the shared NATS) uses.
fn unique_slug() -> String {
    format!("h{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn hex(raw: &str) -> String {
    raw.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Runs `query` expecting a refusal; asserts its code and field and that nothing was stored.
async fn refused(
    app: &TestApp,
    token: Option<&str>,
    query: &str,
    variables: Value,
    field: Option<&str>,
) {
    let before = app.event_count().await;
    let (status, body) = app.gql(token, query, variables.clone()).await;
    let error = &body["errors"][0];
    assert_eq!(
        error["extensions"]["code"], "BAD_USER_INPUT",
        "{status} {variables}: {body}"
    );
    assert_eq!(
        error["extensions"]["field"].as_str(),
        field,
        "{variables}: {body}"
    );
    assert_eq!(app.event_count().await, before, "{variables}: stored");
}

/// The service still answers a plain search (a panicking request would not stop it, but a
/// halted read model or a dropped pool would show here).
async fn still_answers(app: &TestApp) {
    let data = app
        .ok(None, &operation("SearchInstruments"), json!({"first": 1}))
        .await;
    assert!(data["instruments"]["totalCount"].is_number(), "{data}");
}

#[tokio::test]
async fn poison_schedules_and_unknown_zones_are_refused_and_store_nothing() {
    let app = TestApp::start().await;
    let slug = unique_slug();
    app.tenant(&slug, "LT").await;
    let curator = app.token("ana", &slug, &[Role::Curator]).await;
    let drafted = app
        .ok(
            Some(&curator),
            &operation("DraftInstrument"),
            json!({"input": call("Border security call", "LT")}),
        )
        .await;
    let id = drafted["draftInstrument"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let set = operation("SetInstrumentDeadline");
    let later = rfc3339(OffsetDateTime::now_utc() + Duration::days(60));

    for (variables, field) in [
        (json!({"id": id, "deadline": POISON}), "deadline"),
        (
            json!({"id": id, "deadline": "2200-01-01T01:30:00+01:00"}),
            "deadline",
        ),
        (
            json!({"id": id, "deadline": "1850-01-01T00:00:00Z"}),
            "deadline",
        ),
        (
            json!({"id": id, "openingDate": "9999-01-01", "deadline": later}),
            "openingDate",
        ),
        (
            json!({"id": id, "deadline": later, "timeZone": "Mars/Olympus"}),
            "timeZone",
        ),
        (
            json!({"id": id, "deadline": later, "timeZone": "Europe/Dubln"}),
            "timeZone",
        ),
    ] {
        refused(&app, Some(&curator), &set, variables, Some(field)).await;
    }

    // A NUL in a command's text is refused naming the field; PostgreSQL never sees it.
    let mut input = call("Border\u{0} call", "LT");
    refused(
        &app,
        Some(&curator),
        &operation("DraftInstrument"),
        json!({"input": input.clone()}),
        Some("title"),
    )
    .await;
    input["title"] = json!("Border call");
    input["summary"] = json!("Support\u{0}");
    refused(
        &app,
        Some(&curator),
        &operation("DraftInstrument"),
        json!({"input": input}),
        Some("summary"),
    )
    .await;

    // A real zone is taken, spelled as the database spells it.
    let before = app.event_count().await;
    let set_ok = app
        .ok(
            Some(&curator),
            &set,
            json!({"id": id, "deadline": later, "timeZone": "Europe/Vilnius"}),
        )
        .await;
    assert_eq!(set_ok["setInstrumentDeadline"]["version"], 2, "{set_ok}");
    assert_eq!(app.event_count().await, before + 1);
    let shown = app
        .eventually(
            |b| b["data"]["instrument"]["timeZone"] == "Europe/Vilnius",
            format!("query {{ instrument(id: \"{id}\") {{ timeZone deadline }} }}"),
            Some(&curator),
        )
        .await;
    assert!(shown["data"]["instrument"]["deadline"].is_string());
    still_answers(&app).await;
}

/// A follow-up manager's tenant with an area, a cluster and a project in it.
struct Cluster {
    app: TestApp,
    ona: String,
    cluster: String,
    project: String,
}

async fn cluster() -> Cluster {
    let app = TestApp::start().await;
    let slug = unique_slug();
    app.tenant(&slug, "LT").await;
    let ona = app.token("ona", &slug, &[Role::FollowUpManager]).await;
    let project = app
        .ok(
            Some(&ona),
            &operation("RegisterProject"),
            json!({"input": {
                "acronym": "ERRATA", "title": "ERRATA, a funded project",
                "consortium": [{"name": "ERRATA SME", "country": "LT"}]
            }}),
        )
        .await["registerProject"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let area = app
        .ok(
            Some(&ona),
            &operation("NameEndUserArea"),
            json!({"input": {"name": "Public events", "domain": "PUBLIC_SPACE_PROTECTION"}}),
        )
        .await["nameEndUserArea"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cluster = app
        .ok(
            Some(&ona),
            &operation("FormCluster"),
            json!({"input": {"areaId": area, "name": "Public events cluster"}}),
        )
        .await["formCluster"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        Some(&ona),
        &operation("AssignProjectToCluster"),
        json!({"clusterId": cluster, "projectId": project}),
    )
    .await;
    Cluster {
        app,
        ona,
        cluster,
        project,
    }
}

fn demo(c: &Cluster, starts_at: &str, zone: &str) -> Value {
    json!({"clusterId": c.cluster, "input": {
        "title": "Demo day", "startsAt": starts_at, "timeZone": zone,
        "place": "Vilnius Tech Park", "agenda": [c.project]
    }})
}

#[tokio::test]
async fn demo_events_sessions_and_milestones_keep_to_their_bounds_and_rules() {
    let c = cluster().await;
    let app = &c.app;
    let ona = Some(c.ona.as_str());
    let schedule = operation("ScheduleDemoEvent");
    for (starts_at, zone, field) in [
        ("9999-12-31T12:00:00Z", "Europe/Vilnius", "startsAt"),
        (POISON, "Europe/Vilnius", "startsAt"),
        // Inside the bounds, but its feedback window would close past them.
        ("2199-12-31T12:00:00Z", "Europe/Vilnius", "startsAt"),
        ("2030-05-20T10:00:00+03:00", "Mars/Olympus", "timeZone"),
        ("2030-05-20T10:00:00+03:00", "Europe/Dubln", "timeZone"),
    ] {
        refused(app, ona, &schedule, demo(&c, starts_at, zone), Some(field)).await;
    }

    let starts_at = OffsetDateTime::now_utc() + Duration::days(3);
    let event = app
        .ok(
            ona,
            &schedule,
            demo(&c, &rfc3339(starts_at), "Europe/Vilnius"),
        )
        .await["scheduleDemoEvent"]["entityId"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        app,
        ona,
        &operation("RescheduleDemoEvent"),
        json!({"clusterId": c.cluster, "eventId": event, "startsAt": "9999-12-31T12:00:00Z", "timeZone": "Europe/Vilnius"}),
        Some("startsAt"),
    )
    .await;

    // A session dated before its demo event (two days before, in any zone) is refused.
    let session = |date: time::Date, due: &str| {
        json!({"clusterId": c.cluster, "input": {
            "date": date.to_string(), "demoEventId": event,
            "attendees": ["Ona"], "notes": "Debrief",
            "nextSteps": [{"projectId": c.project, "action": "Pilot", "owner": "ERRATA team", "due": due}]
        }})
    };
    let record = operation("RecordFollowUpSession");
    refused(
        app,
        ona,
        &record,
        session(today(), "2031-01-01"),
        Some("date"),
    )
    .await;
    let after = (starts_at + Duration::days(2)).date();
    refused(app, ona, &record, session(after, "9999-12-31"), Some("due")).await;
    app.ok(ona, &record, session(after, "2031-01-01")).await;

    // A milestone records what happened: not in the future, not in 9999.
    let milestone = operation("RecordProjectMilestone");
    let input = |date: String| json!({"id": c.project, "input": {"criterion": "RECOGNITION", "date": date, "description": "Prize"}});
    refused(
        app,
        ona,
        &milestone,
        input((today() + Duration::days(30)).to_string()),
        Some("date"),
    )
    .await;
    refused(
        app,
        ona,
        &milestone,
        input("9999-12-31".into()),
        Some("date"),
    )
    .await;
    app.ok(ona, &milestone, input(today().to_string())).await;
    still_answers(app).await;
}

#[tokio::test]
async fn query_inputs_are_bad_input_never_a_panic_nor_internal() {
    let app = TestApp::start().await;
    let search = operation("SearchInstruments");
    for (variables, field) in [
        (
            json!({"filter": {"deadlineFrom": POISON}}),
            "filter.deadlineFrom",
        ),
        (
            json!({"filter": {"deadlineTo": "0001-01-01T00:00:00+23:59"}}),
            "filter.deadlineTo",
        ),
        (
            json!({"filter": {"text": "border\u{0}control"}}),
            "filter.text",
        ),
        (json!({"filter": {"text": "\u{0}"}}), "filter.text"),
        (json!({"filter": {"text": "a\u{7}b"}}), "filter.text"),
        (json!({"after": "zz"}), "after"),
        (
            json!({"after": hex(&format!(r#"{{"s":"d","k":"{POISON}","id":"x"}}"#))}),
            "after",
        ),
        (
            json!({"after": hex(r#"{"s":"d","k":null,"id":"a\u0000b"}"#)}),
            "after",
        ),
        (
            json!({"sort": "RECENTLY_UPDATED", "after": hex(r#"{"s":"u","k":"+99999-01-01T00:00:00Z","id":"x"}"#)}),
            "after",
        ),
    ] {
        refused(&app, None, &search, variables, Some(field)).await;
    }
    // Words with tabs and line breaks are still words.
    app.ok(
        None,
        &search,
        json!({"filter": {"text": "border\tcontrol\r\n"}}),
    )
    .await;

    // An id PostgreSQL cannot hold names nothing.
    let data = app
        .ok(
            None,
            "query($id: ID!) { instrument(id: $id) { id } }",
            json!({"id": "a\u{0}b"}),
        )
        .await;
    assert_eq!(data["instrument"], Value::Null);
    let slug = unique_slug();
    app.tenant(&slug, "LT").await;
    let curator = app.token("ana", &slug, &[Role::Curator]).await;
    refused(
        &app,
        Some(&curator),
        &operation("AuditTrail"),
        json!({"id": "a\u{0}b"}),
        Some("aggregateId"),
    )
    .await;
    // A command on such an id: nothing is found, never INTERNAL.
    let before = app.event_count().await;
    let (code, _) = app
        .error(
            Some(&curator),
            &operation("SetInstrumentDeadline"),
            json!({"id": "a\u{0}b", "deadline": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert!(
        ["NOT_FOUND", "BAD_USER_INPUT"].contains(&code.as_str()),
        "{code}"
    );
    assert_eq!(app.event_count().await, before);
    // Reads by such an id or token find nothing or refuse it; none answers INTERNAL.
    let manager = app.token("ona", &slug, &[Role::FollowUpManager]).await;
    for (name, variables) in [
        ("Cluster", json!({"id": "a\u{0}b"})),
        ("Project", json!({"id": "a\u{0}b"})),
        ("FeedbackInvitation", json!({"token": "a\u{0}b"})),
        ("Notifications", json!({"after": "1\u{0}"})),
    ] {
        let (status, body) = app.gql(Some(&manager), &operation(name), variables).await;
        let code = &body["errors"][0]["extensions"]["code"];
        assert!(
            code.is_null() || code == "BAD_USER_INPUT" || code == "NOT_FOUND",
            "{name}: {status} {body}"
        );
    }
    still_answers(&app).await;
}

#[tokio::test]
async fn a_feature_matrix_header_with_a_nul_is_a_problem_and_nothing_is_stored() {
    let app = TestApp::start().await;
    let slug = unique_slug();
    app.tenant(&slug, "LT").await;
    let curator = app.token("ana", &slug, &[Role::Curator]).await;
    let before = app.event_count().await;
    let response = app
        .http
        .post(format!(
            "http://{}/imports/feature-matrix?target=instruments",
            app.app.addr
        ))
        .bearer_auth(&curator)
        .header("content-type", "text/csv")
        .body("Feature,call-\u{0}1\nT1,Y\n")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(body["problems"][0]["column"], 2, "{body}");
    assert_eq!(app.event_count().await, before);
}

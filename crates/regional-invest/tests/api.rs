//! The GraphQL API end to end over HTTP: curators curate, the public searches, every change
//! has a history, and bad input stores nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, call, operation};
use ri_domain::Role;
use serde_json::{Value, json};

const FUTURE: &str = "2030-03-31T17:00:00+02:00";

async fn draft(app: &TestApp, token: &str, input: Value) -> String {
    let data = app
        .ok(
            Some(token),
            &operation("DraftInstrument"),
            json!({"input": input}),
        )
        .await;
    data["draftInstrument"]["id"].as_str().unwrap().to_owned()
}

/// Drafts, tags, schedules and publishes a call; returns its id and version.
async fn published_call(
    app: &TestApp,
    token: &str,
    title: &str,
    country: &str,
    features: &[&str],
) -> (String, i64) {
    let id = draft(app, token, call(title, country)).await;
    app.ok(
        Some(token),
        &operation("TagInstrumentFeatures"),
        json!({"id": id, "features": features}),
    )
    .await;
    app.ok(
        Some(token),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "deadline": FUTURE, "timeZone": "Europe/Vilnius"}),
    )
    .await;
    let data = app
        .ok(
            Some(token),
            &operation("PublishInstrument"),
            json!({"id": id}),
        )
        .await;
    (id, data["publishInstrument"]["version"].as_i64().unwrap())
}

fn search_titles(body: &Value) -> Vec<String> {
    body["data"]["instruments"]["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .map(|e| e["node"]["title"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_curator_publishes_a_call_the_public_finds_it_and_its_history_reads_plainly() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;

    let id = draft(&app, &curator, call("Border security prototypes", "LT")).await;
    // A draft is the tenant's own: the public does not see it.
    let anonymous = app
        .ok(None, &operation("Instrument"), json!({"id": id}))
        .await;
    assert_eq!(anonymous["instrument"], Value::Null);

    let tagged = app
        .ok(
            Some(&curator),
            &operation("TagInstrumentFeatures"),
            json!({"id": id, "expectedVersion": 1, "features": ["T1", "D2"]}),
        )
        .await;
    assert_eq!(tagged["tagInstrumentFeatures"]["version"], 2);
    app.ok(
        Some(&curator),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "expectedVersion": 2, "deadline": "2030-05-03T17:00:00+03:00", "timeZone": "Europe/Vilnius"}),
    )
    .await;
    app.ok(
        Some(&curator),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "expectedVersion": 3, "deadline": "2030-05-17T17:00:00+03:00", "timeZone": "Europe/Vilnius"}),
    )
    .await;
    app.ok(
        Some(&curator),
        &operation("PublishInstrument"),
        json!({"id": id, "expectedVersion": 4}),
    )
    .await;

    let search = operation("SearchInstruments");
    let found = app
        .eventually_with(
            |b| search_titles(b) == ["Border security prototypes"],
            &search,
            json!({"filter": {"features": ["T1", "P3"], "featureMatch": "ANY", "countries": ["LT"], "coverLevels": ["NATIONAL"]}}),
            None,
        )
        .await;
    let results = &found["data"]["instruments"];
    assert_eq!(results["totalCount"], 1);
    assert_eq!(results["edges"][0]["node"]["curator"]["slug"], "l3ce");
    assert!(
        results["facets"]["features"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["feature"]["code"] == "D2" && f["count"] == 1)
    );
    // ALL of T1 and P3: no match.
    let none = app
        .ok(
            None,
            &search,
            json!({"filter": {"features": ["T1", "P3"], "featureMatch": "ALL"}}),
        )
        .await;
    assert_eq!(none["instruments"]["totalCount"], 0);

    let history = app
        .eventually_with(
            |b| b["data"]["auditTrail"]["totalCount"] == 5,
            &operation("AuditTrail"),
            json!({"id": id}),
            Some(&curator),
        )
        .await;
    let entries = history["data"]["auditTrail"]["nodes"].as_array().unwrap();
    assert_eq!(entries[0]["actor"], "ana");
    assert!(
        entries
            .iter()
            .any(|e| e["summary"] == "deadline moved from 2030-05-03 to 2030-05-17"),
        "{entries:?}"
    );
    // Another tenant does not see this history.
    let other = app.token("bob", "l3ce-other", &[Role::Curator]).await;
    let theirs = app
        .ok(Some(&other), &operation("AuditTrail"), json!({"id": id}))
        .await;
    assert_eq!(theirs["auditTrail"]["totalCount"], 0);
    app.app.stop().await;
}

#[tokio::test]
async fn tenants_change_only_their_own_instruments() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("censec", "DK").await;
    let lt = app.token("ana", "l3ce", &[Role::Curator]).await;
    let dk = app.token("bo", "censec", &[Role::Curator]).await;
    let (published, version) = published_call(&app, &lt, "Published call", "LT", &["T1"]).await;
    let draft_id = draft(&app, &lt, call("Private draft", "LT")).await;
    app.eventually_with(
        |b| b["data"]["instrument"]["status"] == "OPEN",
        &operation("Instrument"),
        json!({"id": published}),
        None,
    )
    .await;

    // Granted before counting: its grant is an event.
    let manager = app.token("fm", "l3ce", &[Role::FollowUpManager]).await;
    let before = app.event_count().await;
    let publish = operation("PublishInstrument");
    let archive = operation("ArchiveInstrument");
    // Another tenant's published instrument: FORBIDDEN. Its draft: as if it did not exist.
    assert_eq!(
        app.error(Some(&dk), &archive, json!({"id": published}))
            .await
            .0,
        "FORBIDDEN"
    );
    assert_eq!(
        app.error(Some(&dk), &publish, json!({"id": draft_id}))
            .await
            .0,
        "NOT_FOUND"
    );
    // The owner sees its draft; the other tenant does not.
    app.eventually_with(
        |b| b["data"]["instrument"]["status"] == "DRAFT",
        &operation("Instrument"),
        json!({"id": draft_id}),
        Some(&lt),
    )
    .await;
    let seen = app
        .ok(Some(&dk), &operation("Instrument"), json!({"id": draft_id}))
        .await;
    assert_eq!(seen["instrument"], Value::Null);
    // A stale expectedVersion is a conflict.
    let stale = json!({"id": published, "expectedVersion": version - 1});
    assert_eq!(app.error(Some(&lt), &archive, stale).await.0, "CONFLICT");
    // Anonymous callers and callers without the curator role cannot write.
    assert_eq!(
        app.error(None, &archive, json!({"id": published})).await.0,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.error(Some(&manager), &archive, json!({"id": published}))
            .await
            .0,
        "FORBIDDEN"
    );
    assert_eq!(app.event_count().await, before, "nothing was stored");
    app.app.stop().await;
}

#[tokio::test]
async fn bad_input_names_the_field_and_stores_nothing() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let id = draft(&app, &curator, call("A call", "LT")).await;
    let before = app.event_count().await;

    let draft_op = operation("DraftInstrument");
    let with = |patch: Value| {
        let mut input = call("A call", "LT");
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        json!({"input": input})
    };
    let cases = [
        (draft_op.clone(), with(json!({"title": ""})), "title"),
        (
            draft_op.clone(),
            with(json!({"title": "x".repeat(10_000)})),
            "title",
        ),
        (
            draft_op.clone(),
            with(json!({"countries": ["XX"]})),
            "countries",
        ),
        (
            draft_op.clone(),
            with(json!({"languages": ["zz"]})),
            "languages",
        ),
        (
            draft_op.clone(),
            with(json!({"link": "javascript:alert(1)"})),
            "link",
        ),
        (
            draft_op.clone(),
            with(json!({"funding": {"min": 10, "max": 5, "currency": "EUR"}})),
            "funding",
        ),
        (
            draft_op.clone(),
            with(json!({"funding": {"min": 10, "currency": "EUX"}})),
            "funding.currency",
        ),
        (
            operation("TagInstrumentFeatures"),
            json!({"id": id, "features": ["T1", "T99"]}),
            "features",
        ),
        (
            operation("SetInstrumentDeadline"),
            json!({"id": id, "openingDate": "2030-06-01", "deadline": FUTURE}),
            "deadline",
        ),
        // A call without a deadline, then with a past one.
        (
            operation("PublishInstrument"),
            json!({"id": id}),
            "features",
        ),
    ];
    for (query, variables, field) in cases {
        let (code, got) = app.error(Some(&curator), &query, variables.clone()).await;
        assert_eq!(
            (code.as_str(), got.as_deref()),
            ("BAD_USER_INPUT", Some(field)),
            "{variables}"
        );
    }
    // An unknown enum value fails validation: BAD_USER_INPUT, nothing run.
    let (code, _) = app
        .error(Some(&curator), &draft_op, with(json!({"kind": "LOTTERY"})))
        .await;
    assert_eq!(code, "BAD_USER_INPUT");

    app.ok(
        Some(&curator),
        &operation("TagInstrumentFeatures"),
        json!({"id": id, "features": ["T1"]}),
    )
    .await;
    let tagged = app.event_count().await;
    let publish = operation("PublishInstrument");
    assert_eq!(
        app.error(Some(&curator), &publish, json!({"id": id}))
            .await
            .1
            .as_deref(),
        Some("deadline")
    );
    app.ok(
        Some(&curator),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "deadline": "2020-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(
        app.error(Some(&curator), &publish, json!({"id": id}))
            .await
            .1
            .as_deref(),
        Some("deadline")
    );
    assert_eq!(before + 1, tagged, "only the valid tagging was stored");
    assert_eq!(
        app.event_count().await,
        tagged + 1,
        "and the schedule; no publication"
    );
    app.app.stop().await;
}

#[tokio::test]
async fn forged_expired_and_foreign_tokens_are_unauthenticated() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    let good = app.token("ana", "l3ce", &[Role::Curator]).await;
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[2] = parts[2].chars().rev().collect();
    let forged = parts.join(".");
    let mut expired_config = app.config.auth().unwrap();
    expired_config.audience = "someone-else".into();
    let foreign = ri_api::mint_token(
        &expired_config,
        "ana",
        &ri_domain::TenantSlug::parse("l3ce").unwrap(),
        std::time::Duration::from_secs(600),
    )
    .unwrap();
    for token in [forged.as_str(), foreign.as_str(), "not-a-jwt"] {
        let (status, body) = app.gql(Some(token), &operation("Me"), json!({})).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let me = app.ok(Some(&good), &operation("Me"), json!({})).await;
    assert_eq!(me["me"]["tenant"], "l3ce");
    assert_eq!(me["me"]["canCurate"], true);
    app.app.stop().await;
}

#[tokio::test]
async fn graphql_over_http_negotiates_and_reports_status() {
    let app = TestApp::start().await;
    let url = app.url();
    let http = &app.http;
    let body = json!({"query": "{ taxonomy { features { code } } }"});

    let r = http
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "application/graphql-response+json"
    );
    let r = http
        .post(&url)
        .header("accept", "application/json")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/json");
    let data: Value = r.json().await.unwrap();
    assert_eq!(
        data["data"]["taxonomy"]["features"]
            .as_array()
            .unwrap()
            .len(),
        63
    );

    // A document that does not parse: 400 for the new media type, 200 for legacy JSON.
    let broken = json!({"query": "{ taxonomy { "});
    let r = http
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&broken)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .post(&url)
        .header("accept", "application/json")
        .json(&broken)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let errors: Value = r.json().await.unwrap();
    assert_eq!(errors["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");

    // Browsers get GraphiQL.
    let r = http
        .get(&url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().to_lowercase().contains("graphiql"));
    // GET runs queries, never mutations.
    let r = http
        .get(&url)
        .query(&[("query", "{ me { authenticated } }")])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = http
        .get(&url)
        .query(&[("query", "mutation { archiveInstrument(id: \"x\") { id } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    // No batching for anonymous callers.
    let batch = json!([body, body]);
    let r = http
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&batch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Deep nesting is refused before execution.
    let deep = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(12),
        "}".repeat(12)
    );
    let r = http
        .post(&url)
        .header("accept", "application/graphql-response+json")
        .json(&json!({"query": deep}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("deep"),
        "{body}"
    );
    app.app.stop().await;
}

#[test]
fn the_committed_schema_is_the_code_s_schema() {
    let path = format!(
        "{}/../../graphql/schema.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    let sdl = ri_api::graphql::sdl();
    if std::env::var_os("RI_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &sdl).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == sdl,
        "graphql/schema.graphql is out of date: run `RI_UPDATE_SCHEMA=1 cargo test -p regional-invest --test api the_committed_schema` and commit it"
    );
}

#[tokio::test]
async fn a_suspended_tenant_cannot_write_and_its_published_instruments_stay_visible_marked() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let admin = app.token("root", "platform", &[Role::PlatformAdmin]).await;
    let (id, _) = published_call(&app, &curator, "Still visible", "LT", &["G1"]).await;

    let suspend =
        "mutation($slug: String!) { suspendTenant(slug: $slug, reason: \"unpaid\") { version } }";
    // Only a platform admin suspends.
    assert_eq!(
        app.error(Some(&curator), suspend, json!({"slug": "l3ce"}))
            .await
            .0,
        "FORBIDDEN"
    );
    app.ok(Some(&admin), suspend, json!({"slug": "l3ce"})).await;
    let shown = app
        .eventually_with(
            |b| b["data"]["instrument"]["curator"]["suspended"] == true,
            &operation("Instrument"),
            json!({"id": id}),
            None,
        )
        .await;
    assert_eq!(shown["data"]["instrument"]["status"], "OPEN");
    let before = app.event_count().await;
    let (code, _) = app
        .error(
            Some(&curator),
            &operation("DraftInstrument"),
            json!({"input": call("New", "LT")}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(app.event_count().await, before);

    let reinstate = "mutation($slug: String!) { reinstateTenant(slug: $slug) { version } }";
    app.ok(Some(&admin), reinstate, json!({"slug": "l3ce"}))
        .await;
    app.eventually_with(
        |b| b["data"]["instrument"]["curator"]["suspended"] == false,
        &operation("Instrument"),
        json!({"id": id}),
        None,
    )
    .await;
    app.ok(
        Some(&curator),
        &operation("DraftInstrument"),
        json!({"input": call("New", "LT")}),
    )
    .await;
    app.app.stop().await;
}

#[tokio::test]
async fn the_seed_gives_a_searchable_catalogue_at_once() {
    let app = TestApp::start().await;
    let report = regional_invest::seed::load_if_empty(&app.app.log)
        .await
        .unwrap();
    assert!(!report.skipped && report.tenants > 20, "{report:?}");
    // Open programmes and strategic documents of the deliverable, by default search.
    let open = app
        .eventually_with(
            |b| b["data"]["instruments"]["totalCount"].as_i64() == Some(5),
            &operation("SearchInstruments"),
            json!({}),
            None,
        )
        .await;
    let titles = search_titles(&open);
    assert!(titles.iter().any(|t| t.contains("DIANA")), "{titles:?}");
    // By features and origin: international or EU instruments funding AI or prototyping.
    let by_features = app
        .ok(
            None,
            &operation("SearchInstruments"),
            json!({"filter": {"features": ["T1", "D1"], "coverLevels": ["INTERNATIONAL", "EU"]}}),
        )
        .await;
    let titles = search_titles(&json!({ "data": by_features }));
    assert_eq!(titles.len(), 1, "{titles:?}");
    assert!(titles[0].starts_with("NATO DIANA"), "{titles:?}");
    // The 2022-2024 calls are history: closed, found when asked for.
    let closed = app
        .ok(
            None,
            &operation("SearchInstruments"),
            json!({"filter": {"statuses": ["CLOSED"], "kinds": ["CALL"]}}),
        )
        .await;
    assert_eq!(closed["instruments"]["totalCount"], 6);
    let expected = report.tenants;
    app.eventually_with(
        |b| b["data"]["tenants"].as_array().map(Vec::len) == Some(expected),
        &operation("Tenants"),
        json!({}),
        None,
    )
    .await;
    app.app.stop().await;
}

/// Every example in graphql/operations runs without an error, in a curator's day.
#[tokio::test]
async fn every_example_operation_runs_against_the_schema() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let admin = app.token("root", "platform", &[Role::PlatformAdmin]).await;
    let id = draft(&app, &curator, call("Example call", "LT")).await;
    let id = json!(id);
    let steps: Vec<(&str, &str, Value)> = vec![
        ("Taxonomy", &curator, json!({})),
        ("Me", &curator, json!({})),
        ("Tenants", &curator, json!({})),
        ("ProjectionFailures", &admin, json!({"first": 10})),
        (
            "ReviseInstrument",
            &curator,
            json!({"id": id, "expectedVersion": 1, "input": {"title": "Example call 2030", "programme": null}}),
        ),
        (
            "TagInstrumentFeatures",
            &curator,
            json!({"id": id, "features": ["T1", "P3"]}),
        ),
        (
            "UntagInstrumentFeatures",
            &curator,
            json!({"id": id, "features": ["P3"]}),
        ),
        (
            "SetInstrumentDeadline",
            &curator,
            json!({"id": id, "openingDate": "2030-01-01", "deadline": FUTURE, "timeZone": "Europe/Vilnius"}),
        ),
        ("PublishInstrument", &curator, json!({"id": id})),
        ("Instrument", &curator, json!({"id": id})),
        (
            "SearchInstruments",
            &curator,
            json!({"filter": {"text": "example"}, "sort": "RELEVANCE", "first": 5}),
        ),
        ("AuditTrail", &curator, json!({"id": id, "first": 2})),
        (
            "WithdrawInstrument",
            &curator,
            json!({"id": id, "reason": "budget exhausted"}),
        ),
        ("ArchiveInstrument", &curator, json!({"id": id})),
        (
            "GrantRole",
            &admin,
            json!({"slug": "l3ce", "subject": "ben", "role": "CURATOR"}),
        ),
        (
            "UpdateTenantProfile",
            &admin,
            json!({"slug": "l3ce", "input": {"name": "L3CE", "kind": "CONSORTIUM_PARTNER", "country": "LT"}}),
        ),
        (
            "SuspendTenant",
            &admin,
            json!({"slug": "l3ce", "reason": "test"}),
        ),
        ("ReinstateTenant", &admin, json!({"slug": "l3ce"})),
    ];
    // ReopenInstrument is run by tests/expiry.rs, which has a closed call to reopen; the watch
    // and notification operations by tests/watches.rs, which has notifications to read;
    // Suggest by tests/search.rs, which has published instruments to suggest.
    let mut ran: Vec<&str> = vec![
        "RegisterTenant",
        "Suggest",
        "DraftInstrument",
        "ReopenInstrument",
        "CreateWatch",
        "UpdateWatch",
        "RotateWatchCalendarToken",
        "DeleteWatch",
        "Watches",
        "Notifications",
        "MarkNotificationsRead",
        // Areas, clusters, demo events and feedback: run by tests/clusters.rs.
        "Areas",
        "NameEndUserArea",
        "ReviseEndUserArea",
        "FormCluster",
        "ReviseCluster",
        "AssignProjectToCluster",
        "RemoveProjectFromCluster",
        "AssignFollowUpManager",
        "EngageStakeholder",
        "DisengageStakeholder",
        "ScheduleDemoEvent",
        "RescheduleDemoEvent",
        "ReviseDemoAgenda",
        "CancelDemoEvent",
        "MarkDemoEventHeld",
        "InvitePractitioner",
        "ReissueInvitation",
        "RevokeInvitation",
        "FeedbackInvitation",
        "SubmitDemoFeedback",
        "RecordPaperFeedback",
        "RecordFollowUpSession",
        "AddNextStep",
        "CompleteNextStep",
        "Clusters",
        "Cluster",
        "SuggestedProjects",
        "ClusterActivity",
        // Projects, their matches, feature gaps and the matrix: run by tests/projects.rs.
        "RegisterProject",
        "ReviseProject",
        "DeclareProjectFeatures",
        "RetractProjectFeatures",
        "NoteProjectApplicationsBeyondSecurity",
        "RecordProjectMilestone",
        "RecordFundingApplication",
        "ChangeFundingApplicationStatus",
        "SetProjectMatchThreshold",
        "Projects",
        "Project",
        "FeatureGaps",
        "MatchMatrix",
        "InstrumentMatchingProjects",
        // Sharing projects across tenants: run by tests/sharing.rs.
        "ShareProject",
        "WithdrawProjectShare",
        "SharedProjects",
        "ProjectSharing",
        // A project as of a moment: run by tests/project_as_of.rs.
        "ProjectAsOf",
        // Revoking roles and the member list: run by tests/roles.rs.
        "RevokeRole",
        "TenantMembers",
    ];
    for (name, token, variables) in steps {
        app.ok(Some(token), &operation(name), variables).await;
        ran.push(name);
    }
    let dir = format!("{}/../../graphql/operations", env!("CARGO_MANIFEST_DIR"));
    for file in std::fs::read_dir(dir).unwrap() {
        let name = file
            .unwrap()
            .path()
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(
            ran.contains(&name.as_str()),
            "graphql/operations/{name}.graphql is not exercised"
        );
    }
    app.app.stop().await;
}

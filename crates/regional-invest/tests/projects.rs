//! Projects end to end over HTTP (issue 5): a follow-up manager registers a project, sees its
//! ranked and explained matches, records an application and its award, and downloads the
//! match matrix; projects and matches stay within their tenant; bad input names its field and
//! stores nothing; the feature-matrix CSV import sets features exactly, or reports every bad
//! cell by row and column and stores nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, call, operation};
use ri_domain::Role;
use serde_json::{Value, json};

const FUTURE: &str = "2030-03-31T17:00:00+02:00";

/// A draft input for an EU-wide call.
fn eu_call(title: &str) -> Value {
    json!({
        "title": title,
        "kind": "CALL",
        "coverLevel": "EU",
        "summary": "Cascade funding for security SMEs.",
        "targetOrganisations": ["SME"],
        "languages": ["en"]
    })
}

/// Drafts, tags, schedules and publishes an instrument; returns its id.
async fn publish(app: &TestApp, token: &str, input: Value, features: &[&str]) -> String {
    let data = app
        .ok(
            Some(token),
            &operation("DraftInstrument"),
            json!({"input": input}),
        )
        .await;
    let id = data["draftInstrument"]["id"].as_str().unwrap().to_owned();
    app.ok(
        Some(token),
        &operation("TagInstrumentFeatures"),
        json!({"id": id, "features": features}),
    )
    .await;
    app.ok(
        Some(token),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "deadline": FUTURE, "timeZone": "Europe/Brussels"}),
    )
    .await;
    app.ok(
        Some(token),
        &operation("PublishInstrument"),
        json!({"id": id}),
    )
    .await;
    app.eventually(
        |body| body["data"]["instrument"]["status"] == "OPEN",
        format!("query {{ instrument(id: \"{id}\") {{ status }} }}"),
        None,
    )
    .await;
    id
}

/// Registers a project; returns its id.
async fn register(app: &TestApp, token: &str, input: Value) -> String {
    let data = app
        .ok(
            Some(token),
            &operation("RegisterProject"),
            json!({ "input": input }),
        )
        .await;
    assert_eq!(data["registerProject"]["version"], 1, "{data}");
    data["registerProject"]["id"].as_str().unwrap().to_owned()
}

fn project_input(acronym: &str, country: &str) -> Value {
    json!({
        "acronym": acronym,
        "title": format!("{acronym}, a funded project"),
        "openCall": "SecurIT Open Call 1",
        "stage": "PROTOTYPING",
        "consortium": [{"name": format!("{acronym} SME"), "country": country}],
        "summary": "Detects threats in public spaces."
    })
}

/// The project as `token` sees it once `done` holds for it.
async fn project_when(
    app: &TestApp,
    token: &str,
    id: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let body = app
        .eventually_with(
            |body| done(&body["data"]["project"]),
            &operation("Project"),
            json!({"id": id}),
            Some(token),
        )
        .await;
    body["data"]["project"].clone()
}

fn codes(features: &Value) -> Vec<String> {
    features
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

fn base(app: &TestApp) -> String {
    format!("http://{}", app.app.addr)
}

/// GETs a download; returns the status, content type and body.
async fn download(app: &TestApp, token: Option<&str>, path: &str) -> (u16, String, String) {
    let mut request = app.http.get(format!("{}{path}", base(app)));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

/// POSTs a feature matrix; returns the status and the JSON answer.
async fn import(app: &TestApp, token: &str, target: &str, csv: &str) -> (u16, Value) {
    let response = app
        .http
        .post(format!(
            "{}/imports/feature-matrix?target={target}",
            base(app)
        ))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_follow_up_manager_registers_a_project_sees_explained_matches_records_an_award_and_exports_the_matrix()
 {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("safe", "FR").await;
    let curator = app.token("ana", "safe", &[Role::Curator]).await;
    let eu = publish(
        &app,
        &curator,
        eu_call("EU prototyping call"),
        &["T1", "D2"],
    )
    .await;
    let lt = publish(
        &app,
        &curator,
        call("Lithuanian security call", "LT"),
        &["T1", "P3", "D2", "G1"],
    )
    .await;
    let dk = publish(
        &app,
        &curator,
        call("Danish security call", "DK"),
        &["T1", "P3", "D2"],
    )
    .await;
    let exhibitions = publish(&app, &curator, eu_call("Exhibitions call"), &["G3"]).await;

    // Registered and decomposed into features.
    let manager = app.token("rita", "l3ce", &[Role::FollowUpManager]).await;
    let id = register(
        &app,
        &manager,
        json!({
            "acronym": "VASCREEN",
            "title": "Video analytics screening",
            "openCall": "SecurIT Open Call 1",
            "stage": "PROTOTYPING",
            "securityDomain": "PUBLIC_SPACE_PROTECTION",
            "consortium": [
                {"name": "Vasco", "country": "LT"},
                {"name": "Screen SAS", "country": "FR"}
            ],
            "summary": "Video analytics for screening crowds."
        }),
    )
    .await;
    let declared = app
        .ok(
            Some(&manager),
            &operation("DeclareProjectFeatures"),
            json!({"id": id, "expectedVersion": 1, "features": ["T1", "P3", "D2", "G5"]}),
        )
        .await;
    assert_eq!(declared["declareProjectFeatures"]["version"], 2);
    app.ok(
        Some(&manager),
        &operation("RetractProjectFeatures"),
        json!({"id": id, "expectedVersion": 2, "features": ["G5"]}),
    )
    .await;
    app.ok(
        Some(&manager),
        &operation("NoteProjectApplicationsBeyondSecurity"),
        json!({"id": id, "applications": "retail loss prevention"}),
    )
    .await;
    app.ok(
        Some(&manager),
        &operation("ReviseProject"),
        json!({"id": id, "input": {"title": "Video analytics for screening", "openCall": null}}),
    )
    .await;
    app.ok(
        Some(&manager),
        &operation("SetProjectMatchThreshold"),
        json!({"id": id, "matchThreshold": 0.7}),
    )
    .await;
    let project = project_when(&app, &manager, &id, |p| p["version"] == 6).await;
    assert_eq!(codes(&project["features"]), ["T1", "P3", "D2"]);
    assert_eq!(project["title"], "Video analytics for screening");
    assert_eq!(project["openCall"], Value::Null);
    assert_eq!(project["countries"], json!(["FR", "LT"]));
    assert_eq!(
        project["applicationsBeyondSecurity"],
        "retail loss prevention"
    );
    assert_eq!(project["matchThreshold"], 0.7);
    assert_eq!(
        project["featuresByCategory"][1],
        json!({"category": {"id": "PROCESS", "label": "Process"}, "features": [{"code": "P3"}]})
    );

    // Ranked and explained: the national call of a consortium country covers everything; the
    // EU call covers T1 and D2 (the prototyping stage's feature); the Danish call is national
    // to a country of no partner, and the exhibitions call shares nothing: neither is listed.
    let matches = project["matches"].as_array().unwrap();
    let ranked: Vec<&str> = matches
        .iter()
        .map(|m| m["instrument"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ranked, [lt.as_str(), eu.as_str()], "{matches:#?}");
    assert_eq!(matches[0]["score"], 1.0);
    let score = matches[1]["score"].as_f64().unwrap();
    assert!((score - 0.75).abs() < 1e-9, "{score}");
    let why = &matches[1]["explanation"];
    assert_eq!(
        why["matched"],
        json!([
            {"category": {"id": "TECHNIQUE"}, "features": [{"code": "T1"}]},
            {"category": {"id": "DEVELOPMENT_SUPPORT"}, "features": [{"code": "D2"}]}
        ])
    );
    assert_eq!(
        why["unmatched"],
        json!([{"category": {"id": "PROCESS"}, "features": [{"code": "P3"}]}])
    );
    assert_eq!(why["stageFeatures"], json!([{"code": "D2"}]));
    assert_eq!(why["stageFit"], 1.0);
    assert_eq!(why["ruleVersion"], 1);
    assert!(why["daysToDeadline"].as_i64().unwrap() > 0, "{why}");
    assert!(!ranked.contains(&dk.as_str()) && !ranked.contains(&exhibitions.as_str()));
    let best = app
        .ok(
            Some(&manager),
            &operation("Project"),
            json!({"id": id, "minScore": 0.8, "first": 5}),
        )
        .await;
    assert_eq!(best["project"]["matches"].as_array().unwrap().len(), 1);

    // From the instrument's side, and the features few open instruments fund.
    let from_instrument = app
        .ok(
            Some(&manager),
            &operation("InstrumentMatchingProjects"),
            json!({"id": eu}),
        )
        .await;
    let matching = &from_instrument["instrument"]["matchingProjects"];
    assert_eq!(matching.as_array().unwrap().len(), 1, "{matching}");
    assert_eq!(matching[0]["project"]["acronym"], "VASCREEN");
    let gaps = app
        .ok(Some(&manager), &operation("FeatureGaps"), json!({}))
        .await;
    let gaps: Vec<(String, i64, i64)> = gaps["featureGaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["feature"]["code"].as_str().unwrap().to_owned(),
                g["projects"].as_i64().unwrap(),
                g["openInstruments"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        gaps,
        [
            ("T1".to_owned(), 1, 3),
            ("P3".to_owned(), 1, 2),
            ("D2".to_owned(), 1, 3)
        ]
    );

    // An application, then its award: the award is a RECOGNITION milestone.
    let milestone = app
        .ok(
            Some(&manager),
            &operation("RecordProjectMilestone"),
            json!({"id": id, "input": {"criterion": "NEW_COLLABORATIONS_MARKETS", "date": "2026-01-10", "description": "Pilot with the Vilnius police"}}),
        )
        .await;
    assert!(milestone["recordProjectMilestone"]["recordedId"].is_string());
    let applied = app
        .ok(
            Some(&manager),
            &operation("RecordFundingApplication"),
            json!({"id": id, "input": {"instrumentId": lt, "status": "SUBMITTED", "date": "2026-01-15", "amount": {"amount": 50000, "currency": "EUR"}}}),
        )
        .await;
    let application = applied["recordFundingApplication"]["recordedId"]
        .as_str()
        .unwrap()
        .to_owned();
    let awarded = app
        .ok(
            Some(&manager),
            &operation("ChangeFundingApplicationStatus"),
            json!({"id": id, "applicationId": application, "input": {"status": "AWARDED", "date": "2026-04-01", "evidenceLink": "https://example.eu/awards/vascreen"}}),
        )
        .await;
    let version = awarded["changeFundingApplicationStatus"]["version"].clone();
    assert_eq!(version, 10, "{awarded}");
    let project = project_when(&app, &manager, &id, |p| p["version"] == version).await;
    let applications = &project["fundingApplications"];
    assert_eq!(applications[0]["status"], "AWARDED", "{applications}");
    assert_eq!(applications[0]["instrumentId"], json!(lt));
    assert_eq!(
        applications[0]["instrumentName"],
        "Lithuanian security call"
    );
    assert_eq!(
        applications[0]["amount"],
        json!({"amount": 50000, "currency": "EUR"})
    );
    let milestones = project["milestones"].as_array().unwrap();
    let award = milestones
        .iter()
        .find(|m| m["fundingApplicationId"] == json!(application))
        .unwrap_or_else(|| panic!("no award milestone in {milestones:?}"));
    assert_eq!(award["criterion"], "RECOGNITION");
    assert_eq!(award["date"], "2026-04-01");
    assert_eq!(
        award["description"],
        "Funding awarded: Lithuanian security call (50000 EUR)"
    );
    assert_eq!(award["evidenceLink"], "https://example.eu/awards/vascreen");
    assert_eq!(milestones.len(), 2);

    // The matrix, over GraphQL and as a CSV download.
    let matrix = app
        .ok(
            Some(&manager),
            &operation("MatchMatrix"),
            json!({"projectIds": [id], "instrumentIds": [eu, lt, dk]}),
        )
        .await;
    let cells = &matrix["matchMatrix"]["rows"][0]["cells"];
    assert_eq!(cells[1]["score"], 1.0);
    assert_eq!(cells[2]["score"], Value::Null);
    assert_eq!(cells[2]["excludedBy"], "NO_COUNTRY_IN_COMMON");
    assert!(
        cells[2]["reason"].as_str().unwrap().contains("DK"),
        "{cells}"
    );
    let (status, content_type, csv) = download(
        &app,
        Some(&manager),
        &format!("/exports/match-matrix.csv?projects={id}&instruments={eu},{lt},{dk}"),
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(content_type, "text/csv; charset=utf-8");
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "Project,EU prototyping call,Lithuanian security call,Danish security call",
            "VASCREEN,0.75,1.00,NO_COUNTRY_IN_COMMON",
        ]
    );
    // Without instruments named: every open one, soonest deadline first (all share one here).
    let (status, _, csv) = download(&app, Some(&manager), "/exports/match-matrix.csv").await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert_eq!(csv.lines().next().unwrap().split(',').count(), 5, "{csv}");

    // The projects and the catalogue as downloads.
    let (status, content_type, json) =
        download(&app, Some(&manager), "/exports/projects.json").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let projects: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(projects[0]["acronym"], "VASCREEN");
    assert_eq!(projects[0]["features"], json!(["T1", "P3", "D2"]));
    assert_eq!(projects[0]["fundingApplications"][0]["status"], "AWARDED");
    let (status, _, csv) = download(&app, Some(&manager), "/exports/projects.csv").await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("id,acronym,title,"), "{csv}");
    assert!(
        lines[1].contains(",VASCREEN,") && lines[1].contains(",T1 P3 D2,"),
        "{csv}"
    );
    // Anyone may download the catalogue: open and closed instruments by default.
    let (status, _, json) = download(&app, None, "/exports/instruments.json").await;
    assert_eq!(status, 200, "{json}");
    let instruments: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(instruments.as_array().unwrap().len(), 4, "{instruments}");
    let danish = instruments
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(dk))
        .unwrap();
    assert_eq!(danish["countries"], json!(["DK"]));
    assert_eq!(danish["features"], json!(["T1", "P3", "D2"]));
    assert_eq!(danish["curator"], "safe");
    let (status, _, csv) = download(&app, None, "/exports/instruments.csv?statuses=OPEN").await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.lines().any(|l| l.starts_with(&format!(
            "{lt},Lithuanian security call,safe,OPEN,CALL,NATIONAL,LT,"
        ))),
        "{csv}"
    );
    let (status, _, body) = download(&app, None, "/exports/instruments.csv?statuses=LOST").await;
    assert_eq!(status, 400, "{body}");
    app.app.stop().await;
}

#[tokio::test]
async fn projects_and_matches_are_isolated_by_tenant() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("censec", "DK").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let eu = publish(&app, &curator, eu_call("EU AI call"), &["T1"]).await;
    let mine = app.token("rita", "l3ce", &[Role::FollowUpManager]).await;
    let theirs = app.token("bo", "censec", &[Role::FollowUpManager]).await;
    let alpha = register(&app, &mine, project_input("ALPHA", "LT")).await;
    let beta = register(&app, &theirs, project_input("BETA", "DK")).await;
    for (token, id) in [(&mine, &alpha), (&theirs, &beta)] {
        app.ok(
            Some(token),
            &operation("DeclareProjectFeatures"),
            json!({"id": id, "features": ["T1"]}),
        )
        .await;
    }
    project_when(&app, &mine, &alpha, |p| p["version"] == 2).await;
    project_when(&app, &theirs, &beta, |p| p["version"] == 2).await;

    // Another tenant's project is not there: null to read, NOT_FOUND to change.
    let seen = app
        .ok(Some(&theirs), &operation("Project"), json!({"id": alpha}))
        .await;
    assert_eq!(seen["project"], Value::Null);
    let before = app.event_count().await;
    for (name, variables) in [
        (
            "DeclareProjectFeatures",
            json!({"id": alpha, "features": ["T2"]}),
        ),
        (
            "RecordProjectMilestone",
            json!({"id": alpha, "input": {"criterion": "RECOGNITION", "date": "2030-01-01", "description": "Stolen"}}),
        ),
        (
            "SetProjectMatchThreshold",
            json!({"id": alpha, "matchThreshold": 0.1}),
        ),
    ] {
        let (code, _) = app.error(Some(&theirs), &operation(name), variables).await;
        assert_eq!(code, "NOT_FOUND", "{name}");
    }
    assert_eq!(app.event_count().await, before);
    let listed = app
        .ok(Some(&theirs), &operation("Projects"), json!({}))
        .await;
    assert_eq!(listed["projects"]["totalCount"], 1);
    assert_eq!(listed["projects"]["nodes"][0]["acronym"], "BETA");

    // The instrument fits both projects; each tenant sees its own only.
    for (token, acronym) in [(&mine, "ALPHA"), (&theirs, "BETA")] {
        let data = app
            .ok(
                Some(token),
                &operation("InstrumentMatchingProjects"),
                json!({"id": eu}),
            )
            .await;
        let acronyms: Vec<&str> = data["instrument"]["matchingProjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["project"]["acronym"].as_str().unwrap())
            .collect();
        assert_eq!(acronyms, [acronym]);
    }
    // Signed out: the instrument, without projects; other questions need a sign-in and a role.
    let anonymous = app
        .ok(
            None,
            &operation("InstrumentMatchingProjects"),
            json!({"id": eu}),
        )
        .await;
    assert_eq!(anonymous["instrument"]["matchingProjects"], json!([]));
    let (code, _) = app.error(None, &operation("Projects"), json!({})).await;
    assert_eq!(code, "UNAUTHENTICATED");
    let member = app.token("sme", "l3ce", &[]).await;
    let (code, _) = app
        .error(Some(&member), &operation("Projects"), json!({}))
        .await;
    assert_eq!(code, "FORBIDDEN");

    // Not in the other tenant's matrix or downloads.
    let (code, _) = app
        .error(
            Some(&theirs),
            &operation("MatchMatrix"),
            json!({"projectIds": [alpha]}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    let (status, _, body) = download(
        &app,
        Some(&theirs),
        &format!("/exports/match-matrix.csv?projects={alpha}"),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (_, _, csv) = download(&app, Some(&theirs), "/exports/match-matrix.csv").await;
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        ["Project,EU AI call", "BETA,1.00"]
    );
    let (_, _, json) = download(&app, Some(&theirs), "/exports/projects.json").await;
    let exported: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(exported.as_array().unwrap().len(), 1);
    assert_eq!(exported[0]["acronym"], "BETA");
    let (status, _, _) = download(&app, None, "/exports/projects.json").await;
    assert_eq!(status, 401);
    let (status, _, _) = download(&app, Some("forged"), "/exports/instruments.json").await;
    assert_eq!(status, 401);
    let (status, report) = import(&app, &theirs, "projects", "Feature,ALPHA\nT2,Y\n").await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["problems"][0]["header"], "ALPHA");

    // Feature gaps: one's own tenant's, or any tenant's for a platform admin.
    let (code, _) = app
        .error(
            Some(&theirs),
            &operation("FeatureGaps"),
            json!({"tenant": "l3ce"}),
        )
        .await;
    assert_eq!(code, "FORBIDDEN");
    let own = app
        .ok(
            Some(&theirs),
            &operation("FeatureGaps"),
            json!({"tenant": "censec"}),
        )
        .await;
    assert_eq!(own["featureGaps"][0]["feature"]["code"], "T1");
    let admin = app.token("root", "platform", &[Role::PlatformAdmin]).await;
    let any = app
        .ok(
            Some(&admin),
            &operation("FeatureGaps"),
            json!({"tenant": "l3ce"}),
        )
        .await;
    assert_eq!(
        any["featureGaps"],
        json!([{"feature": {"code": "T1", "label": "AI (ML)", "category": "TECHNIQUE"}, "projects": 1, "openInstruments": 1}])
    );
    assert_eq!(app.event_count().await, before);
    app.app.stop().await;
}

#[tokio::test]
async fn bad_project_input_names_the_field_and_stores_nothing() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    let manager = app.token("rita", "l3ce", &[Role::FollowUpManager]).await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let id = register(&app, &manager, project_input("ALPHA", "LT")).await;
    let recorded = app
        .ok(
            Some(&manager),
            &operation("RecordFundingApplication"),
            json!({"id": id, "input": {"instrumentName": "Innovation voucher", "status": "SUBMITTED", "date": "2030-01-15"}}),
        )
        .await;
    let application = recorded["recordFundingApplication"]["recordedId"]
        .as_str()
        .unwrap()
        .to_owned();
    project_when(&app, &manager, &id, |p| p["version"] == 2).await;

    let before = app.event_count().await;
    let register = operation("RegisterProject");
    let register = register.as_str();
    let project_query = operation("Project");
    let mut input = project_input("BETA", "LT");
    let long = "x".repeat(101);
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            register,
            json!({"input": {"acronym": " ", "title": "x"}}),
            "acronym",
        ),
        (
            register,
            json!({"input": {"acronym": "alpha", "title": "Taken"}}),
            "acronym",
        ),
        (
            register,
            json!({"input": {"acronym": "B", "title": "x", "openCall": long}}),
            "openCall",
        ),
        (
            register,
            json!({"input": {"acronym": "B", "title": "x", "leadCountry": "XX"}}),
            "leadCountry",
        ),
        (
            register,
            json!({"input": {"acronym": "B", "title": "x", "consortium": [{"name": "A", "country": "LT"}, {"name": "a", "country": "DK"}]}}),
            "consortium",
        ),
        (
            register,
            json!({"input": {"acronym": "B", "title": "x", "consortium": [{"name": "A", "country": "LT1"}]}}),
            "consortium.country",
        ),
    ];
    let declare = operation("DeclareProjectFeatures");
    let threshold = operation("SetProjectMatchThreshold");
    let milestone = operation("RecordProjectMilestone");
    let apply = operation("RecordFundingApplication");
    let change = operation("ChangeFundingApplicationStatus");
    let more: Vec<(&str, Value, &str)> = vec![
        (
            declare.as_str(),
            json!({"id": id, "features": ["T1", "Z9"]}),
            "features",
        ),
        (
            threshold.as_str(),
            json!({"id": id, "matchThreshold": 1.5}),
            "matchThreshold",
        ),
        (
            milestone.as_str(),
            json!({"id": id, "input": {"criterion": "RECOGNITION", "date": "2030-01-01", "description": ""}}),
            "description",
        ),
        (
            milestone.as_str(),
            json!({"id": id, "input": {"criterion": "RECOGNITION", "date": "2030-01-01", "description": "Prize", "evidenceLink": "not a link"}}),
            "evidenceLink",
        ),
        (
            apply.as_str(),
            json!({"id": id, "input": {"instrumentName": "X", "status": "SUBMITTED", "date": "2030-01-01", "evidenceLink": "https://example.eu"}}),
            "evidenceLink",
        ),
        (
            apply.as_str(),
            json!({"id": id, "input": {"instrumentName": "X", "status": "PLANNED", "date": "2030-01-01", "amount": {"amount": -1, "currency": "EUR"}}}),
            "amount",
        ),
        (
            apply.as_str(),
            json!({"id": id, "input": {"instrumentName": "X", "status": "PLANNED", "date": "2030-01-01", "amount": {"amount": 10, "currency": "EURO"}}}),
            "amount.currency",
        ),
        (
            apply.as_str(),
            json!({"id": id, "input": {"status": "PLANNED", "date": "2030-01-01"}}),
            "instrumentName",
        ),
        (
            apply.as_str(),
            json!({"id": id, "input": {"instrumentId": "no such instrument", "status": "PLANNED", "date": "2030-01-01"}}),
            "instrumentId",
        ),
        (
            change.as_str(),
            json!({"id": id, "applicationId": application, "input": {"status": "PLANNED", "date": "2030-02-01"}}),
            "status",
        ),
        (
            change.as_str(),
            json!({"id": id, "applicationId": application, "input": {"status": "AWARDED", "date": "2029-12-31"}}),
            "date",
        ),
        (
            project_query.as_str(),
            json!({"id": id, "minScore": 2}),
            "minScore",
        ),
    ];
    for (query, variables, field) in bad.into_iter().chain(more) {
        let (code, got) = app.error(Some(&manager), query, variables.clone()).await;
        assert_eq!(
            (code.as_str(), got.as_deref()),
            ("BAD_USER_INPUT", Some(field)),
            "{variables}"
        );
    }
    // Who may not, what is not there, and a stale version.
    input["acronym"] = json!("GAMMA");
    let (code, _) = app.error(None, register, json!({ "input": input })).await;
    assert_eq!(code, "UNAUTHENTICATED");
    let (code, _) = app
        .error(Some(&curator), register, json!({ "input": input }))
        .await;
    assert_eq!(code, "FORBIDDEN");
    let (code, _) = app
        .error(
            Some(&manager),
            declare.as_str(),
            json!({"id": "not-a-project", "features": ["T1"]}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = app
        .error(
            Some(&manager),
            change.as_str(),
            json!({"id": id, "applicationId": uuid::Uuid::new_v4(), "input": {"status": "AWARDED", "date": "2030-02-01"}}),
        )
        .await;
    assert_eq!(code, "NOT_FOUND");
    let (code, _) = app
        .error(
            Some(&manager),
            declare.as_str(),
            json!({"id": id, "expectedVersion": 1, "features": ["T1"]}),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    assert_eq!(
        app.event_count().await,
        before,
        "a refused command stored events"
    );
    app.app.stop().await;
}

#[tokio::test]
async fn a_feature_matrix_import_sets_features_exactly_or_reports_every_bad_cell_and_stores_nothing()
 {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("censec", "DK").await;
    let manager = app.token("rita", "l3ce", &[Role::FollowUpManager]).await;
    let alpha = register(&app, &manager, project_input("ALPHA", "LT")).await;
    let beta = register(&app, &manager, project_input("BETA", "LT")).await;
    app.ok(
        Some(&manager),
        &operation("DeclareProjectFeatures"),
        json!({"id": alpha, "features": ["T1", "P3"]}),
    )
    .await;
    app.ok(
        Some(&manager),
        &operation("DeclareProjectFeatures"),
        json!({"id": beta, "features": ["D2"]}),
    )
    .await;
    project_when(&app, &manager, &alpha, |p| p["version"] == 2).await;
    project_when(&app, &manager, &beta, |p| p["version"] == 2).await;

    // Figure 1's layout: features as rows, projects as columns; each column ends with exactly
    // its Y cells (features the file does not mark are retracted).
    let good = "Feature,alpha,BETA\n\
                Techniques,,\n\
                T1 AI (ML),,Y\n\
                T8,Y,\n\
                Process,,\n\
                P3 Detection,Y,y\n";
    let (status, report) = import(&app, &manager, "projects", good).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report["columns"],
        json!([
            {"column": 2, "header": "alpha", "id": alpha, "declared": ["T8"], "retracted": ["T1"], "version": 4},
            {"column": 3, "header": "BETA", "id": beta, "declared": ["T1", "P3"], "retracted": ["D2"], "version": 4}
        ])
    );
    let alpha_now = project_when(&app, &manager, &alpha, |p| p["version"] == 4).await;
    assert_eq!(codes(&alpha_now["features"]), ["T8", "P3"]);
    let beta_now = project_when(&app, &manager, &beta, |p| p["version"] == 4).await;
    assert_eq!(codes(&beta_now["features"]), ["T1", "P3"]);

    // Exported in the same layout, it imports back without a change.
    let (status, _, exported) = download(
        &app,
        Some(&manager),
        "/exports/feature-matrix.csv?target=projects",
    )
    .await;
    assert_eq!(status, 200, "{exported}");
    assert!(exported.starts_with("Feature,ALPHA,BETA\n"), "{exported}");
    assert!(exported.contains("\nT8 CBRN detection,Y,\n"), "{exported}");
    let before = app.event_count().await;
    let (status, report) = import(&app, &manager, "projects", &exported).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["columns"][0]["declared"], json!([]));
    assert_eq!(report["columns"][1]["retracted"], json!([]));
    assert_eq!(app.event_count().await, before);

    // One bad cell among good ones: the report names its row, column and header, and nothing
    // is stored, the good columns' changes included.
    let one_bad = "Feature,ALPHA,BETA\n\
                   T1,Y,\n\
                   T3,,yes\n\
                   P3,Y,Y\n";
    let (status, report) = import(&app, &manager, "projects", one_bad).await;
    assert_eq!(status, 422, "{report}");
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["row"], 3);
    assert_eq!(problems[0]["column"], 3);
    assert_eq!(problems[0]["header"], "BETA");
    assert_eq!(problems[0]["feature"], "T3");
    assert_eq!(problems[0]["value"], "yes");
    assert_eq!(report["error"]["code"], "BAD_USER_INPUT");
    // Several: an unknown column, an unknown feature, a cell past the last column.
    let many_bad = "Feature,ALPHA,GAMMA\n\
                    T1,Y,\n\
                    Z9 Teleportation,Y,\n\
                    P3,Y,,Y\n";
    let (status, report) = import(&app, &manager, "projects", many_bad).await;
    assert_eq!(status, 422, "{report}");
    let at: Vec<(i64, i64)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["row"].as_i64().unwrap(), p["column"].as_i64().unwrap()))
        .collect();
    assert_eq!(at, [(1, 3), (3, 1), (4, 4)], "{report}");
    assert_eq!(
        app.event_count().await,
        before,
        "a refused import stored events"
    );
    let alpha_still = app
        .ok(Some(&manager), &operation("Project"), json!({"id": alpha}))
        .await;
    assert_eq!(codes(&alpha_still["project"]["features"]), ["T8", "P3"]);

    // Only follow-up managers import projects; only CSV.
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let (status, _) = import(&app, &curator, "projects", good).await;
    assert_eq!(status, 403);
    let response = app
        .http
        .post(format!(
            "{}/imports/feature-matrix?target=projects",
            base(&app)
        ))
        .bearer_auth(&manager)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    // Figure 2: a curator's instruments as columns; another tenant's instrument is refused.
    let draft = |token: String, title: &'static str| {
        let app = &app;
        async move {
            let data = app
                .ok(
                    Some(&token),
                    &operation("DraftInstrument"),
                    json!({"input": call(title, "LT")}),
                )
                .await;
            data["draftInstrument"]["id"].as_str().unwrap().to_owned()
        }
    };
    let mine = draft(curator.clone(), "Voucher call").await;
    let foreign_curator = app.token("bo", "censec", &[Role::Curator]).await;
    let foreign = draft(foreign_curator, "Danish call").await;
    let (status, report) = import(
        &app,
        &curator,
        "instruments",
        &format!("Feature\t{mine}\t{foreign}\nD2 Prototype\tY\t\nG1\tY\tY\n"),
    )
    .await;
    assert_eq!(status, 422, "{report}");
    assert_eq!(report["problems"][0]["column"], 3);
    assert_eq!(report["problems"].as_array().unwrap().len(), 1);
    let (status, report) = import(
        &app,
        &curator,
        "instruments",
        &format!("Feature;{mine}\nD2 Prototype;Y\nG1;Y\n"),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["columns"][0]["declared"], json!(["D2", "G1"]));
    let tagged = app
        .eventually_with(
            |body| {
                body["data"]["instrument"]["features"]
                    .as_array()
                    .map(Vec::len)
                    == Some(2)
            },
            &operation("Instrument"),
            json!({"id": mine}),
            Some(&curator),
        )
        .await;
    assert_eq!(
        codes(&tagged["data"]["instrument"]["features"]),
        ["D2", "G1"]
    );
    app.app.stop().await;
}

#[tokio::test]
async fn a_project_just_registered_is_read_back_with_its_log_position() {
    let app = TestApp::start().await;
    app.tenant("safe", "FR").await;
    let rita = app.token("rita", "safe", &[Role::FollowUpManager]).await;
    // Read back at once, with the response's position (no waiting in the test): the project
    // and the list must already have it, however far behind the projection was.
    for n in 1..=4 {
        let (status, body) = app
            .gql(
                Some(&rita),
                &operation("RegisterProject"),
                json!({"input": project_input(&format!("QUICK{n}"), "FR")}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let id = body["data"]["registerProject"]["id"].as_str().unwrap();
        let position = body["extensions"]["logPosition"].as_str().unwrap();
        let read = app
            .ok(
                Some(&rita),
                &format!(
                    "query {{ project(id: \"{id}\", consistentWith: \"{position}\") {{ acronym }} \
                     projects(consistentWith: \"{position}\") {{ totalCount }} }}"
                ),
                json!({}),
            )
            .await;
        assert_eq!(read["project"]["acronym"], format!("QUICK{n}"), "{read}");
        assert_eq!(read["projects"]["totalCount"], n, "{read}");
    }
    for query in [
        "query { projects(consistentWith: \"soon\") { totalCount } }",
        "query { project(id: \"x\", consistentWith: \"soon\") { id } }",
    ] {
        let (code, field) = app.error(Some(&rita), query, json!({})).await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("consistentWith")),
            "{query}"
        );
    }
    app.app.stop().await;
}

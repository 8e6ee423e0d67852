//! A cluster's dashboard as it stood at any moment (issue 16): `cluster(id, asOf)` applies the
//! cluster's events until then with the clusters projection's own rules, so each moment reads
//! as the dashboard read right after it; another tenant reads nothing, and the future is refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, unique_slug};
use ri_domain::Role;
use serde_json::{Value, json};

/// The dashboard without the fields read live on demand (an event's invitations and entries).
const DASHBOARD: &str = "query ($id: ID!, $asOf: DateTime) { cluster(id: $id, asOf: $asOf) {
    id version name description area { id name domain } followUpManager projectCount
    upcomingEventCount openStepCount overdueStepCount formedAt updatedAt
    projects { id acronym title registered features { code } assignedAt sharedBy }
    stakeholders { id kind name note engagedAt }
    upcomingEvents { id title startsAt agenda { id acronym } status }
    pastEvents { id title startsAt status }
    feedback { projectId acronym count }
    sessions { id date attendees notes nextSteps { id action due completedOn } }
    openSteps { id action due } overdueSteps { id action due }
} }";

/// The dashboard once it shows version `version` (the clusters projection follows the log).
async fn live(app: &TestApp, token: &str, id: &str, version: i64) -> Value {
    app.eventually_with(
        |b| b["data"]["cluster"]["version"] == version,
        DASHBOARD,
        json!({"id": id}),
        Some(token),
    )
    .await["data"]["cluster"]
        .clone()
}

#[tokio::test]
async fn a_dashboard_reads_as_it_stood_at_each_moment_of_its_history() {
    let app = TestApp::start().await;
    let (slug, other) = (unique_slug(), unique_slug());
    app.tenant(&slug, "LT").await;
    app.tenant(&other, "LT").await;
    let ona = app.token("ona", &slug, &[Role::FollowUpManager]).await;
    let oto = app.token("oto", &other, &[Role::FollowUpManager]).await;

    let mut projects = Vec::new();
    for acronym in ["ALPHA", "BETA"] {
        let data = app
            .mutate(
                &ona,
                "RegisterProject",
                json!({"input": {"acronym": acronym, "title": format!("{acronym} title"),
                "consortium": [{"name": "Vasco", "country": "LT"}], "summary": ""}}),
            )
            .await
            .0;
        projects.push(data["registerProject"]["id"].as_str().unwrap().to_owned());
    }
    let area = app
        .mutate(
            &ona,
            "NameEndUserArea",
            json!({"input": {"name": "Festivals", "domain": "PUBLIC_SPACE_PROTECTION"}}),
        )
        .await
        .0["nameEndUserArea"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let formed = app
        .mutate(
            &ona,
            "FormCluster",
            json!({"input": {"areaId": area, "name": "Festival security"}}),
        )
        .await
        .0;
    let id = formed["formCluster"]["id"].as_str().unwrap().to_owned();
    let mut version = formed["formCluster"]["version"].as_i64().unwrap();
    let mut moments = vec![live(&app, &ona, &id, version).await];

    let steps: Vec<(&str, Value)> = vec![
        (
            "AssignProjectToCluster",
            json!({"clusterId": id, "projectId": projects[0]}),
        ),
        (
            "EngageStakeholder",
            json!({"clusterId": id, "input": {"kind": "END_USER_ORGANISATION",
                "name": "Vilnius municipality", "note": "Hosts the festival"}}),
        ),
        (
            "AssignProjectToCluster",
            json!({"clusterId": id, "projectId": projects[1]}),
        ),
        (
            "ScheduleDemoEvent",
            json!({"clusterId": id, "input": {"title": "Demo day",
                "startsAt": "2030-06-01T10:00:00+03:00", "timeZone": "Europe/Vilnius",
                "place": "Vilnius", "agenda": [projects[1]]}}),
        ),
        (
            "ReviseCluster",
            json!({"id": id, "input": {"name": "Festival and fair security"}}),
        ),
        (
            "RemoveProjectFromCluster",
            json!({"clusterId": id, "projectId": projects[0]}),
        ),
        (
            "AssignFollowUpManager",
            json!({"clusterId": id, "subject": "ona"}),
        ),
    ];
    for (name, variables) in steps {
        let data = app.mutate(&ona, name, variables).await.0;
        version = data
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|v| v["version"].as_i64())
            .unwrap_or_else(|| panic!("{name}: {data}"));
        moments.push(live(&app, &ona, &id, version).await);
    }

    for now in &moments {
        let at = now["updatedAt"].as_str().unwrap();
        let then = app
            .ok(Some(&ona), DASHBOARD, json!({"id": id, "asOf": at}))
            .await;
        assert_eq!(&then["cluster"], now, "as of {at}");
    }
    assert_ne!(moments[0], moments[moments.len() - 1]);

    // Another tenant reads nothing of it, then or now; the future is refused.
    let at = moments[1]["updatedAt"].as_str().unwrap();
    let theirs = app
        .ok(Some(&oto), DASHBOARD, json!({"id": id, "asOf": at}))
        .await;
    assert_eq!(theirs["cluster"], Value::Null);
    let refused = app
        .error(
            Some(&ona),
            DASHBOARD,
            json!({"id": id, "asOf": "2999-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(refused, ("BAD_USER_INPUT".into(), Some("asOf".into())));
    app.app.stop().await;
}

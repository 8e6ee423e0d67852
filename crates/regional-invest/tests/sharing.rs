//! Sharing a project across tenants (issue 16): its tenant's follow-up manager shares it with
//! another tenant, which may then read it, find it among a cluster's suggestions, assign it and
//! collect practitioners' feedback on it that both tenants read; a withdrawal takes it back.
//! Without a share nothing of a project crosses tenants: reads, suggestions, assignments,
//! feedback, dashboards, subscriptions, audit trails and exports are checked at each boundary.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use common::{GraphqlSocket, TestApp, WS_WAIT, operation, unique_slug};
use ri_domain::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Registers a project with `features` over the API; returns its id and the last position.
async fn project(app: &TestApp, token: &str, acronym: &str, features: &[&str]) -> (String, String) {
    let (data, _) = app
        .mutate(
            token,
            "RegisterProject",
            json!({"input": {"acronym": acronym, "title": format!("{acronym}: an innovation"),
            "consortium": [{"name": "Vasco", "country": "LT"}], "summary": ""}}),
        )
        .await;
    let id = data["registerProject"]["id"].as_str().unwrap().to_owned();
    let (_, at) = app
        .mutate(
            token,
            "DeclareProjectFeatures",
            json!({"id": id, "features": features}),
        )
        .await;
    (id, at)
}

/// Names an area and forms a cluster; returns the cluster's id.
async fn cluster(app: &TestApp, token: &str, name: &str) -> String {
    let (data, _) = app
        .mutate(
            token,
            "NameEndUserArea",
            json!({"input": {"name": name, "domain": "PUBLIC_SPACE_PROTECTION"}}),
        )
        .await;
    let area = data["nameEndUserArea"]["id"].as_str().unwrap();
    let (data, _) = app
        .mutate(
            token,
            "FormCluster",
            json!({"input": {"areaId": area, "name": name}}),
        )
        .await;
    data["formCluster"]["id"].as_str().unwrap().to_owned()
}

/// The project as `token`'s tenant reads it once the read model reflects `at`.
async fn read(app: &TestApp, token: &str, id: &str, at: &str) -> Value {
    app.ok(
        Some(token),
        &operation("ProjectSharing"),
        json!({"id": id, "consistentWith": at}),
    )
    .await["project"]
        .clone()
}

async fn shared_ids(app: &TestApp, token: &str, at: &str) -> Vec<String> {
    app.ok(
        Some(token),
        &operation("SharedProjects"),
        json!({"consistentWith": at}),
    )
    .await["sharedProjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn suggested(app: &TestApp, token: &str, cluster: &str) -> Vec<(String, String)> {
    app.ok(
        Some(token),
        &operation("SuggestedProjects"),
        json!({"clusterId": cluster}),
    )
    .await["suggestedProjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["acronym"].as_str().unwrap().to_owned(),
                s["tenant"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The audit trail of `id` as `token`'s tenant reads it once it holds `n` entries (the audit
/// projection follows the log on its own): (event type, summary).
async fn trail(app: &TestApp, token: &str, id: &str, n: usize) -> Vec<(String, String)> {
    let body = app
        .eventually_with(
            |b| {
                b["data"]["auditTrail"]["nodes"]
                    .as_array()
                    .is_some_and(|nodes| nodes.len() >= n)
            },
            &operation("AuditTrail"),
            json!({"id": id}),
            Some(token),
        )
        .await;
    body["data"]["auditTrail"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["eventType"].as_str().unwrap().to_owned(),
                n["summary"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_shared_project_crosses_to_that_tenant_only_and_only_while_shared() {
    let app = TestApp::start().await;
    let (owner, partner, other) = (unique_slug(), unique_slug(), unique_slug());
    for slug in [&owner, &partner, &other] {
        app.tenant(slug, "LT").await;
    }
    let ona = app.token("ona", &owner, &[Role::FollowUpManager]).await;
    let pia = app.token("pia", &partner, &[Role::FollowUpManager]).await;
    let oto = app.token("oto", &other, &[Role::FollowUpManager]).await;

    let (fusion, _) = project(&app, &ona, "FusionSec", &["T1", "P3", "D2"]).await;
    let (ours, _) = project(&app, &pia, "SafeCrowd", &["T1", "P3"]).await;
    let events = cluster(&app, &pia, "Public event security").await;
    app.mutate(
        &pia,
        "AssignProjectToCluster",
        json!({"clusterId": events, "projectId": ours}),
    )
    .await;
    let theirs = cluster(&app, &oto, "Their cluster").await;

    // Before any share: nothing of FusionSec reaches the partner.
    let (_, at) = project(&app, &pia, "Probe", &["G3"]).await;
    assert_eq!(read(&app, &pia, &fusion, &at).await, Value::Null);
    assert!(shared_ids(&app, &pia, &at).await.is_empty());
    assert!(suggested(&app, &pia, &events).await.is_empty());
    let refused = app
        .error(
            Some(&pia),
            &operation("AssignProjectToCluster"),
            json!({"clusterId": events, "projectId": fusion}),
        )
        .await;
    assert_eq!(refused, ("BAD_USER_INPUT".into(), Some("projectId".into())));

    // Bad shares are refused at `tenant` and store nothing.
    let before = app.event_count().await;
    for (tenant, token) in [(owner.as_str(), &ona), ("nobody-here", &ona)] {
        let refused = app
            .error(
                Some(token),
                &operation("ShareProject"),
                json!({"id": fusion, "tenant": tenant}),
            )
            .await;
        assert_eq!(refused, ("BAD_USER_INPUT".into(), Some("tenant".into())));
    }
    // Only its own tenant shares it: another tenant's manager finds no such project.
    let refused = app
        .error(
            Some(&pia),
            &operation("ShareProject"),
            json!({"id": fusion, "tenant": partner}),
        )
        .await;
    assert_eq!(refused.0, "NOT_FOUND");
    assert_eq!(app.event_count().await, before);

    // Shared with the partner.
    let (_, shared) = app
        .mutate(
            &ona,
            "ShareProject",
            json!({"id": fusion, "tenant": partner}),
        )
        .await;
    assert_eq!(
        shared_ids(&app, &pia, &shared).await,
        std::slice::from_ref(&fusion)
    );
    let seen = read(&app, &pia, &fusion, &shared).await;
    assert_eq!(seen["tenant"], json!(owner));
    assert_eq!(
        seen["sharedWith"],
        json!([]),
        "the shares are the owner's to see"
    );
    let own = read(&app, &ona, &fusion, &shared).await;
    assert_eq!(own["sharedWith"][0]["tenant"], json!(partner));
    assert_eq!(
        suggested(&app, &pia, &events).await,
        [("FusionSec".to_owned(), owner.clone())]
    );
    // The third tenant still sees nothing, and cannot assign it.
    assert_eq!(read(&app, &oto, &fusion, &shared).await, Value::Null);
    assert!(shared_ids(&app, &oto, &shared).await.is_empty());
    let refused = app
        .error(
            Some(&oto),
            &operation("AssignProjectToCluster"),
            json!({"clusterId": theirs, "projectId": fusion}),
        )
        .await;
    assert_eq!(refused, ("BAD_USER_INPUT".into(), Some("projectId".into())));

    // The partner assigns it, runs a demo with it, and records a practitioner's feedback.
    app.mutate(
        &pia,
        "AssignProjectToCluster",
        json!({"clusterId": events, "projectId": fusion}),
    )
    .await;
    let starts = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let (data, _) = app
        .mutate(
            &pia,
            "ScheduleDemoEvent",
            json!({"clusterId": events, "input": {
                "title": "Festival demo", "startsAt": starts.format(&Rfc3339).unwrap(),
                "timeZone": "Europe/Vilnius", "place": "Vilnius", "agenda": [fusion, ours]
            }}),
        )
        .await;
    let demo = data["scheduleDemoEvent"]["entityId"]
        .as_str()
        .unwrap()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (_, fed) = app
        .mutate(
            &pia,
            "RecordPaperFeedback",
            json!({"clusterId": events, "eventId": demo, "input": {
                "practitioner": {"organisation": "Lietuvos policija", "country": "LT",
                    "sector": "LAW_ENFORCEMENT"},
                "projectId": fusion,
                "feedback": {"relevance": 5, "usability": 4, "wouldPilot": true,
                    "relevantFeatures": ["T1"], "comment": "Would pilot at the festival."}
            }}),
        )
        .await;
    let dashboard = app
        .eventually_with(
            |b| {
                b["data"]["cluster"]["projects"]
                    .as_array()
                    .is_some_and(|p| p.len() == 2)
            },
            &operation("Cluster"),
            json!({"id": events}),
            Some(&pia),
        )
        .await;
    let listed = &dashboard["data"]["cluster"]["projects"][1];
    assert_eq!(listed["acronym"], "FusionSec");
    assert_eq!(listed["title"], "FusionSec: an innovation");
    assert_eq!(listed["sharedBy"], json!(owner));
    assert_eq!(listed["registered"], true);

    // The feedback is visible to both tenants, and to nobody else.
    let wait_feedback = |token: String| {
        let app = &app;
        let fusion = fusion.clone();
        async move {
            app.eventually_with(
                |b| {
                    b["data"]["project"]["feedback"]
                        .as_array()
                        .is_some_and(|f| !f.is_empty())
                },
                &operation("ProjectSharing"),
                json!({"id": fusion}),
                Some(&token),
            )
            .await["data"]["project"]["feedback"]
                .clone()
        }
    };
    let for_owner = wait_feedback(ona.clone()).await;
    assert_eq!(for_owner[0]["collectedBy"], json!(partner));
    assert_eq!(
        for_owner[0]["clusterId"],
        Value::Null,
        "the partner's cluster is its own"
    );
    assert_eq!(for_owner[0]["comment"], "Would pilot at the festival.");
    let for_partner = wait_feedback(pia.clone()).await;
    assert_eq!(for_partner[0]["clusterId"], json!(events));
    assert_eq!(read(&app, &oto, &fusion, &fed).await, Value::Null);

    // The share is in both tenants' audit trails, not in the third's.
    let owner_trail = trail(&app, &ona, &fusion, 1).await;
    assert_eq!(
        owner_trail,
        [("ProjectShared".to_owned(), format!("shared with {partner}"))]
    );
    let partner_trail = trail(&app, &pia, &fusion, 1).await;
    assert_eq!(
        partner_trail,
        [(
            "ProjectShared".to_owned(),
            format!("{owner} shared its project with this tenant")
        )]
    );
    assert!(trail(&app, &oto, &fusion, 0).await.is_empty());

    // Sharing a project shares none of the partner's cluster: the owner reads neither its
    // dashboard nor its activity.
    let theirs_dashboard = app
        .ok(Some(&ona), &operation("Cluster"), json!({"id": events}))
        .await;
    assert_eq!(theirs_dashboard["cluster"], Value::Null);
    let mut socket = GraphqlSocket::signed_in(&app, &ona).await;
    socket
        .subscribe(
            "1",
            &operation("ClusterActivity"),
            json!({"clusterId": events}),
        )
        .await;
    let refused = socket.message(WS_WAIT).await.unwrap();
    assert_eq!(refused["payload"]["data"], Value::Null, "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );

    // Exports of the other tenants' projects never hold it.
    for token in [&pia, &oto] {
        let csv = app
            .http
            .get(format!("http://{}/exports/projects.csv", app.app.addr))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(!csv.contains("FusionSec"), "{csv}");
    }

    // Withdrawn: the partner reads it no more; its cluster keeps the acronym and the feedback
    // it collected, which the owner still reads; both trails record the withdrawal.
    let (_, withdrawn) = app
        .mutate(
            &ona,
            "WithdrawProjectShare",
            json!({"id": fusion, "tenant": partner}),
        )
        .await;
    assert_eq!(read(&app, &pia, &fusion, &withdrawn).await, Value::Null);
    assert!(shared_ids(&app, &pia, &withdrawn).await.is_empty());
    let dashboard = app
        .ok(Some(&pia), &operation("Cluster"), json!({"id": events}))
        .await;
    let listed = &dashboard["cluster"]["projects"][1];
    assert_eq!(listed["acronym"], "FusionSec");
    assert_eq!(listed["registered"], false);
    assert_eq!(listed["title"], Value::Null);
    let again = read(&app, &ona, &fusion, &withdrawn).await;
    assert_eq!(again["sharedWith"], json!([]));
    assert_eq!(again["feedback"].as_array().unwrap().len(), 1);
    assert_eq!(trail(&app, &pia, &fusion, 2).await.len(), 2);
    assert_eq!(
        trail(&app, &ona, &fusion, 2).await[1],
        (
            "ProjectShareWithdrawn".to_owned(),
            format!("share with {partner} withdrawn")
        )
    );
    // Withdrawing again names `tenant`.
    let refused = app
        .error(
            Some(&ona),
            &operation("WithdrawProjectShare"),
            json!({"id": fusion, "tenant": partner}),
        )
        .await;
    assert_eq!(refused, ("BAD_USER_INPUT".into(), Some("tenant".into())));
    app.app.stop().await;
}

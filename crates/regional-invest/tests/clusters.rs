//! Project clusters end to end over HTTP (issue 6), on the real PostgreSQL and NATS: a
//! follow-up manager runs the seven steps of the clustering practice (D2.5, section 3.3), a
//! practitioner gives feedback through their link without an account, and the dashboard shows
//! the outcome, with numbers computed here by hand; the audit trail shows every change. Bad
//! input (wrong, expired, replaced links; ratings outside 1 to 5; an event in the past; another
//! tenant's project; too many attempts) is refused with its code and stores nothing; another
//! tenant's follow-up manager finds nothing; practitioners answering at once all get through
//! (writes to a cluster race for its version and are retried); `clusterActivity` delivers what
//! another process committed.
//!
//! Projects and their success milestones are written straight to the event log: registering
//! projects over the API is another issue's (the projects API).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use common::{GraphqlSocket, TestApp, WS_WAIT, operation, until_live};
use ri_domain::project::{
    Acronym, Consortium, MilestoneDescription, Project, ProjectCommand, ProjectDetails,
    SuccessCriterion,
};
use ri_domain::values::{CountryCode, Summary, Title};
use ri_domain::{EventMetadata, Role, TenantSlug};
use ri_taxonomy::FeatureSet;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

/// A time for an event that stays upcoming.
const LATER: &str = "2030-05-20T10:00:00+03:00";

/// Practitioners answering the same demo event at the same moment (two projects each).
const PRACTITIONERS: usize = 4;

/// A tenant slug no other test (nor another run, on the shared NATS) uses.
fn unique_slug() -> String {
    format!("s{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap()
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Registers a project of `tenant` with `features` straight in the log; returns its id.
async fn project(app: &TestApp, tenant: &str, acronym: &str, features: &[&str]) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    let slug = TenantSlug::parse(tenant).unwrap();
    let meta = EventMetadata::new("setup", slug.clone(), vec![Role::FollowUpManager]);
    let details = ProjectDetails {
        acronym: Acronym::parse("acronym", acronym).unwrap(),
        title: Title::parse("title", &format!("{acronym}: a security innovation")).unwrap(),
        open_call: None,
        stage: None,
        security_domain: None,
        consortium: Consortium::default(),
        lead_country: Some(CountryCode::parse("leadCountry", "LT").unwrap()),
        summary: Summary::parse("summary", "").unwrap(),
    };
    let mut commands = vec![ProjectCommand::Register {
        tenant: slug.clone(),
        details,
    }];
    if !features.is_empty() {
        commands.push(ProjectCommand::DeclareFeatures {
            features: FeatureSet::parse(features.iter().copied()).unwrap(),
        });
    }
    for command in commands {
        app.app
            .log
            .execute::<Project>(&slug, &id, command, &meta, ())
            .await
            .unwrap();
    }
    id
}

async fn milestone(app: &TestApp, tenant: &str, project: &str, date: Date, description: &str) {
    let slug = TenantSlug::parse(tenant).unwrap();
    let meta = EventMetadata::new("setup", slug.clone(), vec![Role::FollowUpManager]);
    let command = ProjectCommand::RecordMilestone {
        id: uuid::Uuid::now_v7(),
        criterion: SuccessCriterion::Recognition,
        date,
        description: MilestoneDescription::parse("description", description).unwrap(),
        evidence_link: None,
    };
    app.app
        .log
        .execute::<Project>(&slug, project, command, &meta, ())
        .await
        .unwrap();
}

/// Names an area and forms a cluster for it; returns (area id, cluster id).
async fn area_and_cluster(app: &TestApp, token: &str, name: &str) -> (String, String) {
    let area = app
        .ok(
            Some(token),
            &operation("NameEndUserArea"),
            json!({"input": {"name": name, "domain": "PUBLIC_SPACE_PROTECTION"}}),
        )
        .await["nameEndUserArea"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cluster = app
        .ok(
            Some(token),
            &operation("FormCluster"),
            json!({"input": {"areaId": area, "name": format!("{name} cluster")}}),
        )
        .await["formCluster"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (area, cluster)
}

async fn assign(app: &TestApp, token: &str, cluster: &str, project: &str) -> i64 {
    app.ok(
        Some(token),
        &operation("AssignProjectToCluster"),
        json!({"clusterId": cluster, "projectId": project}),
    )
    .await["assignProjectToCluster"]["version"]
        .as_i64()
        .unwrap()
}

/// Schedules a demo event of `agenda` starting at `starts_at`; returns its id.
async fn schedule(
    app: &TestApp,
    token: &str,
    cluster: &str,
    title: &str,
    starts_at: &str,
    agenda: &[&str],
) -> String {
    app.ok(
        Some(token),
        &operation("ScheduleDemoEvent"),
        json!({"clusterId": cluster, "input": {
            "title": title, "startsAt": starts_at, "timeZone": "Europe/Vilnius",
            "place": "Vilnius Tech Park", "agenda": agenda
        }}),
    )
    .await["scheduleDemoEvent"]["entityId"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Invites a practitioner; returns (invitation id, the token of their link).
async fn invite(
    app: &TestApp,
    token: &str,
    cluster: &str,
    event: &str,
    practitioner: Value,
    email: &str,
    expires_at: Option<&str>,
) -> (String, String) {
    let data = app
        .ok(
            Some(token),
            &operation("InvitePractitioner"),
            json!({"clusterId": cluster, "eventId": event, "input": {
                "practitioner": practitioner, "email": email, "expiresAt": expires_at
            }}),
        )
        .await;
    let link = data["invitePractitioner"]["link"].as_str().unwrap();
    let token = link.strip_prefix("/feedback/").unwrap().to_owned();
    (
        data["invitePractitioner"]["invitationId"]
            .as_str()
            .unwrap()
            .to_owned(),
        token,
    )
}

fn feedback(relevance: i64, usability: i64, would_pilot: bool, features: &[&str]) -> Value {
    json!({
        "relevance": relevance, "usability": usability, "wouldPilot": would_pilot,
        "relevantFeatures": features, "comment": "Seen at the demo."
    })
}

/// Anonymous feedback through a link; returns the whole response body.
async fn submit(app: &TestApp, token: &str, project: &str, answers: Value) -> Value {
    app.gql(
        None,
        &operation("SubmitDemoFeedback"),
        json!({"token": token, "projectId": project, "input": answers}),
    )
    .await
    .1
}

/// What a link opens once the read model shows it in `state`.
async fn opened(app: &TestApp, token: &str, state: &str) -> Value {
    app.eventually_with(
        |b| b["data"]["invitation"]["state"] == state,
        &operation("FeedbackInvitation"),
        json!({"token": token}),
        None,
    )
    .await["data"]["invitation"]
        .clone()
}

/// The dashboard once the read model has caught up with `version`.
async fn dashboard(app: &TestApp, token: &str, cluster: &str, version: i64) -> Value {
    app.eventually_with(
        |b| b["data"]["cluster"]["version"] == version,
        &operation("Cluster"),
        json!({"id": cluster}),
        Some(token),
    )
    .await["data"]["cluster"]
        .clone()
}

async fn sleep_until(at: OffsetDateTime) {
    let wait = at - OffsetDateTime::now_utc();
    if wait.is_positive() {
        tokio::time::sleep(Duration::try_from(wait).unwrap()).await;
    }
}

fn close(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-9)
}

fn codes(list: &Value, key: &str) -> Vec<(String, i64)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let value = match &c[key] {
                Value::Object(feature) => feature["code"].as_str().unwrap().to_owned(),
                other => other.as_str().unwrap().to_owned(),
            };
            (value, c["count"].as_i64().unwrap())
        })
        .collect()
}

fn pairs(items: &[(&str, i64)]) -> Vec<(String, i64)> {
    items.iter().map(|(c, n)| ((*c).to_owned(), *n)).collect()
}

// Several threads, so that practitioners' concurrent answers really race for the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follow_up_manager_runs_the_seven_steps_and_the_dashboard_shows_the_feedback() {
    let app = TestApp::start().await;
    app.tenant("safe", "LT").await;
    app.tenant("l3ce", "LT").await;
    let ona = app.token("ona", "safe", &[Role::FollowUpManager]).await;
    let viewer = app.token("vika", "safe", &[Role::Curator]).await;

    let errata = project(&app, "safe", "ERRATA", &["T1", "T2", "P1"]).await;
    let airt = project(&app, "safe", "AIR-T4S", &["T1", "D2"]).await;
    let cmd = project(&app, "safe", "CMD BOX", &["G1"]).await;
    let fest = project(&app, "safe", "Safe Festivals", &["T1", "T2"]).await;
    let drone = project(&app, "safe", "DRONE-X", &["D2"]).await;
    project(&app, "safe", "NO-FEATURES", &[]).await;
    project(&app, "l3ce", "ELSEWHERE", &["T1", "T2", "P1"]).await;
    milestone(
        &app,
        "safe",
        &errata,
        Date::from_calendar_date(2026, time::Month::May, 4).unwrap(),
        "Awarded a pilot contract by the Vilnius municipality",
    )
    .await;

    // 1. Name the end-user centric area.
    let area = app
        .ok(
            Some(&ona),
            &operation("NameEndUserArea"),
            json!({"input": {"name": "Public event security", "domain": "PUBLIC_SPACE_PROTECTION"}}),
        )
        .await["nameEndUserArea"]
        .clone();
    assert_eq!(area["version"], 1);
    let area_id = area["id"].as_str().unwrap().to_owned();
    let revised = app
        .ok(
            Some(&ona),
            &operation("ReviseEndUserArea"),
            json!({"id": area_id, "expectedVersion": 1, "input": {
                "description": "Festivals, fan zones and other crowded public events."
            }}),
        )
        .await;
    assert_eq!(revised["reviseEndUserArea"]["version"], 2);

    // 2. Cluster projects around it (the area is checked at once, before its projection).
    let formed = app
        .ok(
            Some(&ona),
            &operation("FormCluster"),
            json!({"input": {"areaId": area_id, "name": "Public event security"}}),
        )
        .await["formCluster"]
        .clone();
    assert_eq!(formed["version"], 1);
    let cluster = formed["id"].as_str().unwrap().to_owned();
    app.ok(
        Some(&ona),
        &operation("ReviseCluster"),
        json!({"id": cluster, "expectedVersion": 1, "input": {
            "name": "Public event security cluster",
            "description": "Demonstrators for festival and fan-zone security."
        }}),
    )
    .await;
    let mut assigned = 0;
    for p in [&errata, &airt, &cmd] {
        assigned = assign(&app, &ona, &cluster, p).await;
    }
    dashboard(&app, &ona, &cluster, assigned).await;
    // The suggestions explain themselves by the features shared with the members.
    let suggested = app
        .eventually_with(
            |b| {
                b["data"]["suggestedProjects"]
                    .as_array()
                    .is_some_and(|s| s.len() == 2)
            },
            &operation("SuggestedProjects"),
            json!({"clusterId": cluster}),
            Some(&ona),
        )
        .await["data"]["suggestedProjects"]
        .clone();
    assert_eq!(suggested[0]["id"], json!(fest));
    // Jaccard to ERRATA {T1,T2,P1} = 2/3, to AIR-T4S {T1,D2} = 1/3, to CMD BOX {G1} = 0.
    assert!(close(&suggested[0]["score"], 1.0 / 3.0), "{suggested}");
    assert_eq!(
        suggested[0]["sharedFeatures"],
        json!([
            {"feature": {"code": "T1", "label": suggested[0]["sharedFeatures"][0]["feature"]["label"]}, "members": 2},
            {"feature": {"code": "T2", "label": suggested[0]["sharedFeatures"][1]["feature"]["label"]}, "members": 1}
        ])
    );
    assert_eq!(suggested[0]["closestMember"], "ERRATA");
    assert_eq!(suggested[1]["id"], json!(drone));
    assert!(close(&suggested[1]["score"], 1.0 / 6.0), "{suggested}");
    assert_eq!(suggested[1]["closestMember"], "AIR-T4S");
    // A project assigned and taken out again leaves no trace on the dashboard.
    assign(&app, &ona, &cluster, &drone).await;
    app.ok(
        Some(&ona),
        &operation("RemoveProjectFromCluster"),
        json!({"clusterId": cluster, "projectId": drone}),
    )
    .await;

    // 3. Assign the follow-up manager.
    app.ok(
        Some(&ona),
        &operation("AssignFollowUpManager"),
        json!({"clusterId": cluster, "subject": "ona"}),
    )
    .await;

    // 4. Organise a demo event with end-users, synchronising the demonstrations (the agenda),
    // and plan the next one; a third is cancelled.
    let starts_at = OffsetDateTime::now_utc() + time::Duration::seconds(4);
    let demo = schedule(
        &app,
        &ona,
        &cluster,
        "Public event security demo day",
        &rfc3339(starts_at),
        &[&errata, &airt],
    )
    .await;
    let next = schedule(&app, &ona, &cluster, "Autumn demo", LATER, &[&cmd]).await;
    app.ok(
        Some(&ona),
        &operation("ReviseDemoAgenda"),
        json!({"clusterId": cluster, "eventId": next, "agenda": [cmd, errata]}),
    )
    .await;
    app.ok(
        Some(&ona),
        &operation("RescheduleDemoEvent"),
        json!({"clusterId": cluster, "eventId": next, "startsAt": "2030-09-15T10:00:00+03:00",
               "timeZone": "Europe/Vilnius", "onlineLink": "https://meet.example.eu/autumn"}),
    )
    .await;
    let dropped = schedule(&app, &ona, &cluster, "Winter demo", LATER, &[&cmd]).await;
    app.ok(
        Some(&ona),
        &operation("CancelDemoEvent"),
        json!({"clusterId": cluster, "eventId": dropped, "reason": "venue unavailable"}),
    )
    .await;

    // 5. Involve practitioners and collect their feedback: links, and a paper sheet.
    let police =
        json!({"organisation": "Lietuvos policija", "country": "LT", "sector": "LAW_ENFORCEMENT"});
    let firefighters =
        json!({"organisation": "SDIS 13", "country": "FR", "sector": "FIRE_AND_RESCUE"});
    let (police_invitation, police_token) = invite(
        &app,
        &ona,
        &cluster,
        &demo,
        police,
        "ona.p@policija.lt",
        None,
    )
    .await;
    let (_, fire_token) = invite(
        &app,
        &ona,
        &cluster,
        &demo,
        firefighters,
        "chef@sdis13.fr",
        None,
    )
    .await;
    let (stray, _) = invite(
        &app,
        &ona,
        &cluster,
        &demo,
        json!({"organisation": "Wrong address", "country": "LV", "sector": "OTHER"}),
        "someone@example.lv",
        None,
    )
    .await;
    app.ok(
        Some(&ona),
        &operation("RevokeInvitation"),
        json!({"clusterId": cluster, "invitationId": stray, "reason": "sent to the wrong person"}),
    )
    .await;
    assert_eq!(police_token.len(), 43);
    // Only the token's hash is stored: the log never holds the link.
    let leaked: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE strpos(payload::text, $1) > 0")
            .bind(&police_token)
            .fetch_one(app.app.log.pool())
            .await
            .unwrap();
    assert_eq!(leaked, 0);

    // The practitioner opens the link before the event: the agenda, nothing to rate yet.
    let before = opened(&app, &police_token, "NOT_OPEN_YET").await;
    assert_eq!(before["eventTitle"], "Public event security demo day");
    assert_eq!(before["organisation"], "Lietuvos policija");
    assert_eq!(before["agenda"][0]["acronym"], "ERRATA");
    assert_eq!(
        before["agenda"][0]["title"],
        "ERRATA: a security innovation"
    );
    assert_eq!(before["agenda"][0]["features"][0]["code"], "T1");
    assert_eq!(before["agenda"][1]["acronym"], "AIR-T4S");

    sleep_until(starts_at + time::Duration::milliseconds(200)).await;
    app.ok(
        Some(&ona),
        &operation("MarkDemoEventHeld"),
        json!({"clusterId": cluster, "eventId": demo}),
    )
    .await;
    opened(&app, &police_token, "OPEN").await;

    // No account: the link is the credential. A second answer on a project revises the first.
    let first = submit(
        &app,
        &police_token,
        &errata,
        feedback(4, 4, true, &["T1", "T2"]),
    )
    .await;
    assert_eq!(
        first["data"]["submitDemoFeedback"]["acronym"], "ERRATA",
        "{first}"
    );
    let again = submit(
        &app,
        &police_token,
        &errata,
        feedback(5, 4, true, &["T1", "T2"]),
    )
    .await;
    assert!(again.get("errors").is_none(), "{again}");
    // Many practitioners at once: writes to one cluster serialise, and are retried.
    let paper = json!({"clusterId": cluster, "eventId": demo, "input": {
        "practitioner": {"organisation": "Vilniaus savivaldybė", "country": "LT", "sector": "MUNICIPALITY"},
        "projectId": errata, "feedback": feedback(2, 5, false, &["P1"])
    }});
    let record_paper = operation("RecordPaperFeedback");
    let (a, b, c) = tokio::join!(
        submit(&app, &police_token, &airt, feedback(3, 2, false, &["T1"])),
        submit(&app, &fire_token, &errata, feedback(4, 3, true, &["T1"])),
        app.gql(Some(&ona), &record_paper, paper),
    );
    for body in [&a, &b, &c.1] {
        assert!(body.get("errors").is_none(), "{body}");
    }

    // 6. Follow-up sessions with next steps: one earlier (a step overdue, one done), one after
    // the demo.
    let kickoff = app
        .ok(
            Some(&ona),
            &operation("RecordFollowUpSession"),
            json!({"clusterId": cluster, "input": {
                "date": (today() - time::Duration::days(20)).to_string(),
                "attendees": ["Ona Petraitė", "AIR-T4S team", "CMD BOX team"],
                "notes": "Kick-off: what each team brings to the demo day.",
                "nextSteps": [
                    {"projectId": airt, "action": "Share the data sheet", "owner": "AIR-T4S team",
                     "due": (today() - time::Duration::days(10)).to_string()},
                    {"projectId": cmd, "action": "Send a demo video", "owner": "CMD BOX team",
                     "due": (today() - time::Duration::days(5)).to_string()}
                ]
            }}),
        )
        .await["recordFollowUpSession"]
        .clone();
    let overdue_step = kickoff["nextStepIds"][0].as_str().unwrap().to_owned();
    let done_step = kickoff["nextStepIds"][1].as_str().unwrap().to_owned();
    app.ok(
        Some(&ona),
        &operation("CompleteNextStep"),
        json!({"clusterId": cluster, "stepId": done_step}),
    )
    .await;
    let debrief = app
        .ok(
            Some(&ona),
            &operation("RecordFollowUpSession"),
            json!({"clusterId": cluster, "input": {
                "date": today().to_string(), "demoEventId": demo,
                "attendees": ["Ona Petraitė", "ERRATA team", "Lietuvos policija"],
                "notes": "The police want to pilot ERRATA at the city festival.",
                "nextSteps": [{"projectId": errata, "action": "Pilot at the Vilnius city festival",
                               "owner": "Vilnius municipality",
                               "due": (today() + time::Duration::days(30)).to_string()}]
            }}),
        )
        .await["recordFollowUpSession"]
        .clone();
    let debrief_id = debrief["sessionId"].as_str().unwrap().to_owned();
    app.ok(
        Some(&ona),
        &operation("AddNextStep"),
        json!({"clusterId": cluster, "sessionId": debrief_id, "input": {
            "projectId": airt, "action": "Introduce to an integrator", "owner": "Ona Petraitė",
            "due": (today() + time::Duration::days(60)).to_string()
        }}),
    )
    .await;

    // 7. Engage other stakeholders.
    app.ok(
        Some(&ona),
        &operation("EngageStakeholder"),
        json!({"clusterId": cluster, "input": {"kind": "INVESTOR", "name": "Baltic Security Ventures", "note": "Seed stage"}}),
    )
    .await;
    let eactda = app
        .ok(
            Some(&ona),
            &operation("EngageStakeholder"),
            json!({"clusterId": cluster, "input": {"kind": "EACTDA", "name": "EACTDA"}}),
        )
        .await["engageStakeholder"]["entityId"]
        .as_str()
        .unwrap()
        .to_owned();
    let last = app
        .ok(
            Some(&ona),
            &operation("EngageStakeholder"),
            json!({"clusterId": cluster, "input": {"kind": "DIANA", "name": "DIANA test centre Vilnius"}}),
        )
        .await;
    let last = last["engageStakeholder"]["version"].as_i64().unwrap();
    let last = app
        .ok(
            Some(&ona),
            &operation("DisengageStakeholder"),
            json!({"clusterId": cluster, "stakeholderId": eactda, "expectedVersion": last}),
        )
        .await["disengageStakeholder"]["version"]
        .as_i64()
        .unwrap();
    // form, revise, 4 assignments, 1 removal, manager, 3 events, agenda, reschedule, cancel,
    // 3 invitations, revocation, held, 4 feedback through links (one a revision), 1 on paper,
    // 2 sessions, 1 step completed, 1 added, 3 stakeholders engaged, 1 disengaged.
    assert_eq!(last, 32);

    // The dashboard, as any user of the tenant sees it.
    let d = dashboard(&app, &viewer, &cluster, last).await;
    assert_eq!(d["name"], "Public event security cluster");
    assert_eq!(d["area"]["name"], "Public event security");
    assert_eq!(d["area"]["domain"], "PUBLIC_SPACE_PROTECTION");
    assert_eq!(d["followUpManager"], "ona");
    let acronyms: Vec<&str> = d["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["acronym"].as_str().unwrap())
        .collect();
    assert_eq!(acronyms, ["ERRATA", "AIR-T4S", "CMD BOX"]);
    assert_eq!(d["projects"][0]["registered"], true);
    let stakeholders: Vec<(&str, &str)> = d["stakeholders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["kind"].as_str().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stakeholders,
        [
            ("INVESTOR", "Baltic Security Ventures"),
            ("DIANA", "DIANA test centre Vilnius")
        ]
    );

    // Events: the two later ones (one cancelled, marked) and the one held.
    assert_eq!(d["upcomingEventCount"], 1);
    let upcoming = d["upcomingEvents"].as_array().unwrap();
    assert_eq!(upcoming.len(), 2);
    assert_eq!(upcoming[0]["id"], json!(dropped));
    assert_eq!(upcoming[0]["status"], "CANCELLED");
    assert_eq!(upcoming[0]["cancelReason"], "venue unavailable");
    assert_eq!(upcoming[1]["id"], json!(next));
    assert_eq!(upcoming[1]["startsAt"], "2030-09-15T07:00:00Z");
    assert_eq!(upcoming[1]["onlineLink"], "https://meet.example.eu/autumn");
    assert_eq!(upcoming[1]["agenda"][1]["acronym"], "ERRATA");
    let held = &d["pastEvents"][0];
    assert_eq!(held["id"], json!(demo));
    assert_eq!(held["status"], "HELD");
    assert_eq!(held["invitationCount"], 2);
    assert_eq!(held["respondentCount"], 3);
    assert_eq!(held["feedbackCount"], 4);
    let invitations = held["invitations"].as_array().unwrap();
    assert_eq!(invitations.len(), 3);
    assert!(
        invitations
            .iter()
            .any(|i| i["organisation"] == "Wrong address" && i["revoked"] == true)
    );
    let revised_entry = held["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["respondentId"] == json!(police_invitation) && f["projectId"] == json!(errata))
        .unwrap();
    assert_eq!(revised_entry["relevance"], 5);
    assert_eq!(revised_entry["revisions"], 1);
    assert_eq!(revised_entry["source"], "INVITATION");

    // The feedback summary per project, by hand:
    // ERRATA: police 5/4 pilot [T1 T2], firefighters 4/3 pilot [T1], municipality (paper) 2/5 [P1].
    let errata_summary = &d["feedback"][0];
    assert_eq!(errata_summary["acronym"], "ERRATA");
    assert_eq!(errata_summary["count"], 3);
    assert!(
        close(&errata_summary["meanRelevance"], 11.0 / 3.0),
        "{errata_summary}"
    );
    assert!(
        close(&errata_summary["meanUsability"], 4.0),
        "{errata_summary}"
    );
    assert!(
        close(&errata_summary["wouldPilotShare"], 2.0 / 3.0),
        "{errata_summary}"
    );
    assert_eq!(
        codes(&errata_summary["topFeatures"], "feature"),
        pairs(&[("T1", 2), ("T2", 1), ("P1", 1)])
    );
    assert_eq!(
        codes(&errata_summary["byCountry"], "country"),
        pairs(&[("LT", 2), ("FR", 1)])
    );
    assert_eq!(
        codes(&errata_summary["bySector"], "sector"),
        pairs(&[
            ("FIRE_AND_RESCUE", 1),
            ("LAW_ENFORCEMENT", 1),
            ("MUNICIPALITY", 1)
        ])
    );
    // AIR-T4S: police 3/2, no pilot, [T1].
    let air_summary = &d["feedback"][1];
    assert_eq!(air_summary["count"], 1);
    assert!(close(&air_summary["meanRelevance"], 3.0));
    assert!(close(&air_summary["meanUsability"], 2.0));
    assert!(close(&air_summary["wouldPilotShare"], 0.0));
    assert_eq!(
        codes(&air_summary["topFeatures"], "feature"),
        pairs(&[("T1", 1)])
    );
    // CMD BOX: demonstrated nowhere yet.
    assert_eq!(d["feedback"][2]["count"], 0);
    assert_eq!(d["feedback"][2]["meanRelevance"], Value::Null);

    // Follow-up: the later session first; open steps by due date, the overdue one flagged.
    assert_eq!(d["sessions"][0]["id"], json!(debrief_id));
    assert_eq!(d["sessions"][0]["demoEventId"], json!(demo));
    assert_eq!(d["sessions"][1]["nextSteps"].as_array().unwrap().len(), 2);
    let open: Vec<(&str, bool)> = d["openSteps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["action"].as_str().unwrap(),
                s["overdue"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        open,
        [
            ("Share the data sheet", true),
            ("Pilot at the Vilnius city festival", false),
            ("Introduce to an integrator", false)
        ]
    );
    assert_eq!(d["overdueSteps"].as_array().unwrap().len(), 1);
    assert_eq!(d["overdueSteps"][0]["id"], json!(overdue_step));
    assert_eq!(d["overdueSteps"][0]["acronym"], "AIR-T4S");
    assert_eq!(
        (d["openStepCount"].clone(), d["overdueStepCount"].clone()),
        (json!(3), json!(1))
    );

    // The success milestones of its projects.
    assert_eq!(d["milestones"].as_array().unwrap().len(), 1);
    assert_eq!(d["milestones"][0]["acronym"], "ERRATA");
    assert_eq!(d["milestones"][0]["criterion"], "RECOGNITION");
    assert_eq!(d["milestones"][0]["date"], "2026-05-04");

    // The list, and the practitioner's view of what they gave.
    let list = app
        .ok(Some(&viewer), &operation("Clusters"), json!({}))
        .await;
    assert_eq!(list["clusters"][0]["id"], json!(cluster));
    assert_eq!(list["clusters"][0]["projectCount"], 3);
    assert_eq!(list["clusters"][0]["overdueStepCount"], 1);
    let areas = app.ok(Some(&viewer), &operation("Areas"), json!({})).await;
    assert_eq!(areas["areas"][0]["clusterCount"], 1);
    assert_eq!(areas["areas"][0]["version"], 2);
    let given = opened(&app, &police_token, "OPEN").await;
    let mine: Vec<(&str, i64)> = given["feedback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["acronym"].as_str().unwrap(),
                f["relevance"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(mine, [("ERRATA", 5), ("AIR-T4S", 3)]);

    // Every change is in the audit trail, the practitioners' with their invitation as actor.
    let trail = app
        .eventually_with(
            |b| b["data"]["auditTrail"]["totalCount"] == last,
            &operation("AuditTrail"),
            json!({"id": cluster, "first": 100}),
            Some(&ona),
        )
        .await["data"]["auditTrail"]
        .clone();
    let nodes = trail["nodes"].as_array().unwrap();
    let types: Vec<&str> = nodes
        .iter()
        .map(|n| n["eventType"].as_str().unwrap())
        .collect();
    for expected in [
        "ClusterFormed",
        "ClusterRevised",
        "ProjectAssignedToCluster",
        "ProjectRemovedFromCluster",
        "FollowUpManagerAssigned",
        "DemoEventScheduled",
        "DemoAgendaRevised",
        "DemoEventRescheduled",
        "DemoEventCancelled",
        "PractitionerInvited",
        "InvitationRevoked",
        "DemoEventHeld",
        "DemoFeedbackSubmitted",
        "DemoFeedbackRevised",
        "FollowUpSessionRecorded",
        "NextStepCompleted",
        "NextStepAdded",
        "StakeholderEngaged",
        "StakeholderDisengaged",
    ] {
        assert!(
            types.contains(&expected),
            "{expected} missing from {types:?}"
        );
    }
    let revision = nodes
        .iter()
        .find(|n| n["eventType"] == "DemoFeedbackRevised")
        .unwrap();
    assert_eq!(revision["actor"], format!("invitation:{police_invitation}"));
    assert!(
        revision["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["field"] == "feedback.relevance" && c["old"] == "4" && c["new"] == "5"),
        "{revision}"
    );
    let area_trail = app
        .eventually_with(
            |b| b["data"]["auditTrail"]["totalCount"] == 2,
            &operation("AuditTrail"),
            json!({"id": area_id, "first": 10}),
            Some(&ona),
        )
        .await;
    assert_eq!(
        area_trail["data"]["auditTrail"]["nodes"][1]["eventType"],
        "EndUserAreaRevised"
    );
    app.app.stop().await;
}

/// The first error of a response: its code, field and reason.
fn refusal(body: &Value) -> (String, Option<String>, Option<String>) {
    let error = &body["errors"][0];
    assert!(error.is_object(), "expected an error, got {body}");
    let text = |v: &Value| v.as_str().map(str::to_owned);
    (
        error["extensions"]["code"]
            .as_str()
            .unwrap_or("")
            .to_owned(),
        text(&error["extensions"]["field"]),
        text(&error["extensions"]["reason"]),
    )
}

fn code_field(
    code: &str,
    field: Option<&str>,
    reason: Option<&str>,
) -> (String, Option<String>, Option<String>) {
    (
        code.to_owned(),
        field.map(str::to_owned),
        reason.map(str::to_owned),
    )
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_error_and_stores_nothing() {
    // This host is the trusted proxy (trusted_proxies), for the X-Forwarded-For check below.
    let app = TestApp::start_with(|c| c.trusted_proxies = "127.0.0.1".parse().unwrap()).await;
    app.tenant("safe", "LT").await;
    app.tenant("l3ce", "LT").await;
    let ona = app.token("ona", "safe", &[Role::FollowUpManager]).await;
    let errata = project(&app, "safe", "ERRATA", &["T1"]).await;
    let airt = project(&app, "safe", "AIR-T4S", &["T1"]).await;
    let foreign = project(&app, "l3ce", "FOREIGN", &["T1"]).await;
    let (_, cluster) = area_and_cluster(&app, &ona, "Public event security").await;
    assign(&app, &ona, &cluster, &errata).await;
    let starts_at = OffsetDateTime::now_utc() + time::Duration::seconds(3);
    let demo = schedule(
        &app,
        &ona,
        &cluster,
        "Demo day",
        &rfc3339(starts_at),
        &[&errata],
    )
    .await;
    let police =
        json!({"organisation": "Lietuvos policija", "country": "LT", "sector": "LAW_ENFORCEMENT"});
    let (police_invitation, replaced_token) = invite(
        &app,
        &ona,
        &cluster,
        &demo,
        police.clone(),
        "ona.p@policija.lt",
        None,
    )
    .await;
    let expires = rfc3339(starts_at + time::Duration::seconds(2));
    let (_, expired_token) = invite(
        &app,
        &ona,
        &cluster,
        &demo,
        json!({"organisation": "SDIS 13", "country": "FR", "sector": "FIRE_AND_RESCUE"}),
        "chef@sdis13.fr",
        Some(&expires),
    )
    .await;
    // A lost link is replaced: the old one is used up.
    let reissued = app
        .ok(
            Some(&ona),
            &operation("ReissueInvitation"),
            json!({"clusterId": cluster, "invitationId": police_invitation}),
        )
        .await;
    let token = reissued["reissueInvitation"]["link"]
        .as_str()
        .unwrap()
        .strip_prefix("/feedback/")
        .unwrap()
        .to_owned();
    assert_ne!(token, replaced_token);

    // Who may: not anonymous callers, not curators (granted before counting: a grant is an
    // event).
    let curator = app.token("cura", "safe", &[Role::Curator]).await;
    let before = app.event_count().await;
    let name = json!({"input": {"name": "X", "domain": "DISASTER_RESILIENCE"}});
    assert_eq!(
        app.error(None, &operation("NameEndUserArea"), name.clone())
            .await
            .0,
        "UNAUTHENTICATED"
    );
    assert_eq!(
        app.error(Some(&curator), &operation("NameEndUserArea"), name)
            .await
            .0,
        "FORBIDDEN"
    );
    // Nor, before the event starts, a practitioner.
    opened(&app, &token, "NOT_OPEN_YET").await;
    let early = submit(&app, &token, &errata, feedback(4, 4, true, &[])).await;
    assert_eq!(
        refusal(&early),
        code_field("BAD_USER_INPUT", None, Some("NOT_OPEN_YET"))
    );

    // An event in the past.
    let past = app
        .gql(
            Some(&ona),
            &operation("ScheduleDemoEvent"),
            json!({"clusterId": cluster, "input": {
                "title": "Yesterday", "startsAt": rfc3339(OffsetDateTime::now_utc() - time::Duration::days(1)),
                "timeZone": "Europe/Vilnius", "place": "Vilnius", "agenda": [errata]
            }}),
        )
        .await
        .1;
    assert_eq!(
        refusal(&past),
        code_field("BAD_USER_INPUT", Some("startsAt"), None)
    );
    // Another tenant's project, an unknown one, and one not in the cluster on an agenda.
    for project in [foreign.as_str(), "0192f7a0-0000-7000-8000-000000000001"] {
        let (code, field) = app
            .error(
                Some(&ona),
                &operation("AssignProjectToCluster"),
                json!({"clusterId": cluster, "projectId": project}),
            )
            .await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("projectId"))
        );
    }
    let (code, field) = app
        .error(
            Some(&ona),
            &operation("ScheduleDemoEvent"),
            json!({"clusterId": cluster, "input": {
                "title": "Later", "startsAt": LATER, "timeZone": "Europe/Vilnius",
                "place": "Vilnius", "agenda": [airt]
            }}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("agenda"))
    );
    // A form for an area that is not the tenant's.
    let (code, field) = app
        .error(
            Some(&ona),
            &operation("FormCluster"),
            json!({"input": {"areaId": "0192f7a0-0000-7000-8000-000000000002", "name": "No area"}}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("areaId"))
    );
    // A stale expectedVersion.
    let (code, _) = app
        .error(
            Some(&ona),
            &operation("AssignFollowUpManager"),
            json!({"clusterId": cluster, "subject": "ona", "expectedVersion": 1}),
        )
        .await;
    assert_eq!(code, "CONFLICT");
    assert_eq!(app.event_count().await, before);

    sleep_until(starts_at + time::Duration::seconds(3)).await;
    let before = app.event_count().await;
    // A wrong link, an expired one, and one used up by a reissue.
    let wrong = submit(
        &app,
        "not-a-link-anyone-was-given",
        &errata,
        feedback(4, 4, true, &[]),
    )
    .await;
    assert_eq!(refusal(&wrong), code_field("NOT_FOUND", None, None));
    let unknown = app
        .gql(
            None,
            &operation("FeedbackInvitation"),
            json!({"token": "not-a-link-anyone-was-given"}),
        )
        .await
        .1;
    assert_eq!(unknown["data"]["invitation"], Value::Null, "{unknown}");
    let expired = submit(&app, &expired_token, &errata, feedback(4, 4, true, &[])).await;
    assert_eq!(
        refusal(&expired),
        code_field("FORBIDDEN", None, Some("EXPIRED"))
    );
    let replaced = submit(&app, &replaced_token, &errata, feedback(4, 4, true, &[])).await;
    assert_eq!(
        refusal(&replaced),
        code_field("FORBIDDEN", None, Some("REPLACED"))
    );
    assert_eq!(
        opened(&app, &replaced_token, "REPLACED").await["agenda"],
        json!([])
    );
    // Ratings outside 1 to 5, through a link and on paper.
    let high = submit(&app, &token, &errata, feedback(6, 4, true, &[])).await;
    assert_eq!(
        refusal(&high),
        code_field("BAD_USER_INPUT", Some("relevance"), None)
    );
    let low = submit(&app, &token, &errata, feedback(4, 0, true, &[])).await;
    assert_eq!(
        refusal(&low),
        code_field("BAD_USER_INPUT", Some("usability"), None)
    );
    let (code, field) = app
        .error(
            Some(&ona),
            &operation("RecordPaperFeedback"),
            json!({"clusterId": cluster, "eventId": demo, "input": {
                "practitioner": police, "projectId": errata, "feedback": feedback(0, 3, false, &[])
            }}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("relevance"))
    );
    // A project not on the agenda, an unknown feature.
    let off = submit(&app, &token, &airt, feedback(4, 4, true, &[])).await;
    assert_eq!(
        refusal(&off),
        code_field("BAD_USER_INPUT", Some("projectId"), None)
    );
    let odd = submit(&app, &token, &errata, feedback(4, 4, true, &["Z9"])).await;
    assert_eq!(
        refusal(&odd),
        code_field("BAD_USER_INPUT", Some("relevantFeatures"), None)
    );
    assert_eq!(app.event_count().await, before);
    // The current link works.
    let good = submit(&app, &token, &errata, feedback(4, 4, true, &["T1"])).await;
    assert!(good.get("errors").is_none(), "{good}");
    assert_eq!(app.event_count().await, before + 1);

    // Too many attempts with one link: refused before the lookup, with Retry-After. The counters
    // run in fixed windows on the hour: start well inside one, or the count would restart.
    let into_hour = time::OffsetDateTime::now_utc()
        .unix_timestamp()
        .rem_euclid(3600);
    if into_hour > 3600 - 120 {
        let left = u64::try_from(3600 - into_hour).unwrap() + 1;
        tokio::time::sleep(std::time::Duration::from_secs(left)).await;
    }
    let before = app.event_count().await;
    let guessed = "a-guessed-token-0000000000000000000000000";
    for _ in 0..60 {
        let body = submit(&app, guessed, &errata, feedback(4, 4, true, &[])).await;
        assert_eq!(refusal(&body).0, "NOT_FOUND", "{body}");
    }
    let response = app
        .http
        .post(app.url())
        .header("accept", "application/graphql-response+json")
        .json(
            &json!({"query": operation("SubmitDemoFeedback"), "variables": {
                "token": guessed, "projectId": errata, "input": feedback(4, 4, true, &[])
            }}),
        )
        .send()
        .await
        .unwrap();
    let retry_after: i64 = response
        .headers()
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(refusal(&body).0, "RATE_LIMITED", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["retryAfter"], retry_after);
    // Looking the link up counts too.
    let lookup = app
        .gql(
            None,
            &operation("FeedbackInvitation"),
            json!({"token": guessed}),
        )
        .await
        .1;
    assert_eq!(refusal(&lookup).0, "RATE_LIMITED");
    assert_eq!(app.event_count().await, before);
    // Another link from the same address is still served.
    opened(&app, &token, "OPEN").await;
    // Behind a trusted proxy, the client is the last address it forwards.
    let forwarded = app
        .http
        .post(app.url())
        .header("x-forwarded-for", "198.51.100.1, 203.0.113.7")
        .json(&json!({"query": operation("FeedbackInvitation"), "variables": {"token": token}}))
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 200);
    // Attempts are counted per window; a slow run crosses into the next one (two rows for one
    // key), so each key's attempts are summed.
    let counted: Vec<(String, i32)> = sqlx::query_as(
        "SELECT key, sum(attempts)::int4 FROM feedback_attempts WHERE key LIKE 'ip:%' \
         GROUP BY key ORDER BY key",
    )
    .fetch_all(app.app.log.pool())
    .await
    .unwrap();
    assert_eq!(counted.len(), 2, "{counted:?}");
    assert_eq!(counted[0].0, "ip:127.0.0.1");
    assert_eq!(counted[1], ("ip:203.0.113.7".to_owned(), 1));
    app.app.stop().await;
}

#[tokio::test]
async fn another_tenant_s_follow_up_manager_finds_nothing_and_changes_nothing() {
    let app = TestApp::start().await;
    app.tenant("safe", "LT").await;
    app.tenant("l3ce", "LT").await;
    let ona = app.token("ona", "safe", &[Role::FollowUpManager]).await;
    let intruder = app
        .token("jonas", "l3ce", &[Role::FollowUpManager, Role::TenantAdmin])
        .await;
    let errata = project(&app, "safe", "ERRATA", &["T1"]).await;
    project(&app, "safe", "AIR-T4S", &["T1"]).await;
    let theirs = project(&app, "l3ce", "THEIRS", &["T1"]).await;
    let (area, cluster) = area_and_cluster(&app, &ona, "Public event security").await;
    let version = assign(&app, &ona, &cluster, &errata).await;
    dashboard(&app, &ona, &cluster, version).await;

    let before = app.event_count().await;
    let attempts: Vec<(&str, Value)> = vec![
        (
            "AssignFollowUpManager",
            json!({"clusterId": cluster, "subject": "jonas"}),
        ),
        (
            "AssignProjectToCluster",
            json!({"clusterId": cluster, "projectId": theirs}),
        ),
        (
            "ScheduleDemoEvent",
            json!({"clusterId": cluster, "input": {"title": "Ours now", "startsAt": LATER,
                   "timeZone": "Europe/Vilnius", "place": "Riga", "agenda": [errata]}}),
        ),
        (
            "ReviseCluster",
            json!({"id": cluster, "input": {"name": "Taken over"}}),
        ),
        (
            "EngageStakeholder",
            json!({"clusterId": cluster, "input": {"kind": "OTHER", "name": "Someone"}}),
        ),
        (
            "ReviseEndUserArea",
            json!({"id": area, "input": {"name": "Taken over"}}),
        ),
        ("SuggestedProjects", json!({"clusterId": cluster})),
    ];
    for (name, variables) in attempts {
        let (code, _) = app
            .error(Some(&intruder), &operation(name), variables)
            .await;
        assert_eq!(code, "NOT_FOUND", "{name}");
    }
    // A cluster for the other tenant's area: not an area of theirs.
    let (code, field) = app
        .error(
            Some(&intruder),
            &operation("FormCluster"),
            json!({"input": {"areaId": area, "name": "Borrowed area"}}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("areaId"))
    );
    assert_eq!(app.event_count().await, before);

    // Nothing to read either.
    let seen = app
        .ok(
            Some(&intruder),
            &operation("Cluster"),
            json!({"id": cluster}),
        )
        .await;
    assert_eq!(seen["cluster"], Value::Null);
    assert_eq!(
        app.ok(Some(&intruder), &operation("Clusters"), json!({}))
            .await["clusters"],
        json!([])
    );
    assert_eq!(
        app.ok(Some(&intruder), &operation("Areas"), json!({}))
            .await["areas"],
        json!([])
    );
    let trail = app
        .ok(
            Some(&intruder),
            &operation("AuditTrail"),
            json!({"id": cluster, "first": 10}),
        )
        .await;
    assert_eq!(trail["auditTrail"]["totalCount"], 0);
    let mut socket = GraphqlSocket::signed_in(&app, &intruder).await;
    socket
        .subscribe(
            "1",
            &operation("ClusterActivity"),
            json!({"clusterId": cluster}),
        )
        .await;
    let refused = socket.message(WS_WAIT).await.unwrap();
    // async-graphql reports a field's error as a result with no data.
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(refused["payload"]["data"], Value::Null, "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"],
        "NOT_FOUND"
    );
    let area_query = "query($id: ID!) { area(id: $id) { name } }";
    let theirs_area = app
        .ok(Some(&intruder), area_query, json!({"id": area}))
        .await;
    assert_eq!(theirs_area["area"], Value::Null);
    let own_area = app.ok(Some(&ona), area_query, json!({"id": area})).await;
    assert_eq!(own_area["area"]["name"], "Public event security");
    // The owner still sees it as it was.
    let own = dashboard(&app, &ona, &cluster, version).await;
    assert_eq!(own["followUpManager"], Value::Null);
    assert_eq!(own["projects"].as_array().unwrap().len(), 1);
    app.app.stop().await;
}

#[tokio::test]
async fn cluster_activity_delivers_what_another_process_committed() {
    let writer = TestApp::start().await;
    let reader = writer.start_beside().await;
    let slug = unique_slug();
    writer.tenant(&slug, "LT").await;
    let ona = writer.token("ona", &slug, &[Role::FollowUpManager]).await;
    let viewer = writer.token("vika", &slug, &[]).await;
    let errata = project(&writer, &slug, "ERRATA", &["T1"]).await;
    let (_, cluster) = area_and_cluster(&writer, &ona, "Public event security").await;
    let (_, other) = area_and_cluster(&writer, &ona, "CI operators").await;

    // The subscriber is on the process that commits nothing.
    let mut socket = GraphqlSocket::signed_in(&reader, &viewer).await;
    socket
        .subscribe(
            "1",
            &operation("ClusterActivity"),
            json!({"clusterId": cluster}),
        )
        .await;
    let mut n = 0;
    let probe = until_live(&mut socket, "1", async || {
        n += 1;
        writer
            .ok(
                Some(&ona),
                &operation("AssignFollowUpManager"),
                json!({"clusterId": cluster, "subject": format!("manager-{n}")}),
            )
            .await;
    })
    .await;
    let probe = &probe["data"]["clusterActivity"];
    assert_eq!(probe["type"], "FollowUpManagerAssigned");
    assert_eq!(probe["clusterId"], json!(cluster));

    // Another cluster's events are not this subscription's; this one's come in order.
    writer
        .ok(
            Some(&ona),
            &operation("AssignProjectToCluster"),
            json!({"clusterId": other, "projectId": errata}),
        )
        .await;
    let assigned = writer
        .ok(
            Some(&ona),
            &operation("AssignProjectToCluster"),
            json!({"clusterId": cluster, "projectId": errata}),
        )
        .await["assignProjectToCluster"]["version"]
        .clone();
    writer
        .ok(
            Some(&ona),
            &operation("EngageStakeholder"),
            json!({"clusterId": cluster, "input": {"kind": "INVESTOR", "name": "Baltic Security Ventures"}}),
        )
        .await;
    let mut received = Vec::new();
    while received.len() < 2 {
        let next = socket.next("1", WS_WAIT).await.expect("an event");
        let event = next["data"]["clusterActivity"].clone();
        if event["type"] != "FollowUpManagerAssigned" {
            received.push(event);
        }
    }
    assert_eq!(received[0]["type"], "ProjectAssignedToCluster");
    assert_eq!(received[0]["version"], assigned);
    assert_eq!(
        received[0]["payload"]["ProjectAssignedToCluster"]["project"]["acronym"],
        "ERRATA"
    );
    assert_eq!(received[1]["type"], "StakeholderEngaged");
    assert_eq!(
        received[1]["payload"]["StakeholderEngaged"]["stakeholder"]["name"],
        "Baltic Security Ventures"
    );
    for event in &received {
        assert_eq!(event["clusterId"], json!(cluster));
    }
    reader.app.stop().await;
    writer.app.stop().await;
}

// Several threads, so that the answers really race for the cluster's version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn practitioners_answering_at_once_all_get_through() {
    let app = TestApp::start().await;
    let slug = unique_slug();
    app.tenant(&slug, "LT").await;
    let ona = app.token("ona", &slug, &[Role::FollowUpManager]).await;
    let errata = project(&app, &slug, "ERRATA", &["T1"]).await;
    let airt = project(&app, &slug, "AIR-T4S", &["T2"]).await;
    let (_, cluster) = area_and_cluster(&app, &ona, "Public event security").await;
    assign(&app, &ona, &cluster, &errata).await;
    assign(&app, &ona, &cluster, &airt).await;
    let starts_at = OffsetDateTime::now_utc() + time::Duration::seconds(2);
    let demo = schedule(
        &app,
        &ona,
        &cluster,
        "Demo day",
        &rfc3339(starts_at),
        &[&errata, &airt],
    )
    .await;
    let mut tokens = Vec::new();
    for n in 0..PRACTITIONERS {
        let (_, token) = invite(
            &app,
            &ona,
            &cluster,
            &demo,
            json!({"organisation": format!("Unit {n}"), "country": "LT", "sector": "CIVIL_PROTECTION"}),
            &format!("unit{n}@pagd.lt"),
            None,
        )
        .await;
        tokens.push(token);
    }
    for token in &tokens {
        opened(&app, token, "NOT_OPEN_YET").await;
    }
    sleep_until(starts_at + time::Duration::milliseconds(200)).await;
    let before = app.event_count().await;
    let answers = tokens.iter().flat_map(|token| {
        [&errata, &airt].map(|project| submit(&app, token, project, feedback(4, 3, true, &[])))
    });
    let bodies = futures_util::future::join_all(answers).await;
    for body in &bodies {
        assert!(body.get("errors").is_none(), "{body}");
    }
    assert_eq!(app.event_count().await, before + 2 * PRACTITIONERS as i64);
    app.app.stop().await;
}

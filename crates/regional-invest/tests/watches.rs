//! Watches and notifications end to end over HTTP: a user saves a search, a curator publishes
//! and revises, the user is notified once per new match and told what changed, over GraphQL
//! and on NATS; the calendar feed shows the deadlines behind its token; bad input and other
//! people's watches are refused and store nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use common::{TestApp, call, operation};
use futures_util::StreamExt;
use ri_domain::Role;
use serde_json::{Value, json};

const FUTURE: &str = "2030-03-31T17:00:00+02:00";

async fn publish(app: &TestApp, token: &str, title: &str, features: &[&str]) -> String {
    let data = app
        .ok(
            Some(token),
            &operation("DraftInstrument"),
            json!({"input": call(title, "LT")}),
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
        json!({"id": id, "deadline": FUTURE, "timeZone": "Europe/Vilnius"}),
    )
    .await;
    app.ok(
        Some(token),
        &operation("PublishInstrument"),
        json!({"id": id}),
    )
    .await;
    id
}

#[tokio::test]
async fn a_watch_notifies_new_matches_and_changes_and_feeds_a_calendar() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("cluj-it", "RO").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let seeker = app.token("sme-1", "cluj-it", &[]).await;
    let nats = async_nats::connect(&app.config.nats_url).await.unwrap();
    let ntf = app.deployment().notification_subject_prefix();
    let mut published = nats.subscribe(format!("{ntf}.cluj-it.>")).await.unwrap();

    // Already published when the watch is made: followed, not announced.
    let known = publish(&app, &curator, "Known border call", &["T1"]).await;
    app.eventually(
        |body| body["data"]["instrument"]["status"] == "OPEN",
        format!("query {{ instrument(id: \"{known}\") {{ status }} }}"),
        None,
    )
    .await;
    let created = app
        .ok(
            Some(&seeker),
            &operation("CreateWatch"),
            json!({"input": {"name": "Border technology", "filter": {"features": ["T1", "T8"]}}}),
        )
        .await;
    let watch_id = created["createWatch"]["id"].as_str().unwrap().to_owned();
    let calendar_path = created["createWatch"]["calendarPath"]
        .as_str()
        .unwrap()
        .to_owned();
    let watches = app
        .eventually_with(
            |body| body["data"]["watches"][0]["instruments"][0]["id"] == json!(known),
            &operation("Watches"),
            json!({}),
            Some(&seeker),
        )
        .await;
    let watch = &watches["data"]["watches"][0];
    assert_eq!(watch["name"], "Border technology");
    assert_eq!(watch["reminderDays"], json!([7, 1]));
    assert_eq!(watch["filter"]["features"][1]["code"], "T8");

    // A new match, and a change to a followed instrument; a non-matching call says nothing.
    let fresh = publish(&app, &curator, "New border call", &["T8", "D2"]).await;
    publish(&app, &curator, "Drones call", &["D2"]).await;
    app.ok(
        Some(&curator),
        &operation("ReviseInstrument"),
        json!({"id": known, "input": {"title": "Known border call 2030"}}),
    )
    .await;
    let inbox = app.notifications(&seeker, 2).await;
    assert_eq!(inbox.len(), 2, "{inbox:?}");
    assert_eq!(inbox[0]["kind"], "NEW_MATCH");
    assert_eq!(inbox[0]["instrumentId"], json!(fresh));
    assert_eq!(inbox[0]["watchId"], json!(watch_id));
    assert_eq!(inbox[1]["kind"], "CHANGED");
    assert_eq!(inbox[1]["instrumentId"], json!(known));
    assert_eq!(
        inbox[1]["changes"],
        json!([{"field": "title", "old": "Known border call", "new": "Known border call 2030"}])
    );

    // Each notification is on NATS too, for its recipient.
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let message = tokio::time::timeout(Duration::from_secs(30), published.next())
            .await
            .expect("notifications on NATS")
            .unwrap();
        let headers = message.headers.clone().unwrap();
        assert_eq!(
            headers.get("ri-recipient").map(|v| v.as_str()),
            Some("sme-1")
        );
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(
            headers.get("Nats-Msg-Id").map(|v| v.as_str()),
            body["id"].as_str()
        );
        kinds.push((message.subject.to_string(), body["kind"].clone()));
    }
    assert_eq!(
        kinds,
        vec![
            (format!("{ntf}.cluj-it.new_match"), json!("NEW_MATCH")),
            (format!("{ntf}.cluj-it.changed"), json!("CHANGED")),
        ]
    );

    // Read one, then all.
    let first_id = inbox[0]["id"].clone();
    let marked = app
        .ok(
            Some(&seeker),
            &operation("MarkNotificationsRead"),
            json!({"ids": [first_id]}),
        )
        .await;
    assert_eq!(marked["markNotificationsRead"], 1);
    let unread = app
        .ok(
            Some(&seeker),
            &operation("Notifications"),
            json!({"unreadOnly": true}),
        )
        .await;
    assert_eq!(unread["notifications"]["unreadCount"], 1);
    assert_eq!(
        unread["notifications"]["nodes"][0]["id"], inbox[1]["id"],
        "{unread}"
    );
    let marked = app
        .ok(
            Some(&seeker),
            &operation("MarkNotificationsRead"),
            json!({"all": true}),
        )
        .await;
    assert_eq!(marked["markNotificationsRead"], 1);

    // The calendar feed: both followed deadlines, behind the token only.
    let base = format!("http://{}", app.app.addr);
    let feed = app
        .http
        .get(format!("{base}{calendar_path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    assert_eq!(
        feed.headers()["content-type"],
        "text/calendar; charset=utf-8"
    );
    let ics = feed.text().await.unwrap();
    assert!(
        ics.contains(&format!("UID:{known}-deadline@regional-invest")),
        "{ics}"
    );
    assert!(
        ics.contains(&format!("UID:{fresh}-deadline@regional-invest")),
        "{ics}"
    );
    assert!(ics.contains("DTSTART:20300331T150000Z"), "{ics}");
    for wrong in [
        format!("/watches/{watch_id}/deadlines.ics?token=guess"),
        format!("/watches/{watch_id}/deadlines.ics"),
    ] {
        let status = app
            .http
            .get(format!("{base}{wrong}"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{wrong}");
    }
    // A rotated token retires the old link.
    let rotated = app
        .ok(
            Some(&seeker),
            &operation("RotateWatchCalendarToken"),
            json!({"id": watch_id}),
        )
        .await;
    let new_path = rotated["rotateWatchCalendarToken"]["calendarPath"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(new_path, calendar_path);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let old = app
            .http
            .get(format!("{base}{calendar_path}"))
            .send()
            .await
            .unwrap();
        let new = app
            .http
            .get(format!("{base}{new_path}"))
            .send()
            .await
            .unwrap();
        if old.status() == 404 && new.status() == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the token never rotated"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Renamed, then deleted: gone from the list.
    app.ok(
        Some(&seeker),
        &operation("UpdateWatch"),
        json!({"id": watch_id, "input": {"name": "Border tech", "reminderDays": [14, 3]}}),
    )
    .await;
    app.eventually_with(
        |body| body["data"]["watches"][0]["reminderDays"] == json!([14, 3]),
        &operation("Watches"),
        json!({}),
        Some(&seeker),
    )
    .await;
    app.ok(
        Some(&seeker),
        &operation("DeleteWatch"),
        json!({"id": watch_id}),
    )
    .await;
    app.eventually_with(
        |body| body["data"]["watches"] == json!([]),
        &operation("Watches"),
        json!({}),
        Some(&seeker),
    )
    .await;
    app.app.stop().await;
}

#[tokio::test]
async fn bad_watches_and_other_people_s_watches_are_refused_and_store_nothing() {
    let app = TestApp::start().await;
    app.tenant("l3ce", "LT").await;
    app.tenant("cluj-it", "RO").await;
    let ana = app.token("ana", "cluj-it", &[]).await;
    let bob = app.token("bob", "cluj-it", &[]).await;
    let stranger = app.token("ana", "l3ce", &[Role::Curator]).await;
    let create = operation("CreateWatch");

    let before = app.event_count().await;
    let bad = [
        (
            json!({"name": "x", "filter": {"features": ["T1", "Z9"]}}),
            "filter.features",
        ),
        (json!({"name": "", "filter": {}}), "name"),
        (
            json!({"name": "x", "filter": {"countries": ["XX"]}}),
            "filter.countries",
        ),
        (json!({"name": "x", "reminderDays": [0]}), "reminderDays"),
        (
            json!({"name": "x", "reminderDays": [1, 2, 3, 4, 5, 6]}),
            "reminderDays",
        ),
        (
            json!({"name": "x", "filter": {"text": "a".repeat(201)}}),
            "filter.text",
        ),
    ];
    for (input, field) in bad {
        let (code, got) = app
            .error(Some(&ana), &create, json!({"input": input}))
            .await;
        assert_eq!(code, "BAD_USER_INPUT", "{input}");
        assert_eq!(got.as_deref(), Some(field), "{input}");
    }
    let (code, _) = app
        .error(None, &create, json!({"input": {"name": "x"}}))
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    assert_eq!(app.event_count().await, before, "nothing stored");

    let created = app
        .ok(Some(&ana), &create, json!({"input": {"name": "Mine"}}))
        .await;
    let id = created["createWatch"]["id"].clone();
    let after = app.event_count().await;
    // Another user of the same tenant, and the same subject in another tenant: NOT_FOUND.
    for other in [&bob, &stranger] {
        for (op, variables) in [
            (
                "UpdateWatch",
                json!({"id": id, "input": {"name": "Theirs"}}),
            ),
            ("DeleteWatch", json!({"id": id})),
            ("RotateWatchCalendarToken", json!({"id": id})),
        ] {
            let (code, _) = app.error(Some(other), &operation(op), variables).await;
            assert_eq!(code, "NOT_FOUND", "{op}");
        }
        let seen = app
            .ok(
                Some(other),
                &format!("query {{ watch(id: {id}) {{ id }} }}"),
                json!({}),
            )
            .await;
        assert_eq!(seen["watch"], Value::Null);
    }
    assert_eq!(app.event_count().await, after, "nothing stored");
    // Marking someone else's notification read, or naming neither ids nor all, changes nothing.
    let (code, field) = app
        .error(Some(&bob), &operation("MarkNotificationsRead"), json!({}))
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("ids"))
    );
    // The owner sees it.
    app.eventually(
        |body| body["data"]["watch"]["id"] == id,
        format!("query {{ watch(id: {id}) {{ id }} }}"),
        Some(&ana),
    )
    .await;
    app.app.stop().await;
}

#[tokio::test]
async fn notifications_are_pushed_to_their_recipient_on_any_server_process() {
    let app = TestApp::start().await;
    let other = app.start_beside().await;
    // Tenants of this test alone, besides its own deployment name: every test's service shares
    // the one NATS server, and another test's `cluj-it`/`sme-1` published on the very subject
    // watched here while all tests had the deployment name `ri`.
    let unique = |prefix: &str| {
        format!(
            "{prefix}{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        )
    };
    let (curating, seeking) = (unique("cur"), unique("see"));
    app.tenant(&curating, "LT").await;
    app.tenant(&seeking, "RO").await;
    let curator = app.token("ana", &curating, &[Role::Curator]).await;
    let seeker = app.token("sme-1", &seeking, &[]).await;
    let colleague = app.token("sme-2", &seeking, &[]).await;
    // Same tenant, so the same NATS subject: only the recipient may see a notice.
    for (token, feature) in [(&seeker, "T1"), (&colleague, "G14")] {
        app.ok(
            Some(token),
            &operation("CreateWatch"),
            json!({"input": {"name": "Border", "filter": {"features": [feature]}}}),
        )
        .await;
    }
    let query =
        "subscription { notifications { kind instrumentId title changes { field old new } } }";
    // Subscribed on the other process.
    let mut mine = common::GraphqlSocket::signed_in(&other, &seeker).await;
    mine.subscribe("n", query, json!({})).await;
    let mut theirs = common::GraphqlSocket::signed_in(&other, &colleague).await;
    theirs.subscribe("n", query, json!({})).await;

    let mut n = 0;
    let first = common::until_live(&mut mine, "n", async || {
        n += 1;
        publish(&app, &curator, &format!("Border call {n}"), &["T1"]).await;
    })
    .await;
    assert_eq!(
        first["data"]["notifications"]["kind"], "NEW_MATCH",
        "{first}"
    );
    let id = first["data"]["notifications"]["instrumentId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        Some(&curator),
        &operation("ReviseInstrument"),
        json!({"id": id, "input": {"title": "Border call, revised"}}),
    )
    .await;
    // Later notices of the same instrument follow; only the recipient's own arrive.
    loop {
        let next = mine
            .next("n", common::WS_WAIT)
            .await
            .expect("the change notice");
        let item = &next["data"]["notifications"];
        if item["kind"] == "CHANGED" {
            assert_eq!(item["instrumentId"], json!(id));
            assert_eq!(item["changes"][0]["field"], "title");
            assert_eq!(item["changes"][0]["new"], "Border call, revised");
            break;
        }
        assert_eq!(item["kind"], "NEW_MATCH", "{next}");
    }
    // The colleague's socket carried the same subject and showed none of it.
    let leaked = theirs.next("n", Duration::from_secs(2)).await;
    assert_eq!(leaked, None, "another user's notice was pushed");
    other.app.stop().await;
    app.app.stop().await;
}

#[tokio::test]
async fn the_watch_list_reflects_a_save_when_asked_with_its_log_position() {
    let app = TestApp::start().await;
    app.tenant("cluj-it", "RO").await;
    let ana = app.token("ana", "cluj-it", &[]).await;
    let watches = operation("Watches");
    // Each save is read back at once with its response's position (no waiting in the test):
    // the list must already hold it, however far behind the projection was.
    for n in 1..=5 {
        let (status, body) = app
            .gql(
                Some(&ana),
                &operation("CreateWatch"),
                json!({"input": {"name": format!("Watch {n}")}}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let position = body["extensions"]["logPosition"].as_str().unwrap();
        let listed = app
            .ok(Some(&ana), &watches, json!({"consistentWith": position}))
            .await;
        assert_eq!(listed["watches"].as_array().unwrap().len(), n, "{listed}");
    }
    let (code, field) = app
        .error(
            Some(&ana),
            &watches,
            json!({"consistentWith": "not-a-position"}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("consistentWith"))
    );
    app.app.stop().await;
}

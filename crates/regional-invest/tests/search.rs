//! The public search from each replica's in-memory index (issue 12), over HTTP against two
//! service processes on one database: a curator publishes through one, and the other finds it
//! at once when asked with the mutation's log position; facets are counted sideways; typeahead;
//! bad positions are refused with the field named, positions never reached with UNAVAILABLE.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::collections::BTreeMap;

use common::{TestApp, call, operation};
use ri_domain::Role;
use serde_json::{Value, json};

/// Drafts, tags, schedules and publishes a call on `app`; returns its id and the log position
/// the publication committed at.
async fn publish(
    app: &TestApp,
    token: &str,
    title: &str,
    country: &str,
    features: &[&str],
) -> (String, String) {
    let drafted = app
        .ok(
            Some(token),
            &operation("DraftInstrument"),
            json!({"input": call(title, country)}),
        )
        .await;
    let id = drafted["draftInstrument"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.ok(
        Some(token),
        &operation("TagInstrumentFeatures"),
        json!({"id": id, "features": features}),
    )
    .await;
    app.ok(
        Some(token),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "deadline": "2031-03-01T17:00:00+01:00", "timeZone": "Europe/Brussels"}),
    )
    .await;
    let (status, body) = app
        .gql(
            Some(token),
            &operation("PublishInstrument"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let position = body["extensions"]["logPosition"]
        .as_str()
        .unwrap_or_else(|| panic!("a mutation's response carries its log position: {body}"))
        .to_owned();
    (id, position)
}

fn search(filter: Value, consistent_with: Option<&str>) -> Value {
    json!({"filter": filter, "first": 50, "consistentWith": consistent_with})
}

fn ids(data: &Value) -> Vec<String> {
    data["instruments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect()
}

fn counts(data: &Value, facet: &str, key: &str) -> BTreeMap<String, i64> {
    data["instruments"]["facets"][facet]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let value = match &e[key] {
                Value::Object(o) => o["code"].as_str().unwrap().to_owned(),
                v => v.as_str().unwrap().to_owned(),
            };
            (value, e["count"].as_i64().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publication_is_found_at_once_on_another_replica_with_its_log_position() {
    let a = TestApp::start_with(|c| c.consistency_wait_ms = 10_000).await;
    let b = a.start_beside().await;
    a.tenant("lt-cluster", "LT").await;
    let curator = a.token("cura", "lt-cluster", &[Role::Curator]).await;

    // Each publication is searched for on the other process, right after it, with its position.
    let mut published = Vec::new();
    for (i, (title, country, features)) in [
        ("Counter-drone pilots", "LT", vec!["T1", "D2"]),
        ("Border surveillance drones", "LV", vec!["T1"]),
        ("Cyber ranges for SMEs", "LT", vec!["T15"]),
        ("Harbour security", "EE", vec!["D2"]),
    ]
    .into_iter()
    .enumerate()
    {
        let (id, position) = publish(&a, &curator, title, country, &features).await;
        published.push(id.clone());
        let found = b
            .ok(
                None,
                &operation("SearchInstruments"),
                search(json!({}), Some(&position)),
            )
            .await;
        assert_eq!(ids(&found).len(), i + 1, "{found}");
        assert!(ids(&found).contains(&id), "{found}");
    }

    // Sideways: with Lithuania chosen, the other countries still show what they would give;
    // the other facets are counted over the result.
    let lt = b
        .ok(
            None,
            &operation("SearchInstruments"),
            search(json!({"countries": ["LT"]}), None),
        )
        .await;
    assert_eq!(lt["instruments"]["totalCount"], 2);
    assert_eq!(
        counts(&lt, "countries", "country"),
        BTreeMap::from([("EE".into(), 1), ("LT".into(), 2), ("LV".into(), 1)])
    );
    assert_eq!(
        counts(&lt, "features", "feature"),
        BTreeMap::from([("D2".into(), 1), ("T1".into(), 1), ("T15".into(), 1)])
    );
    let t1 = b
        .ok(
            None,
            &operation("SearchInstruments"),
            search(json!({"countries": ["LT"], "features": ["T1"]}), None),
        )
        .await;
    assert_eq!(ids(&t1), [published[0].clone()]);
    assert_eq!(
        counts(&t1, "features", "feature"),
        BTreeMap::from([("D2".into(), 1), ("T1".into(), 1), ("T15".into(), 1)])
    );
    assert_eq!(
        counts(&t1, "countries", "country"),
        BTreeMap::from([("LT".into(), 1), ("LV".into(), 1)])
    );

    // Words as typed: a plural, a prefix while typing, a typo.
    for text in ["drone", "surveil", "securty"] {
        let found = b
            .ok(
                None,
                &operation("SearchInstruments"),
                search(json!({"text": text}), None),
            )
            .await;
        assert!(!ids(&found).is_empty(), "{text}: {found}");
    }

    let suggested = b
        .ok(
            None,
            &operation("Suggest"),
            json!({"prefix": "Count", "first": 5}),
        )
        .await;
    let titles = suggested["suggest"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "TITLE")
        .map(|s| s["instrumentId"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(titles, [published[0].clone()], "{suggested}");

    // A draft is the curator's own (the SQL path); it waits for the position too.
    let drafted = a
        .gql(
            Some(&curator),
            &operation("DraftInstrument"),
            json!({"input": call("Not yet public", "LT")}),
        )
        .await
        .1;
    let position = drafted["extensions"]["logPosition"].as_str().unwrap();
    let draft_id = drafted["data"]["draftInstrument"]["id"].as_str().unwrap();
    let own = b
        .ok(
            Some(&curator),
            &operation("SearchInstruments"),
            search(json!({"statuses": ["DRAFT"]}), Some(position)),
        )
        .await;
    assert_eq!(ids(&own), [draft_id.to_owned()]);
    let page = b
        .ok(
            Some(&curator),
            &operation("Instrument"),
            json!({"id": draft_id, "consistentWith": position}),
        )
        .await;
    assert_eq!(page["instrument"]["status"], "DRAFT", "{page}");
    let public = b
        .ok(
            None,
            &operation("SearchInstruments"),
            search(json!({}), Some(position)),
        )
        .await;
    assert!(!ids(&public).contains(&draft_id.to_owned()));

    b.app.stop().await;
    a.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_position_names_the_field_and_one_never_reached_is_unavailable() {
    let app = TestApp::start_with(|c| c.consistency_wait_ms = 300).await;
    for bad in [
        "",
        "12",
        "a:b",
        "1:-2",
        "1:2:3",
        "99999999999999999999999:1",
    ] {
        let (code, field) = app
            .error(
                None,
                &operation("SearchInstruments"),
                search(json!({}), Some(bad)),
            )
            .await;
        assert_eq!(
            (code.as_str(), field.as_deref()),
            ("BAD_USER_INPUT", Some("consistentWith")),
            "{bad:?}"
        );
    }
    let never = format!("{}:1", u64::MAX);
    for statuses in [json!([]), json!(["DRAFT"])] {
        let (code, _) = app
            .error(
                None,
                &operation("SearchInstruments"),
                search(json!({"statuses": statuses}), Some(&never)),
            )
            .await;
        assert_eq!(code, "UNAVAILABLE");
    }
    let (code, field) = app
        .error(
            None,
            &operation("Suggest"),
            json!({"prefix": "x".repeat(101)}),
        )
        .await;
    assert_eq!(
        (code.as_str(), field.as_deref()),
        ("BAD_USER_INPUT", Some("prefix"))
    );
    // A query answers without a position; only what commits carries one.
    let (_, body) = app
        .gql(
            None,
            &operation("SearchInstruments"),
            search(json!({}), None),
        )
        .await;
    assert!(
        body.get("extensions")
            .is_none_or(|x| x.get("logPosition").is_none()),
        "{body}"
    );
    app.app.stop().await;
}

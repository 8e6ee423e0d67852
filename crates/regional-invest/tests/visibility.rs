//! Only instruments that were ever published are public, in any status (issue 11): a draft
//! archived without ever being published stays its tenant's alone on every public path (its
//! page, the search with any status, the facets, the exports, watches of other tenants), while
//! a published instrument stays public when archived.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::{TestApp, call, operation};
use ri_domain::Role;
use serde_json::{Value, json};

const FUTURE: &str = "2030-03-31T17:00:00+02:00";

fn unique_slug() -> String {
    format!("v{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Drafts a call tagged T1 (versions 1 and 2); returns its id.
async fn tagged_draft(app: &TestApp, token: &str, title: &str) -> String {
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
        json!({"id": id, "features": ["T1"]}),
    )
    .await;
    id
}

/// Archives `id`; returns where the archive went in the log (its `logPosition`).
async fn archive(app: &TestApp, token: &str, id: &str) -> String {
    let (status, body) = app
        .gql(
            Some(token),
            &operation("ArchiveInstrument"),
            json!({"id": id}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["errors"].is_null(), "{body}");
    body["extensions"]["logPosition"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The ids (and the total and the T1 facet) of tenant `tenant`'s instruments in `statuses` as
/// the search shows them to `token`, once it reflects the log up to `at`: the public search's
/// index and the catalogue behind the instrument page are read models of their own, and one
/// may trail the other.
async fn search(
    app: &TestApp,
    token: Option<&str>,
    tenant: &str,
    statuses: &[&str],
    at: &str,
) -> (Vec<String>, i64, i64) {
    let body = app
        .ok(
            token,
            &operation("SearchInstruments"),
            json!({"filter": {"tenant": tenant, "statuses": statuses}, "first": 50, "consistentWith": at}),
        )
        .await;
    let page = &body["instruments"];
    let mut ids = page["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    ids.sort();
    let t1 = page["facets"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feature"]["code"] == "T1")
        .map_or(0, |f| f["count"].as_i64().unwrap());
    (ids, page["totalCount"].as_i64().unwrap(), t1)
}

async fn page(app: &TestApp, token: Option<&str>, id: &str) -> Value {
    let (_, body) = app
        .gql(token, &operation("Instrument"), json!({"id": id}))
        .await;
    body["data"]["instrument"].clone()
}

async fn export(app: &TestApp, token: Option<&str>, path: &str) -> String {
    let mut request = app.http.get(format!("http://{}{path}", app.app.addr));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    response.text().await.unwrap()
}

#[tokio::test]
async fn a_draft_archived_without_publication_is_never_public_a_published_one_stays_public() {
    let app = TestApp::start().await;
    let (x, y) = (unique_slug(), unique_slug());
    app.tenant(&x, "LT").await;
    app.tenant(&y, "DK").await;
    let curator_x = app.token("ana", &x, &[Role::Curator]).await;
    let curator_y = app.token("ben", &y, &[Role::Curator]).await;

    // Y watches X's T1 instruments before anything is drafted.
    app.ok(
        Some(&curator_y),
        &operation("CreateWatch"),
        json!({"input": {"name": "X's T1", "filter": {"tenant": x, "features": ["T1"]}}}),
    )
    .await;

    let hidden = tagged_draft(&app, &curator_x, "Archived draft").await;
    archive(&app, &curator_x, &hidden).await;
    let shown = tagged_draft(&app, &curator_x, "Archived call").await;
    app.ok(
        Some(&curator_x),
        &operation("SetInstrumentDeadline"),
        json!({"id": shown, "deadline": FUTURE, "timeZone": "Europe/Vilnius"}),
    )
    .await;
    app.ok(
        Some(&curator_x),
        &operation("PublishInstrument"),
        json!({"id": shown}),
    )
    .await;
    let at = archive(&app, &curator_x, &shown).await;

    // The owner sees both archived (the projections have caught up).
    for id in [&hidden, &shown] {
        app.eventually_with(
            |b| b["data"]["instrument"]["status"] == "ARCHIVED",
            &operation("Instrument"),
            json!({"id": id}),
            Some(&curator_x),
        )
        .await;
    }
    let mut both = vec![hidden.clone(), shown.clone()];
    both.sort();
    assert_eq!(
        search(&app, Some(&curator_x), &x, &["DRAFT", "ARCHIVED"], &at).await,
        (both, 2, 2)
    );

    for viewer in [None, Some(curator_y.as_str())] {
        // The page.
        assert_eq!(page(&app, viewer, &hidden).await, Value::Null, "{viewer:?}");
        assert_eq!(page(&app, viewer, &shown).await["status"], "ARCHIVED");
        // The search, its total and its facets, whatever statuses are asked for.
        let only_shown = (vec![shown.clone()], 1, 1);
        assert_eq!(
            search(&app, viewer, &x, &["ARCHIVED"], &at).await,
            only_shown
        );
        assert_eq!(
            search(&app, viewer, &x, &["DRAFT", "ARCHIVED"], &at).await,
            only_shown
        );
        assert_eq!(
            search(
                &app,
                viewer,
                &x,
                &["DRAFT", "OPEN", "CLOSED", "WITHDRAWN", "ARCHIVED"],
                &at,
            )
            .await,
            only_shown
        );
        // The exports.
        for format in ["csv", "json"] {
            let body = export(
                &app,
                viewer,
                &format!("/exports/instruments.{format}?statuses=ARCHIVED&tenant={x}"),
            )
            .await;
            assert!(body.contains(&shown), "{format}: {body}");
            assert!(!body.contains(&hidden), "{format}: {body}");
        }
    }
    // Another tenant cannot act on the archived draft either: it does not exist for them.
    assert_eq!(
        app.error(
            Some(&curator_y),
            &operation("PublishInstrument"),
            json!({"id": hidden})
        )
        .await
        .0,
        "NOT_FOUND"
    );

    // Y's watch follows the published one only, and X's drafts made no notice.
    let watches = app
        .eventually(
            |b| {
                b["data"]["watches"][0]["instruments"]
                    .as_array()
                    .is_some_and(|a| !a.is_empty())
            },
            operation("Watches"),
            Some(&curator_y),
        )
        .await;
    let followed = watches["data"]["watches"][0]["instruments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(followed, std::slice::from_ref(&shown));
    let followed_rows: Vec<String> = sqlx::query_scalar(
        "SELECT n.instrument_id FROM watch_notified n JOIN watches w ON w.id = ANY(n.watches) \
         WHERE w.tenant = $1",
    )
    .bind(&y)
    .fetch_all(app.app.log.pool())
    .await
    .unwrap();
    assert_eq!(followed_rows, std::slice::from_ref(&shown));
    app.app.stop().await;
}

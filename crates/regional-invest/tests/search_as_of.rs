//! The public search as it was answered at a past moment (issue 16): `instruments(filter,
//! asOf)` folds the log until then into an index of that moment. A history is built over the
//! API (drafts, tags, publications, a revision, a re-tag, a withdrawal, a call whose deadline
//! passes, a tenant renamed and suspended); after each step the live search's answers for
//! several filters are recorded, and then each is asked again as of that moment and must be
//! the same, to the cursor and the facet count.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::Duration;

use common::{TestApp, call, operation, unique_slug};
use ri_domain::Role;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const SEARCH: &str = "query ($filter: InstrumentFilter, $sort: InstrumentSort, $first: Int, \
     $after: String, $consistentWith: String, $asOf: DateTime) {
  instruments(filter: $filter, sort: $sort, first: $first, after: $after,
              consistentWith: $consistentWith, asOf: $asOf) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id title status version updatedAt publishedAt deadline countries
                          curator { slug name suspended } features { code } } }
    facets {
      features { feature { code } count }
      countries { country count }
      coverLevels { coverLevel count }
      kinds { kind count }
    }
  }
}";

/// The moment now; the service and PostgreSQL share this machine's clock, so a change
/// answered before it was recorded before it.
fn moment() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap()
}

async fn draft(app: &TestApp, token: &str, title: &str, country: &str) -> String {
    let mut input = call(title, country);
    if title.contains("programme") {
        input["kind"] = json!("PROGRAMME");
    }
    let data = app
        .ok(
            Some(token),
            &operation("DraftInstrument"),
            json!({"input": input}),
        )
        .await;
    data["draftInstrument"]["id"].as_str().unwrap().to_owned()
}

/// Every page of a search (two at a time), live or as of a moment, once this replica has the
/// log to `after`.
async fn pages(
    app: &TestApp,
    filter: &Value,
    after: Option<&str>,
    as_of: Option<&str>,
) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sort = filter["_sort"].as_str().unwrap_or("DEADLINE_SOONEST");
        let mut filter = filter.clone();
        filter.as_object_mut().unwrap().remove("_sort");
        let (status, body) = app
            .gql(
                None,
                SEARCH,
                json!({"filter": filter, "sort": sort, "first": 2, "after": cursor,
                       "consistentWith": after, "asOf": as_of}),
            )
            .await;
        assert!(status == 200 && body["errors"].is_null(), "{body}");
        let page = body["data"]["instruments"].clone();
        let next = page["pageInfo"]["hasNextPage"] == true;
        cursor = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        pages.push(page);
        if !next {
            return pages;
        }
    }
}

fn filters(x: &str) -> Vec<Value> {
    vec![
        json!({"features": ["T1", "P12"], "featureMatch": "ANY"}),
        json!({"features": ["T1", "P12"], "featureMatch": "ALL"}),
        json!({"countries": ["LT"]}),
        json!({"text": "drones"}),
        json!({"statuses": ["OPEN", "CLOSED", "WITHDRAWN"], "_sort": "RECENTLY_UPDATED"}),
        json!({"statuses": ["CLOSED"], "tenant": x}),
    ]
}

#[tokio::test]
async fn the_search_as_of_each_moment_answers_what_the_live_search_answered_then() {
    // The expiry loop would close the short call at a moment of its own choosing.
    let app = TestApp::start_with(|c| c.expiry_interval_ms = 3_600_000).await;
    let (x, y) = (unique_slug(), unique_slug());
    app.tenant(&x, "LT").await;
    app.tenant(&y, "DK").await;
    let cx = app.token("ana", &x, &[Role::Curator]).await;
    let cy = app.token("ben", &y, &[Role::Curator]).await;
    let admin = app.token("admin", "platform", &[Role::PlatformAdmin]).await;

    // (moment, the last logPosition, the live pages of every filter)
    let mut seen: Vec<(String, String, Vec<Vec<Value>>)> = Vec::new();
    let record = async |after: &str| {
        let mut answers = Vec::new();
        for filter in filters(&x) {
            answers.push(pages(&app, &filter, Some(after), None).await);
        }
        (moment(), after.to_owned(), answers)
    };

    let a = draft(&app, &cx, "Border drones call", "LT").await;
    app.mutate(
        &cx,
        "TagInstrumentFeatures",
        json!({"id": a, "features": ["T1", "T4"]}),
    )
    .await;
    app.mutate(
        &cx,
        "SetInstrumentDeadline",
        json!({"id": a, "deadline": "2031-03-31T17:00:00+02:00", "timeZone": "Europe/Vilnius"}),
    )
    .await;
    let at = app
        .mutate(&cx, "PublishInstrument", json!({"id": a}))
        .await
        .1;
    seen.push(record(&at).await);

    let b = draft(&app, &cy, "Maritime drones programme", "DK").await;
    app.mutate(
        &cy,
        "TagInstrumentFeatures",
        json!({"id": b, "features": ["T4", "P12"]}),
    )
    .await;
    let at = app
        .mutate(&cy, "PublishInstrument", json!({"id": b}))
        .await
        .1;
    seen.push(record(&at).await);

    // A draft that never reaches any answer, a revision and a re-tag.
    let d = draft(&app, &cx, "Unpublished drones draft", "LT").await;
    app.mutate(
        &cx,
        "TagInstrumentFeatures",
        json!({"id": d, "features": ["T1"]}),
    )
    .await;
    app.mutate(
        &cx,
        "ReviseInstrument",
        json!({"id": a, "input": {"title": "Border drones and sensors call"}}),
    )
    .await;
    app.mutate(
        &cx,
        "UntagInstrumentFeatures",
        json!({"id": a, "features": ["T4"]}),
    )
    .await;
    let at = app
        .mutate(
            &cx,
            "TagInstrumentFeatures",
            json!({"id": a, "features": ["P12"]}),
        )
        .await
        .1;
    seen.push(record(&at).await);

    // A call whose deadline lies between this moment and the next: open, then closed.
    let deadline = OffsetDateTime::now_utc() + time::Duration::seconds(5);
    let c = draft(&app, &cx, "Quick sensors call", "LT").await;
    app.mutate(
        &cx,
        "TagInstrumentFeatures",
        json!({"id": c, "features": ["T1", "P12"]}),
    )
    .await;
    app.mutate(
        &cx,
        "SetInstrumentDeadline",
        json!({"id": c, "deadline": deadline.format(&Rfc3339).unwrap()}),
    )
    .await;
    let at = app
        .mutate(&cx, "PublishInstrument", json!({"id": c}))
        .await
        .1;
    seen.push(record(&at).await);
    assert_eq!(seen[3].2[5][0]["totalCount"], 0, "not yet closed");

    let wait = deadline - OffsetDateTime::now_utc() + time::Duration::milliseconds(300);
    tokio::time::sleep(Duration::try_from(wait).unwrap_or_default()).await;
    let at = app.mutate(&admin,
        "UpdateTenantProfile",
        json!({"slug": x, "input": {"name": "Renamed cluster", "kind": "AMBASSADOR_CLUSTER", "country": "LT"}}),
    )
    .await.1;
    seen.push(record(&at).await);
    assert_eq!(seen[4].2[5][0]["totalCount"], 1, "closed by its deadline");

    let at = app
        .mutate(
            &cy,
            "WithdrawInstrument",
            json!({"id": b, "reason": "Merged into another programme."}),
        )
        .await
        .1;
    seen.push(record(&at).await);
    let at = app
        .mutate(
            &admin,
            "SuspendTenant",
            json!({"slug": x, "reason": "A test of the past."}),
        )
        .await
        .1;
    seen.push(record(&at).await);

    // Each step changed what the search of every public status showed.
    let all: Vec<&Vec<Value>> = seen.iter().map(|s| &s.2[4]).collect();
    for (i, one) in all.iter().enumerate() {
        assert!(
            all[..i].iter().all(|other| other != one),
            "step {i} changed nothing"
        );
    }

    // Every moment, every filter, every page: as the live search answered then. What was
    // committed before a search of the past is in it; asked with a position too, it waits
    // for this replica to have read that far first.
    let last = seen.last().map(|s| s.1.clone()).unwrap();
    for (i, (when, _, answers)) in seen.iter().enumerate() {
        let after = (i % 2 == 0).then_some(last.as_str());
        for (filter, live) in filters(&x).iter().zip(answers) {
            let then = pages(&app, filter, after, Some(when)).await;
            assert_eq!(&then, live, "as of {when}, {filter}");
        }
    }
    // Before anything was drafted: nothing.
    let empty = pages(&app, &json!({}), None, Some("2020-01-01T00:00:00Z")).await;
    assert_eq!(empty[0]["totalCount"], 0);
    assert!(
        !seen
            .iter()
            .flat_map(|s| &s.2)
            .flatten()
            .any(|p| p.to_string().contains(&d))
    );
}

#[tokio::test]
async fn a_moment_in_the_future_or_a_search_for_drafts_is_refused_naming_as_of() {
    let app = TestApp::start().await;
    let later = (OffsetDateTime::now_utc() + time::Duration::minutes(5))
        .format(&Rfc3339)
        .unwrap();
    for (filter, as_of) in [
        (json!({}), later.as_str()),
        (json!({"statuses": ["DRAFT"]}), "2025-01-01T00:00:00Z"),
        (json!({}), "2300-01-01T00:00:00Z"),
    ] {
        let (_, body) = app
            .gql(None, SEARCH, json!({"filter": filter, "asOf": as_of}))
            .await;
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
        assert_eq!(error["extensions"]["field"], "asOf", "{body}");
    }
    // A bad cursor is refused before anything is built.
    let (_, body) = app
        .gql(
            None,
            SEARCH,
            json!({"after": "nonsense", "asOf": "2025-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "after", "{body}");
}

#[tokio::test]
async fn a_search_of_the_past_beyond_its_bounds_says_so() {
    let slow = TestApp::start_with(|c| c.search_history_timeout_ms = 0).await;
    let (_, body) = slow.gql(None, SEARCH, json!({"asOf": moment()})).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "UNAVAILABLE", "{body}");
    assert!(
        error["message"].as_str().unwrap().starts_with("asOf: "),
        "{body}"
    );

    let small = TestApp::start_with(|c| c.search_history_max_instruments = 0).await;
    let x = unique_slug();
    small.tenant(&x, "LT").await;
    let curator = small.token("ana", &x, &[Role::Curator]).await;
    draft(&small, &curator, "One too many", "LT").await;
    let (_, body) = small.gql(None, SEARCH, json!({"asOf": moment()})).await;
    let error = &body["errors"][0];
    assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{body}");
    assert_eq!(error["extensions"]["field"], "asOf", "{body}");
    // A moment before it was drafted is within the bounds.
    let (_, body) = small
        .gql(None, SEARCH, json!({"asOf": "2020-01-01T00:00:00Z"}))
        .await;
    assert_eq!(body["data"]["instruments"]["totalCount"], 0, "{body}");
}

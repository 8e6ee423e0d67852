//! Query bombs and cost limits over HTTP against the real service: fragment bombs, alias
//! bombs over lists, oversized batches and long requests get a coded refusal, and every
//! operation the project ships (graphql/operations/*.graphql and the web pages') fits.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use common::TestApp;
use ri_api::graphql::cost::{self, CostLimits, SchemaShape};
use ri_domain::Role;
use serde_json::{Value, json};

/// `fragment F0 on QueryRoot { ...F1 ...F1 }` … `fragment F22 on QueryRoot { __typename }`.
fn fragment_bomb() -> String {
    let mut query = String::from("query Bomb { ...F0 }\n");
    for i in 0..22 {
        query.push_str(&format!(
            "fragment F{i} on QueryRoot {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    query.push_str("fragment F22 on QueryRoot { __typename }\n");
    query
}

/// 100 aliases of `instruments(first:100){nodes{matchingProjects(first:100){project{matches(first:100)…}}}}`.
fn alias_bomb() -> String {
    let mut query = String::from("query Aliases {");
    for i in 0..100 {
        query.push_str(&format!(
            " a{i}: instruments(first: 100) {{ nodes {{ matchingProjects(first: 100) {{ project {{ matches(first: 100) {{ instrument {{ id title }} }} }} }} }} }}"
        ));
    }
    query.push('}');
    query
}

fn shipped_operations() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../graphql/operations");
    let mut found: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    found.extend(
        ri_web::graphql_operations()
            .into_iter()
            .enumerate()
            .map(|(i, doc)| (format!("page operation {i}"), doc.to_owned())),
    );
    assert!(found.len() > 60);
    found
}

/// The operations anonymous callers send: the public search, instrument pages, the taxonomy
/// and feedback links.
const PUBLIC: &[&str] = &[
    "SearchInstruments",
    "Instrument",
    "Taxonomy",
    "FeedbackInvitation",
    "SubmitDemoFeedback",
    "WebTaxonomy",
    "WebSearch",
    "WebInstrument",
    "WebAuditTrail",
    "WebFeedbackInvitation",
    "WebSubmitDemoFeedback",
];

#[test]
fn every_shipped_operation_fits_the_limits_even_at_the_largest_page() {
    let shape = SchemaShape::from_sdl(&ri_api::graphql::sdl()).unwrap();
    let vars = async_graphql::Variables::from_json(json!({"first": 100}));
    let mut public = 0;
    for (file, document) in shipped_operations() {
        let parsed = async_graphql::parser::parse_query(&document).unwrap();
        let measured = cost::measure(&parsed, &vars, &shape).unwrap();
        assert_eq!(
            measured.refusal(&CostLimits::SIGNED_IN),
            None,
            "{file}: {measured:?}"
        );
        let names: Vec<String> = parsed
            .operations
            .iter()
            .filter_map(|(name, _)| name.map(ToString::to_string))
            .collect();
        if names.iter().any(|n| PUBLIC.contains(&n.as_str())) {
            public += 1;
            assert_eq!(
                measured.refusal(&CostLimits::ANONYMOUS),
                None,
                "{file} ({names:?}): {measured:?}"
            );
        }
    }
    assert_eq!(public, PUBLIC.len());
}

fn refusal(body: &Value) -> (&str, &str) {
    let error = &body["errors"][0];
    (
        error["extensions"]["code"].as_str().unwrap_or(""),
        error["message"].as_str().unwrap_or(""),
    )
}

/// POSTs a raw JSON body; the status and the JSON answer.
async fn post(app: &TestApp, token: Option<&str>, body: &Value) -> (u16, Value) {
    let mut request = app
        .http
        .post(app.url())
        .header("accept", "application/graphql-response+json")
        .json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn query_bombs_are_refused_with_a_code_before_they_run() {
    let app = TestApp::start().await;
    let token = app.token("ona", "safe", &[Role::Curator]).await;
    for (what, query) in [("fragments", fragment_bomb()), ("aliases", alias_bomb())] {
        for caller in [None, Some(token.as_str())] {
            let (status, body) = post(&app, caller, &json!({"query": query})).await;
            assert_eq!(status, 400, "{what}: {body}");
            assert_eq!(refusal(&body).0, "BAD_USER_INPUT", "{what}: {body}");
            assert!(refusal(&body).1.contains("the query"), "{what}: {body}");
            assert!(body.get("data").is_none(), "not run, so no data: {body}");
        }
    }
    // Legacy JSON gets the same refusal with 200, as GraphQL over HTTP asks.
    let legacy = app
        .http
        .post(app.url())
        .header("accept", "application/json")
        .json(&json!({"query": fragment_bomb()}))
        .send()
        .await
        .unwrap();
    assert_eq!(legacy.status(), 200);
    let body: Value = legacy.json().await.unwrap();
    assert_eq!(refusal(&body).0, "BAD_USER_INPUT", "{body}");
    // A fragment that spreads itself is refused as cheaply.
    let (status, body) = post(
        &app,
        None,
        &json!({"query": "query { ...A } fragment A on QueryRoot { ...B } fragment B on QueryRoot { ...A }"}),
    )
    .await;
    assert_eq!(
        (status, refusal(&body).0),
        (400, "BAD_USER_INPUT"),
        "{body}"
    );
    // The service still answers ordinary queries.
    app.ok(None, "{ instruments(first: 5) { totalCount } }", json!({}))
        .await;
    app.app.stop().await;
}

#[tokio::test]
async fn anonymous_callers_get_lower_limits_than_signed_in_ones() {
    let app = TestApp::start().await;
    let token = app.token("ona", "safe", &[Role::Curator]).await;
    let wide =
        "{ instruments(first: 100) { nodes { matchingProjects(first: 100) { project { id } } } } }";
    let (status, body) = post(&app, None, &json!({"query": wide})).await;
    assert_eq!(
        (status, refusal(&body).0),
        (400, "BAD_USER_INPUT"),
        "{body}"
    );
    assert!(refusal(&body).1.contains("estimated cost"), "{body}");
    let (status, body) = post(&app, Some(&token), &json!({"query": wide})).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    // The page size counts: the same query a page of 5 wide is fine for anyone.
    let narrow =
        "{ instruments(first: 5) { nodes { matchingProjects(first: 5) { project { id } } } } }";
    let (status, body) = post(&app, None, &json!({"query": narrow})).await;
    assert_eq!(status, 200, "{body}");
    app.app.stop().await;
}

#[tokio::test]
async fn batches_hold_at_most_ten_operations() {
    let app = TestApp::start().await;
    let token = app.token("ona", "safe", &[Role::Curator]).await;
    let batch = |n: usize| Value::Array(vec![json!({"query": "{ __typename }"}); n]);
    for n in [11, 2_500] {
        let (status, body) = post(&app, Some(&token), &batch(n)).await;
        assert_eq!(status, 400, "{n}: {body}");
        assert_eq!(refusal(&body).0, "BAD_USER_INPUT", "{n}");
        assert!(refusal(&body).1.contains("at most 10"), "{body}");
    }
    let (status, body) = post(&app, Some(&token), &batch(10)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(10), "{body}");
    app.app.stop().await;
}

#[tokio::test]
async fn a_request_past_its_time_limit_is_stopped_and_answered_unavailable() {
    // No time at all: anything that waits on the database is over its limit.
    let app = TestApp::start_with(|c| c.graphql_timeout_ms = 0).await;
    let (status, body) = post(
        &app,
        None,
        &json!({"query": "{ instruments(first: 1) { totalCount } }"}),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(refusal(&body).0, "UNAVAILABLE", "{body}");
    app.app.stop().await;
}

#[tokio::test]
async fn a_bearer_header_that_is_not_ascii_is_401_not_anonymous() {
    let app = TestApp::start().await;
    let bad = reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap();
    let response = app
        .http
        .post(app.url())
        .header("accept", "application/graphql-response+json")
        .header("authorization", bad.clone())
        .json(&json!({"query": "{ __typename }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(refusal(&body).0, "UNAUTHENTICATED", "{body}");
    // The public CSV export reads the header the same way: anonymous is served, this is not.
    let export = format!("http://{}/exports/instruments.csv", app.app.addr);
    let anonymous = app.http.get(&export).send().await.unwrap();
    assert_eq!(anonymous.status(), 200);
    let refused = app
        .http
        .get(&export)
        .header("authorization", bad)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    // So does a WebSocket's connection_init.
    let mut socket =
        common::GraphqlSocket::open(&app, Some(json!({"authorization": "Bearer \u{ff}\u{fe}"})))
            .await;
    assert_eq!(socket.closed().await, 4403);
    app.app.stop().await;
}

#[tokio::test]
async fn without_introspection_errors_suggest_no_field_names() {
    let typo = "{ instrumnts(first: 1) { totalCount } }";
    let open = TestApp::start().await;
    let (_, body) = post(&open, None, &json!({"query": typo})).await;
    assert!(refusal(&body).1.contains("Did you mean"), "{body}");
    open.app.stop().await;

    let closed = TestApp::start_with(|c| c.graphql_introspection = false).await;
    let (status, body) = post(&closed, None, &json!({"query": typo})).await;
    assert_eq!(
        (status, refusal(&body).0),
        (400, "BAD_USER_INPUT"),
        "{body}"
    );
    assert!(!body.to_string().contains("Did you mean"), "{body}");
    assert!(!body.to_string().contains("\"instruments\""), "{body}");
    closed.app.stop().await;
}

/// Looks a feedback link up with a spoofed `X-Forwarded-For`; the addresses counted.
async fn counted_addresses(app: &TestApp) -> Vec<String> {
    let response = app
        .http
        .post(app.url())
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"query": common::operation("FeedbackInvitation"), "variables": {"token": "not-a-real-token"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    sqlx::query_scalar("SELECT key FROM feedback_attempts WHERE key LIKE 'ip:%' ORDER BY key")
        .fetch_all(app.app.log.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn x_forwarded_for_is_believed_only_from_a_configured_proxy() {
    let untrusted = TestApp::start().await;
    assert_eq!(counted_addresses(&untrusted).await, ["ip:127.0.0.1"]);
    untrusted.app.stop().await;

    let behind_proxy =
        TestApp::start_with(|c| c.trusted_proxies = "127.0.0.0/8".parse().unwrap()).await;
    assert_eq!(counted_addresses(&behind_proxy).await, ["ip:203.0.113.9"]);
    behind_proxy.app.stop().await;
}

//! Request metrics in `/metrics` (issue 14, item 4): HTTP durations by matched route and status,
//! GraphQL durations and errors by operation name (never its text), the search index's gauges,
//! and the open WebSockets and subscriptions, scraped as Prometheus would. One test in its own
//! binary: the metrics recorder is global to a process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::{Duration, Instant};

use common::{GraphqlSocket, TestApp, call, operation};
use ri_domain::Role;
use serde_json::json;

/// The value of the series `name` whose labels include every one of `labels`, summed.
fn value(scrape: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in scrape.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, v)) = line.rsplit_once(' ') else {
            continue;
        };
        let metric = series.split('{').next().unwrap_or(series);
        if metric == name && labels.iter().all(|l| series.contains(l)) {
            *found.get_or_insert(0.0) += v.parse::<f64>().unwrap();
        }
    }
    found
}

async fn scrape(app: &TestApp) -> String {
    let url = format!("http://{}/metrics", app.app.addr);
    app.http
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Scrapes until `holds` (gauges follow what the server has done a moment later).
async fn eventually(app: &TestApp, holds: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = scrape(app).await;
        if holds(&text) {
            return text;
        }
        assert!(Instant::now() < deadline, "never held:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_operations_sockets_and_the_index_are_measured() {
    let app = TestApp::start().await;
    app.tenant("lt-cluster", "LT").await;
    let curator = app.token("cura", "lt-cluster", &[Role::Curator]).await;
    let drafted = app
        .ok(
            Some(&curator),
            &operation("DraftInstrument"),
            json!({"input": call("Drone pilots", "LT")}),
        )
        .await;
    let id = drafted["draftInstrument"]["id"].as_str().unwrap();
    app.ok(
        Some(&curator),
        &operation("TagInstrumentFeatures"),
        json!({"id": id, "features": ["T1"]}),
    )
    .await;
    app.ok(
        Some(&curator),
        &operation("SetInstrumentDeadline"),
        json!({"id": id, "deadline": "2031-03-01T17:00:00+01:00", "timeZone": "Europe/Brussels"}),
    )
    .await;
    app.ok(
        Some(&curator),
        &operation("PublishInstrument"),
        json!({"id": id}),
    )
    .await;
    app.ok(None, &operation("SearchInstruments"), json!({}))
        .await;
    app.ok(None, "{ taxonomy { categories { id } } }", json!({}))
        .await;
    let (code, _) = app
        .error(
            None,
            &operation("DraftInstrument"),
            json!({"input": call("No", "LT")}),
        )
        .await;
    assert_eq!(code, "UNAUTHENTICATED");
    // A name longer than any of ours: `other`, not a label of its own.
    let long = format!("Q{}", "x".repeat(80));
    app.ok(
        None,
        &format!("query {long} {{ taxonomy {{ categories {{ id }} }} }}"),
        json!({}),
    )
    .await;

    let mut socket = GraphqlSocket::signed_in(&app, &curator).await;
    socket
        .subscribe(
            "1",
            "subscription Events { instrumentEvents { eventId } }",
            json!({}),
        )
        .await;
    let text = eventually(&app, |t| {
        value(t, "ri_graphql_subscriptions", &[]) == Some(1.0)
            && value(t, "ri_search_index_documents", &[]) == Some(1.0)
    })
    .await;
    assert_eq!(value(&text, "ri_websocket_connections", &[]), Some(1.0));
    let graphql_ok = value(
        &text,
        "http_server_request_duration_seconds_count",
        &[
            "http_route=\"/graphql\"",
            "http_response_status_code=\"200\"",
            "http_request_method=\"POST\"",
        ],
    );
    assert!(graphql_ok.is_some_and(|n| n >= 6.0), "{text}");
    assert!(
        value(
            &text,
            "http_server_request_duration_seconds_bucket",
            &["http_route=\"/graphql\"", "le=\"0.005\""]
        )
        .is_some(),
        "a histogram with buckets, not a summary:\n{text}"
    );
    for (name, at_least) in [
        ("SearchInstruments", 1.0),
        ("anonymous", 1.0),
        ("DraftInstrument", 2.0),
        ("other", 1.0),
    ] {
        let n = value(
            &text,
            "graphql_operation_duration_seconds_count",
            &[&format!("graphql_operation_name=\"{name}\"")],
        );
        assert!(n.is_some_and(|n| n >= at_least), "{name}: {n:?}\n{text}");
    }
    assert_eq!(
        value(
            &text,
            "graphql_operation_errors_total",
            &[
                "graphql_operation_name=\"DraftInstrument\"",
                "code=\"UNAUTHENTICATED\""
            ],
        ),
        Some(1.0)
    );
    assert!(
        !text.contains(&long) && !text.contains("taxonomy {"),
        "{text}"
    );

    // The scrape itself is a request like any other; closing the socket ends both gauges.
    socket.send(json!({"id": "1", "type": "complete"})).await;
    drop(socket);
    let text = eventually(&app, |t| {
        value(t, "ri_websocket_connections", &[]) == Some(0.0)
            && value(t, "ri_graphql_subscriptions", &[]) == Some(0.0)
    })
    .await;
    assert!(
        value(
            &text,
            "http_server_request_duration_seconds_count",
            &["http_route=\"/metrics\""]
        )
        .is_some()
    );
    app.app.stop().await;
}

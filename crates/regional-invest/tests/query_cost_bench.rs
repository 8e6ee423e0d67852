//! Benchmark, not a test (ignored): `/healthz` and an anonymous search, timed before and while
//! a few tasks send query bombs in a loop (the 23-fragment bomb, the 100-alias list bomb, both
//! anonymous and signed in, and a batch of 2,500 operations). Results in docs/performance.md.
//!
//! ```text
//! cargo test -p regional-invest --release --test query_cost_bench -- --ignored --nocapture
//! ```
//!
//! `RI_BENCH_SECONDS` (default 10) per phase, `RI_BENCH_ATTACKERS` (default 4) bomb senders.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a benchmark: it reports, and cannot unwrap only when it has failed

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{TestApp, operation};
use ri_domain::Role;
use serde_json::{Value, json};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn fragment_bomb() -> String {
    let mut query = String::from("query { ...F0 }\n");
    for i in 0..22 {
        query.push_str(&format!(
            "fragment F{i} on QueryRoot {{ ...F{n} ...F{n} }}\n",
            n = i + 1
        ));
    }
    query.push_str("fragment F22 on QueryRoot { __typename }\n");
    query
}

fn alias_bomb() -> String {
    let mut query = String::from("query {");
    for i in 0..100 {
        query.push_str(&format!(
            " a{i}: instruments(first: 100) {{ nodes {{ matchingProjects(first: 100) {{ project {{ matches(first: 100) {{ instrument {{ id title }} }} }} }} }} }}"
        ));
    }
    query.push('}');
    query
}

/// Milliseconds at the 50th and 99th percentile, and the count.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64, usize) {
    samples.sort();
    let at = |p: f64| {
        if samples.is_empty() {
            return f64::NAN;
        }
        let last = samples.len() - 1;
        let index = ((last as f64) * p).round() as usize;
        samples[index.min(last)].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99), samples.len())
}

/// Times `/healthz` and an anonymous search, one after the other, until `stop`.
async fn probe(app: &TestApp, seconds: u64) -> (Vec<Duration>, Vec<Duration>) {
    let health_url = format!("http://{}/healthz", app.app.addr);
    let search = json!({"query": operation("SearchInstruments"), "variables": {"first": 20, "filter": {"text": "security"}}});
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let (mut health, mut searches) = (Vec::new(), Vec::new());
    while Instant::now() < deadline {
        let started = Instant::now();
        let r = app.http.get(&health_url).send().await.unwrap();
        assert!(r.status().is_success());
        health.push(started.elapsed());
        let started = Instant::now();
        let r = app.http.post(app.url()).json(&search).send().await.unwrap();
        let body: Value = r.json().await.unwrap();
        assert!(body.get("errors").is_none(), "{body}");
        searches.push(started.elapsed());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (health, searches)
}

fn row(phase: &str, what: &str, samples: Vec<Duration>) {
    let (p50, p99, n) = percentiles(samples);
    println!("| {phase} | {what} | {n} | {p50:.1} | {p99:.1} |");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "benchmark: run by hand, see the module documentation"]
async fn healthz_and_search_stay_fast_while_bombs_are_sent() {
    let seconds = env_or("RI_BENCH_SECONDS", 10);
    let attackers = env_or("RI_BENCH_ATTACKERS", 4);
    let app = Arc::new(TestApp::start().await);
    let report = regional_invest::seed::load_if_empty(&app.app.log)
        .await
        .unwrap();
    let instruments = i64::try_from(report.instruments).unwrap();
    app.eventually_with(
        |b| b["data"]["instruments"]["totalCount"].as_i64() == Some(instruments),
        &operation("SearchInstruments"),
        json!({"filter": {"statuses": ["DRAFT", "OPEN", "CLOSED", "WITHDRAWN", "ARCHIVED"]}}),
        Some(&app.token("admin", "platform", &[Role::PlatformAdmin]).await),
    )
    .await;

    println!("| phase | request | count | p50 ms | p99 ms |\n|---|---|---:|---:|---:|");
    let (health, search) = probe(&app, seconds).await;
    row("before", "`/healthz`", health);
    row("before", "anonymous search", search);

    let stop = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for n in 0..attackers {
        let (app, stop, refused) = (app.clone(), stop.clone(), refused.clone());
        tasks.push(tokio::spawn(async move {
            let token = app.token("mallory", "safe", &[Role::Curator]).await;
            let bombs = [
                (None, json!({"query": fragment_bomb()})),
                (None, json!({"query": alias_bomb()})),
                (Some(token.clone()), json!({"query": fragment_bomb()})),
                (Some(token.clone()), json!({"query": alias_bomb()})),
                (
                    Some(token.clone()),
                    Value::Array(vec![json!({"query": "{ __typename }"}); 2_500]),
                ),
            ];
            let mut latencies: Vec<(usize, Duration)> = Vec::new();
            let mut i = usize::try_from(n).unwrap();
            while !stop.load(Ordering::Relaxed) {
                let kind = i % bombs.len();
                let (token, body) = &bombs[kind];
                i += 1;
                let mut request = app
                    .http
                    .post(app.url())
                    .header("accept", "application/graphql-response+json")
                    .json(body);
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let started = Instant::now();
                let response = request.send().await.unwrap();
                let status = response.status();
                let _ = response.bytes().await.unwrap();
                latencies.push((kind, started.elapsed()));
                if status == 400 {
                    refused.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let (health, search) = probe(&app, seconds).await;
    stop.store(true, Ordering::Relaxed);
    let mut bombs = Vec::new();
    for task in tasks {
        bombs.extend(task.await.unwrap());
    }
    row("during", "`/healthz`", health);
    row("during", "anonymous search", search);
    let sent = bombs.len();
    let kinds = [
        "23-fragment bomb, anonymous",
        "100-alias list bomb, anonymous",
        "23-fragment bomb, signed in",
        "100-alias list bomb, signed in",
        "batch of 2,500, signed in",
    ];
    for (kind, name) in kinds.iter().enumerate() {
        let of_kind = bombs
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, d)| *d)
            .collect();
        row("during", &format!("{name} (refused)"), of_kind);
    }
    println!(
        "\n{attackers} attackers sent {sent} bombs in {seconds} s; {} refused with 400",
        refused.load(Ordering::Relaxed)
    );
    assert_eq!(
        u64::try_from(sent).unwrap(),
        refused.load(Ordering::Relaxed)
    );
}

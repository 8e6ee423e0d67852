//! Benchmark of the public search over HTTP (issue 12), not a test. The real release binary's
//! `serve` runs as separate processes against a fresh database holding the synthetic catalogue
//! of `ri_testkit::synthetic` (the issue-3 benchmark's): (a) with the in-memory index, (b) with
//! `RI_SEARCH_INDEX=false` (every search reads PostgreSQL), and (c) the issue-3 hand-written SQL
//! baseline on a pool, back to back for each query, 8 callers in a closed loop, every call
//! timed. Then the index build from a catalogue of a million instruments (time to `/readyz`,
//! peak memory, with and without the index) and the catch-up after a restart (instruments
//! drafted, tagged, scheduled and published through the log while the service is stopped).
//!
//! `cargo bench -p regional-invest --bench search_http` (needs the local PostgreSQL and NATS;
//! see docs/performance.md). Knobs: `RI_BENCH_INSTRUMENTS` (100,000: the HTTP part's
//! catalogue), `RI_BENCH_TASKS` (8 callers), `RI_BENCH_SECONDS` (10 per measurement, after 1 s
//! of warm-up), `RI_BENCH_BUILD_INSTRUMENTS` (1,000,000: the build part's catalogue),
//! `RI_BENCH_CATCH_UP` (2,000 instruments written through the log for the restart),
//! `RI_BENCH_PART` (`http`, `build` or both by default), `RI_BENCH_KEEP=1` keeps the databases.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)] // a benchmark: it reports, and fails loudly

mod load;
mod restart;
mod service;

use std::time::Instant;

use load::{Run, measure};
use ri_testkit::TestDb;
use ri_testkit::synthetic::{self, COUNTRY, COVER_LEVEL_CODE, FEATURE_FILTER, PAGE};
use serde_json::{Value, json};
use service::{Service, uptime};
use sqlx::{AssertSqlSafe, Row};

/// The web search's operation, as the pages send it: the first page with the total and every
/// facet.
const SEARCH: &str = include_str!("../../../../graphql/operations/SearchInstruments.graphql");

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One query measured.
struct Shape {
    name: String,
    /// The request body.
    body: &'static [u8],
    /// The issue-3 SQL baseline of this query (`Some(all_features)`), if it has one.
    baseline: Option<bool>,
    /// Whether the SQL path must give the same page and total (not for text: PostgreSQL's
    /// `simple` configuration does not stem, so "drone" does not find "drones" there).
    same_answer: bool,
    /// Only through the service with the index (the cost of HTTP and GraphQL alone).
    index_only: bool,
}

fn body(query: &str, operation: Option<&str>, variables: Value) -> &'static [u8] {
    let body = json!({ "query": query, "operationName": operation, "variables": variables });
    // Sent a million times; leaked once.
    serde_json::to_vec(&body).unwrap().leak()
}

fn issue3_filter(feature_match: &str, text: Option<&str>) -> Value {
    let mut filter = json!({
        "coverLevels": [COVER_LEVEL_CODE],
        "countries": [COUNTRY],
        "features": FEATURE_FILTER,
        "featureMatch": feature_match,
    });
    if let Some(text) = text {
        filter["text"] = json!(text);
    }
    filter
}

fn search(filter: Value, sort: &str, after: Option<&str>) -> &'static [u8] {
    body(
        SEARCH,
        Some("SearchInstruments"),
        json!({ "filter": filter, "sort": sort, "first": PAGE, "after": after }),
    )
}

/// Sends one search and returns its parsed response, which must have no errors.
async fn call(http: &reqwest::Client, url: &str, body: &'static [u8]) -> Value {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let value: Value = response.json().await.unwrap();
    assert!(value.get("errors").is_none(), "errors: {value}");
    value
}

/// The total and the page's ids of a search response.
fn answer(value: &Value) -> (i64, Vec<String>) {
    let connection = &value["data"]["instruments"];
    let ids = connection["edges"]
        .as_array()
        .map(|edges| {
            edges
                .iter()
                .filter_map(|e| e["node"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    (connection["totalCount"].as_i64().unwrap_or(-1), ids)
}

/// One call in the measured loop: the whole body read, status and errors checked (a byte
/// search, not a parse: the parse would be the bench's CPU, not the service's).
async fn timed_call(http: reqwest::Client, url: &'static str, body: &'static [u8]) {
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let bytes = response.bytes().await.unwrap();
    assert!(
        !bytes.windows(9).any(|w| w == b"\"errors\":"),
        "{}",
        String::from_utf8_lossy(&bytes)
    );
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn row(shape: &str, path: &str, total: &str, run: &Run) {
    let server = run
        .server_cpu
        .map_or_else(|| "—".to_owned(), |c| format!("{:.3}", ms(c)));
    println!(
        "| {shape} | {path} | {total} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {server} | {:.3} | {:.0} % |",
        run.calls,
        run.rate(),
        ms(run.p50),
        ms(run.p99),
        ms(run.p999),
        ms(run.client_cpu),
        run.machine_busy * 100.0,
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; test runners listing or running all targets do not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let part = std::env::var("RI_BENCH_PART").unwrap_or_default();
    println!("uptime before: {}\n", uptime());
    if part.is_empty() || part == "http" {
        http_part().await;
    }
    if part.is_empty() || part == "build" {
        restart::build_part().await;
    }
    println!("\nuptime after: {}", uptime());
}

async fn http_part() {
    let instruments: i64 = env_or("RI_BENCH_INSTRUMENTS", 100_000);
    let tasks: usize = env_or("RI_BENCH_TASKS", 8);
    let seconds: u64 = env_or("RI_BENCH_SECONDS", 10);

    let db = TestDb::new().await;
    let started = Instant::now();
    synthetic::seed(&db.owner, instruments).await.unwrap();
    println!(
        "seeded {instruments} instruments in {:.1} s (database {})",
        started.elapsed().as_secs_f64(),
        db.name
    );
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(tasks)
        .build()
        .unwrap();
    let url = format!("{}/{}", ri_testkit::server_url(), db.name);
    let indexed = Service::start(&url, true, &http).await;
    let public: i64 = sqlx::query_scalar("SELECT count(*) FROM catalogue_public")
        .fetch_one(&db.owner)
        .await
        .unwrap();
    let loaded = indexed.wait_for_index(&http, public).await;
    let sql = Service::start(&url, false, &http).await;
    println!(
        "ready after: with the index {:.1} s (its {public} documents loaded after {:.1} s), \
         without {:.1} s\n",
        indexed.ready_after.as_secs_f64(),
        loaded.as_secs_f64(),
        sql.ready_after.as_secs_f64()
    );
    let indexed_url: &'static str = indexed.graphql_url().leak();
    let sql_url: &'static str = sql.graphql_url().leak();
    let mut config = db.config.clone();
    config.max_connections = u32::try_from(tasks).unwrap();
    let pool = ri_eventstore::db::app_pool(&config).await.unwrap();

    let shapes = shapes(&http, indexed_url).await;
    println!(
        "{instruments} instruments; {tasks} callers in a closed loop, {seconds} s per \
         measurement after 1 s of warm-up; (a) service with the index, (b) service with \
         RI_SEARCH_INDEX=false, (c) the issue-3 hand-written SQL on a pool of {tasks}.\n"
    );
    println!(
        "| query | path | total | calls | per second | p50 ms | p99 ms | p99.9 ms | server CPU ms/call | bench CPU ms/call | machine busy |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for shape in &shapes {
        let (a_total, a_ids) = answer(&call(&http, indexed_url, shape.body).await);
        let (b_total, b_ids) = answer(&call(&http, sql_url, shape.body).await);
        if shape.same_answer && (a_total, &a_ids) != (b_total, &b_ids) {
            println!(
                "MISMATCH {}: index {a_total} {a_ids:?}, SQL {b_total} {b_ids:?}",
                shape.name
            );
        }
        let body = shape.body;
        let client = http.clone();
        let a = measure(tasks, seconds, Some(indexed.pid()), move || {
            timed_call(client.clone(), indexed_url, body)
        })
        .await;
        let a_label = if shape.index_only {
            "—".to_owned()
        } else {
            a_total.to_string()
        };
        row(&shape.name, "(a) index", &a_label, &a);
        if shape.index_only {
            continue;
        }
        let client = http.clone();
        let b = measure(tasks, seconds, Some(sql.pid()), move || {
            timed_call(client.clone(), sql_url, body)
        })
        .await;
        row(&shape.name, "(b) API on SQL", &b_total.to_string(), &b);
        let Some(all) = shape.baseline else {
            ratios.push((shape.name.clone(), a.rate(), b.rate(), None));
            continue;
        };
        let (rows, counts) = synthetic::baseline(&pool, all, true).await.unwrap();
        let c_ids: Vec<String> = rows.iter().map(|r| r.get("id")).collect();
        let c_total = counts
            .iter()
            .find(|(facet, _, _)| facet == "total")
            .map_or(-1, |(_, _, n)| *n);
        if (c_total, &c_ids) != (b_total, &b_ids) {
            println!("MISMATCH {}: baseline {c_total} {c_ids:?}", shape.name);
        }
        let baseline_pool = pool.clone();
        let c = measure(tasks, seconds, None, move || {
            let pool = baseline_pool.clone();
            async move {
                synthetic::baseline(&pool, all, true).await.unwrap();
            }
        })
        .await;
        row(&shape.name, "(c) issue-3 SQL", &c_total.to_string(), &c);
        ratios.push((shape.name.clone(), a.rate(), b.rate(), Some(c.rate())));
    }
    println!("\n| query | throughput (a)/(b) | throughput (a)/(c) | (b)/(c) |");
    println!("|---|---:|---:|---:|");
    for (name, a, b, c) in ratios {
        let over_c = |x: f64| c.map_or_else(|| "—".to_owned(), |c| format!("{:.1}", x / c));
        println!("| {name} | {:.1} | {} | {} |", a / b, over_c(a), over_c(b));
    }
    let (ma, mb) = (indexed.memory(), sql.memory());
    println!(
        "\nmemory after the runs: with the index VmHWM {} MB (VmRSS {} MB), without VmHWM {} MB \
         (VmRSS {} MB)",
        ma.hwm >> 20,
        ma.rss >> 20,
        mb.hwm >> 20,
        mb.rss >> 20
    );
    pool.close().await;
    indexed.stop().await;
    sql.stop().await;
    drop_database(db).await;
}

/// The queries: the issue-3 shapes, its second page, text, and a floor (`{ __typename }`).
async fn shapes(http: &reqwest::Client, indexed_url: &str) -> Vec<Shape> {
    let any = search(issue3_filter("ANY", None), "DEADLINE_SOONEST", None);
    let first = call(http, indexed_url, any).await;
    let cursor = first["data"]["instruments"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("the first page has an end cursor")
        .to_owned();
    let shape = |name: &str, body, baseline, same_answer| Shape {
        name: name.to_owned(),
        body,
        baseline,
        same_answer,
        index_only: false,
    };
    vec![
        shape("issue 3, any of 3 features", any, Some(false), true),
        shape(
            "issue 3, all of 3 features",
            search(issue3_filter("ALL", None), "DEADLINE_SOONEST", None),
            Some(true),
            true,
        ),
        shape(
            "issue 3 any, second page",
            search(
                issue3_filter("ANY", None),
                "DEADLINE_SOONEST",
                Some(&cursor),
            ),
            None,
            true,
        ),
        shape(
            "issue 3 any + text \"drone\"",
            search(
                issue3_filter("ANY", Some("drone")),
                "DEADLINE_SOONEST",
                None,
            ),
            None,
            false,
        ),
        shape(
            "text \"drone surveillance\", relevance",
            search(json!({ "text": "drone surveillance" }), "RELEVANCE", None),
            None,
            false,
        ),
        Shape {
            name: "`{ __typename }` (HTTP + GraphQL floor)".to_owned(),
            body: body("{ __typename }", None, json!({})),
            baseline: None,
            same_answer: false,
            index_only: true,
        },
    ]
}

pub(crate) async fn drop_database(db: TestDb) {
    if std::env::var("RI_BENCH_KEEP").is_ok_and(|v| !v.is_empty() && v != "0") {
        println!("kept database {}", db.name);
        return;
    }
    let TestDb {
        name, owner, app, ..
    } = db;
    owner.close().await;
    app.close().await;
    let server = sqlx::PgPool::connect(&format!("{}/postgres", ri_testkit::server_url()))
        .await
        .unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&server)
    .await
    .unwrap();
    server.close().await;
}

//! The service under database faults, over HTTP: its PostgreSQL backends are terminated
//! between and during requests, and then it cannot connect at all (its connections go through
//! a TCP relay this test closes). Queries and mutations answer either their data or
//! UNAVAILABLE with a `Retry-After` header (downloads: 503), never INTERNAL, and once
//! PostgreSQL can be reached again the service answers as before, without a restart.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{TestApp, call, operation};
use ri_domain::Role;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A TCP relay to the test PostgreSQL server that can refuse new connections. Closing it also
/// cuts every connection it relays, including one still starting up: PostgreSQL lists such a
/// backend without its database until it has authenticated, so terminating the database's
/// backends alone can miss it and leave the service a live connection.
struct Relay {
    port: u16,
    open: watch::Sender<bool>,
}

impl Relay {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (open, _) = watch::channel(true);
        // postgres://user@host:port → host:port
        let server = ri_testkit::server_url();
        let target = server.rsplit('@').next().unwrap().to_owned();
        let accepting = open.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut state = accepting.subscribe();
                if !*state.borrow_and_update() {
                    // Closed: the connection ends before PostgreSQL says a word.
                    drop(client);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let relayed = async {
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    };
                    tokio::select! {
                        () = relayed => {}
                        _ = state.wait_for(|open| !*open) => {}
                    }
                });
            }
        });
        Self { port, open }
    }

    fn set_open(&self, open: bool) {
        self.open.send_replace(open);
    }
}

/// The server's own connection, to terminate the service's backends from outside.
async fn admin() -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&format!("{}/postgres", ri_testkit::server_url()))
        .await
        .unwrap()
}

async fn terminate_backends(admin: &sqlx::PgPool, database: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(database)
    .fetch_one(admin)
    .await
    .unwrap()
}

/// What one request answered: its HTTP status, `Retry-After`, and its errors' codes.
#[derive(Debug)]
struct Answer {
    retry_after: Option<String>,
    codes: Vec<String>,
    body: Value,
}

async fn send(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Answer {
    let mut request = app
        .http
        .post(app.url())
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.unwrap();
    let codes = body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    Answer {
        retry_after,
        codes,
        body,
    }
}

/// Data, or UNAVAILABLE with `Retry-After`: anything else fails the test.
fn served_or_unavailable(answer: &Answer) -> bool {
    if answer.codes.is_empty() {
        return false;
    }
    assert!(
        answer.codes.iter().all(|c| c == "UNAVAILABLE"),
        "expected UNAVAILABLE: {answer:?}"
    );
    let seconds: u64 = answer
        .retry_after
        .as_deref()
        .unwrap_or_else(|| panic!("UNAVAILABLE without Retry-After: {answer:?}"))
        .parse()
        .unwrap();
    assert!(seconds >= 1, "{answer:?}");
    true
}

fn search() -> (String, Value) {
    (
        operation("SearchInstruments"),
        json!({"filter": {"text": "border"}}),
    )
}

fn draft(title: &str) -> (String, Value) {
    (
        operation("DraftInstrument"),
        json!({"input": call(title, "LT")}),
    )
}

#[tokio::test]
async fn terminated_backends_and_refused_connections_are_unavailable_never_internal() {
    let relay = Relay::start().await;
    let database = format!("ri_test_{}", uuid::Uuid::new_v4().simple());
    let url = format!("postgres://postgres@127.0.0.1:{}/{database}", relay.port);
    let app = TestApp::start_with(|config| {
        config.database_url = url;
        config.db_max_connections = 4;
    })
    .await;
    let admin = admin().await;
    app.tenant("l3ce", "LT").await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    let (query, variables) = search();

    // Between requests: every backend of the service is terminated before each request. A
    // pooled connection found dead is replaced, or the request is UNAVAILABLE; never INTERNAL.
    for round in 0..5 {
        assert!(terminate_backends(&admin, &database).await >= 0);
        let answer = send(&app, None, &query, variables.clone()).await;
        served_or_unavailable(&answer);
        let (mutation, input) = draft(&format!("Between {round}"));
        let answer = send(&app, Some(&curator), &mutation, input).await;
        served_or_unavailable(&answer);
    }

    // During requests: backends are terminated in a loop while requests run.
    let stop = Arc::new(AtomicBool::new(false));
    let killer = {
        let (admin, database, stop) = (admin.clone(), database.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                terminate_backends(&admin, &database).await;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    for round in 0..10 {
        let answer = send(&app, None, &query, variables.clone()).await;
        served_or_unavailable(&answer);
        let (mutation, input) = draft(&format!("During {round}"));
        let answer = send(&app, Some(&curator), &mutation, input).await;
        served_or_unavailable(&answer);
    }
    stop.store(true, Ordering::SeqCst);
    killer.await.unwrap();

    // No connection possible: the relay refuses and the service's backends are gone. Both a
    // query and a mutation are UNAVAILABLE, with Retry-After.
    relay.set_open(false);
    terminate_backends(&admin, &database).await;
    // A read that needs PostgreSQL (the tenant directory) …
    let answer = send(&app, None, "query Tenants { tenants { slug } }", json!({})).await;
    assert!(served_or_unavailable(&answer), "{answer:?}");
    // … while the public search is still answered, from this process's index.
    let answer = send(&app, None, &query, variables.clone()).await;
    assert!(answer.codes.is_empty(), "{answer:?}");
    assert!(answer.body["data"]["instruments"].is_object(), "{answer:?}");
    let (mutation, input) = draft("Unreachable");
    let answer = send(&app, Some(&curator), &mutation, input).await;
    assert!(served_or_unavailable(&answer), "{answer:?}");
    assert_eq!(answer.body["data"], Value::Null, "{answer:?}");
    // The downloads beside /graphql say the same, in HTTP: 503 with Retry-After.
    let download = app
        .http
        .get(format!("http://{}/exports/instruments.csv", app.app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status().as_u16(), 503);
    assert!(download.headers().contains_key("retry-after"));

    // PostgreSQL reachable again: the same requests are served, without a restart.
    relay.set_open(true);
    let (mutation, input) = draft("After the outage");
    let mut recovered = send(&app, Some(&curator), &mutation, input.clone()).await;
    for _ in 0..50 {
        if recovered.codes.is_empty() {
            break;
        }
        served_or_unavailable(&recovered);
        tokio::time::sleep(Duration::from_millis(100)).await;
        recovered = send(&app, Some(&curator), &mutation, input.clone()).await;
    }
    assert!(recovered.codes.is_empty(), "{recovered:?}");
    let answer = send(&app, None, &query, variables).await;
    assert!(answer.codes.is_empty(), "{answer:?}");
    app.app.stop().await;
}

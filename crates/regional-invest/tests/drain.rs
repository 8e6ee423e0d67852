//! Graceful drain: when the process is told to stop, `/readyz` turns 503 at once and every
//! WebSocket is closed with 1012 ("service restart", a reconnect hint), while requests are
//! still served for the drain delay; then the listener closes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::{Duration, Instant};

use common::{GraphqlSocket, TestApp};
use ri_domain::Role;

async fn status(http: &reqwest::Client, url: &str) -> Option<u16> {
    http.get(url).send().await.ok().map(|r| r.status().as_u16())
}

#[tokio::test]
async fn a_stopping_process_turns_unready_closes_sockets_with_a_reconnect_hint_then_stops() {
    let test = TestApp::start_with(|c| c.drain_delay_ms = 5_000).await;
    let base = format!("http://{}", test.app.addr);
    let (readyz, healthz) = (format!("{base}/readyz"), format!("{base}/healthz"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while status(&test.http, &readyz).await != Some(200) {
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = test.token("ana", "drain-hub", &[Role::Curator]).await;
    let mut socket = GraphqlSocket::signed_in(&test, &token).await;

    let TestApp { app, http, .. } = test;
    let draining = tokio::spawn(app.drain_and_stop());
    // The socket is told to reconnect elsewhere at once.
    assert_eq!(socket.closed().await, 1012);
    // Still serving, but no longer ready: a balancer stops sending new requests here.
    assert_eq!(status(&http, &readyz).await, Some(503));
    let body: serde_json::Value = http
        .get(&readyz)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        body["startup"]["waiting"]
            .as_str()
            .is_some_and(|w| w.contains("draining")),
        "{body}"
    );
    assert_eq!(status(&http, &healthz).await, Some(200));
    draining.await.unwrap();
    assert_eq!(
        status(&http, &healthz).await,
        None,
        "the listener is closed"
    );
}

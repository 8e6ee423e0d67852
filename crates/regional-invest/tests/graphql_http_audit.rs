//! GraphQL over HTTP conformance: the `graphql-http` package's server audits (every MUST and
//! SHOULD of the spec) run against the service started in-process, by
//! `web-tests/graphql-http-audit.mjs`; any WARN or ERROR fails the test, with the audit's report.
//!
//! Needs Node.js and `web-tests/node_modules` (`npm ci --prefix web-tests`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestApp;

/// How long the audit may run before it is stopped and the test fails.
const AUDIT_TIMEOUT: Duration = Duration::from_secs(120);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[tokio::test]
async fn the_graphql_http_audit_passes_every_must_and_should() {
    let hint = "run `npm ci --prefix web-tests` (deploy/local/test.sh does)";
    assert!(
        workspace()
            .join("web-tests/node_modules/graphql-http")
            .is_dir(),
        "web-tests/node_modules/graphql-http is missing: {hint}"
    );
    let app = TestApp::start().await;
    let url = app.url();
    let (status, output) = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .arg("web-tests/graphql-http-audit.mjs")
            .current_dir(workspace())
            .env("GRAPHQL_URL", url)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start node (is Node.js installed?): {e}"));
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed() > AUDIT_TIMEOUT {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let output = child.wait_with_output().unwrap();
        (
            output.status,
            format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        )
    })
    .await
    .unwrap();
    eprintln!("{output}");
    assert!(status.success(), "the graphql-http audit failed:\n{output}");
    assert!(output.contains("0 WARN or ERROR"), "{output}");
    app.app.stop().await;
}

//! The web interface end to end: the service started in-process on a fresh database with the
//! shipped seed, and the browser tests of `web-tests/` run against it in Debian's headless
//! Chromium, driven by playwright-core. Each test mints the tokens its script needs and passes
//! them, with the service's address, in the environment; the script's exit status is the
//! verdict, and its output is printed when it fails. Screenshots go to
//! `target/web-screenshots/` (with `UPDATE_DOCS_SCREENSHOTS=1`, the search page's also to
//! `docs/screenshots/search.png`).
//!
//! Needs `/usr/bin/chromium` (or `CHROMIUM`), Node.js and `web-tests/node_modules`:
//! `deploy/local/test.sh` installs what is missing.
//!
//! Also here, without a browser: every GraphQL operation the pages send validates against the
//! API's schema, and the pages' pure modules pass their unit tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::{Schema, ServerError, ValidationResult};
use common::{TestApp, operation};
use ri_api::graphql::{MutationRoot, QueryRoot, SubscriptionRoot};
use ri_domain::Role;
use serde_json::json;

/// How long one browser script may run before it is stopped and the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(600);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn output_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    let dir = target.join("web-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails with what to install when the browser tests cannot run.
fn require_browser_tools() {
    let hint = "run `bash deploy/local/test.sh` (it installs them), or \
                `apt-get install -y chromium chromium-driver` and `npm ci --prefix web-tests`";
    assert!(
        chromium().exists(),
        "{} is missing: {hint}",
        chromium().display()
    );
    assert!(
        workspace()
            .join("web-tests/node_modules/playwright-core")
            .is_dir(),
        "web-tests/node_modules is missing: {hint}"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "Node.js (`node`) is missing: {hint}"
    );
}

/// Runs `node <args>` in the workspace with `env`; returns whether it succeeded and its output.
/// Blocking, so it runs on a blocking thread while the service keeps serving.
async fn node(args: Vec<String>, env: Vec<(String, String)>, log_name: &str) -> (bool, String) {
    let log = output_dir().join(format!("{log_name}.log"));
    let script = args.join(" ");
    tokio::task::spawn_blocking(move || {
        let out = std::fs::File::create(&log).unwrap();
        let mut child = Command::new("node")
            .args(&args)
            .current_dir(workspace())
            .envs(env)
            .env("SCREENSHOT_DIR", output_dir())
            .env("CHROMIUM", chromium())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("start node {script}: {e}"));
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > SCRIPT_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let output = std::fs::read_to_string(&log).unwrap_or_default();
        match status {
            Some(status) => (status.success(), output),
            None => (
                false,
                format!("{output}\nstopped after {SCRIPT_TIMEOUT:?}: node {script}"),
            ),
        }
    })
    .await
    .unwrap()
}

/// Runs a browser script against `app` and fails the test, with the script's output, if it fails.
async fn browser_script(app: &TestApp, script: &str, mut env: Vec<(String, String)>) {
    require_browser_tools();
    env.push(("BASE_URL".into(), format!("http://{}", app.app.addr)));
    let (ok, output) = node(
        vec![format!("web-tests/{script}")],
        env,
        script.trim_end_matches(".mjs"),
    )
    .await;
    assert!(ok, "web-tests/{script} failed:\n{output}");
}

/// The service with the shipped seed, once its read side shows all of it. The browser scripts
/// sign in with the development sign-in (a pasted token).
async fn seeded() -> TestApp {
    seeded_with(|config| config.dev_sign_in = true).await
}

async fn seeded_with(adjust: impl FnOnce(&mut regional_invest::config::Config)) -> TestApp {
    let app = TestApp::start_with(adjust).await;
    let report = regional_invest::seed::load_if_empty(&app.app.log)
        .await
        .unwrap();
    assert!(!report.skipped, "{report:?}");
    let admin = app.token("admin", "platform", &[Role::PlatformAdmin]).await;
    let instruments = i64::try_from(report.instruments).unwrap();
    app.eventually_with(
        |b| b["data"]["instruments"]["totalCount"].as_i64() == Some(instruments),
        &operation("SearchInstruments"),
        json!({"filter": {"statuses": ["DRAFT", "OPEN", "CLOSED", "WITHDRAWN", "ARCHIVED"]}}),
        Some(&admin),
    )
    .await;
    let tenants = report.tenants;
    app.eventually_with(
        |b| b["data"]["tenants"].as_array().map(Vec::len) == Some(tenants),
        &operation("Tenants"),
        json!({}),
        None,
    )
    .await;
    app
}

#[tokio::test]
async fn the_web_interface_is_served_beside_the_api_without_shadowing_it() {
    let app = TestApp::start().await;
    let base = format!("http://{}", app.app.addr);
    let get = |path: &str, accept: &str| {
        app.http
            .get(format!("{base}{path}"))
            .header("accept", accept)
            .send()
    };
    for path in [
        "/",
        "/instruments/x",
        "/curate",
        "/curate/new",
        "/projects",
        "/clusters/c1",
        "/feedback/a-token",
        "/gaps",
        "/inbox",
        "/projects/new",
        "/projects/p1/edit",
    ] {
        let page = get(path, "text/html").await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let policy = page.headers()["content-security-policy"].to_str().unwrap();
        assert!(policy.contains("default-src 'self'"), "{policy}");
        assert!(page.text().await.unwrap().contains("/assets/js/app.js"));
    }
    let script = get("/assets/js/app.js", "*/*").await.unwrap();
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    // The API's routes answer as before: GraphiQL for a browser, GraphQL, health.
    let graphiql = get("/graphql", "text/html").await.unwrap();
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.headers().get("content-security-policy").is_none());
    assert!(
        graphiql
            .text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
    let me = app.ok(None, &operation("Me"), json!({})).await;
    assert_eq!(me["me"]["authenticated"], false);
    assert_eq!(get("/healthz", "*/*").await.unwrap().status(), 200);
    assert_eq!(get("/nowhere", "text/html").await.unwrap().status(), 404);
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_searches_by_features_and_country_and_opens_an_instrument() {
    let app = seeded().await;
    browser_script(&app, "search.mjs", vec![]).await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curator_creates_and_publishes_an_instrument_and_finds_it_in_the_search() {
    let app = seeded().await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    browser_script(&app, "curator.mjs", vec![("CURATOR_TOKEN".into(), curator)]).await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_search_s_new_match_reaches_the_open_inbox_without_a_reload() {
    let app = seeded().await;
    // Anyone signed in may watch: Sam holds no role in L3CE.
    let watcher = app.identity("sam", "l3ce");
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    browser_script(
        &app,
        "inbox.mjs",
        vec![
            ("WATCHER_TOKEN".into(), watcher),
            ("CURATOR_TOKEN".into(), curator),
        ],
    )
    .await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_curator_imports_a_feature_matrix_after_fixing_every_bad_cell_shown() {
    let app = seeded().await;
    let curator = app.token("ana", "l3ce", &[Role::Curator]).await;
    browser_script(&app, "matrix.mjs", vec![("CURATOR_TOKEN".into(), curator)]).await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_manager_registers_a_project_with_its_features() {
    let app = seeded().await;
    let manager = app.token("ona", "safe", &[Role::FollowUpManager]).await;
    browser_script(
        &app,
        "project.mjs",
        vec![("FOLLOW_UP_TOKEN".into(), manager)],
    )
    .await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_manager_records_a_session_and_completes_its_next_step() {
    let app = seeded().await;
    // L3CE owns the seed's two clusters (SAFE shared their projects with it).
    let manager = app.token("ona", "l3ce", &[Role::FollowUpManager]).await;
    browser_script(
        &app,
        "follow-up.mjs",
        vec![("FOLLOW_UP_TOKEN".into(), manager)],
    )
    .await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_practitioner_submits_feedback_through_a_link_and_the_dashboard_shows_it() {
    let app = seeded().await;
    // L3CE owns the seed's two clusters (SAFE shared their projects with it).
    let manager = app.token("ona", "l3ce", &[Role::FollowUpManager]).await;
    browser_script(
        &app,
        "feedback.mjs",
        vec![("FOLLOW_UP_TOKEN".into(), manager)],
    )
    .await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_forming_names_an_area_forms_a_cluster_and_manages_its_members() {
    let app = seeded().await;
    // SAFE owns the seed's projects: the new cluster takes one and is suggested others.
    let manager = app.token("ona", "safe", &[Role::FollowUpManager]).await;
    browser_script(
        &app,
        "clusters-forming.mjs",
        vec![("FOLLOW_UP_TOKEN".into(), manager)],
    )
    .await;
    app.app.stop().await;
}

/// The OpenID provider of `web-tests/lib/oidc-provider.mjs` on `port`, stopped on drop.
struct Provider(std::process::Child);

impl Provider {
    fn start(port: u16, redirect: &str) -> Self {
        // One log per provider: tests run at once, and a shared file truncated by the next
        // provider lost this one's "listening" line (the test then waited 30 s and failed).
        let log = output_dir().join(format!("oidc-provider-{port}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("node")
            .args([
                "web-tests/lib/oidc-provider.mjs",
                "--port",
                &port.to_string(),
                "--redirect",
                redirect,
            ])
            .current_dir(workspace())
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("start the OpenID provider");
        let provider = Self(child);
        let started = Instant::now();
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("listening")
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the OpenID provider did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        provider
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nobody listens on now (the provider binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The seeded service signing people in through the test OpenID provider (its name on the
/// button: "the test provider"), the provider, and its issuer URL.
async fn with_provider() -> (TestApp, Provider, String) {
    require_browser_tools();
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let app = seeded_with(|config| {
        config.oidc_issuer = Some(issuer.clone());
        config.oidc_client_secret = Some(regional_invest::config::Secret::new(
            "regional-invest-development-client-secret",
        ));
        config.oidc_name = "the test provider".to_owned();
    })
    .await;
    // The service reads the provider's discovery document on the first sign-in, so it may
    // start first and tell the provider its address.
    let provider = Provider::start(port, &format!("http://{}/auth/callback", app.app.addr));
    (app, provider, issuer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_sign_in_through_the_openid_provider_and_get_their_tenant_s_grants() {
    let (app, _provider, issuer) = with_provider().await;
    // Mira manages SAFE's projects; Nobody holds no role anywhere.
    app.token("mira", "safe", &[Role::FollowUpManager]).await;
    browser_script(&app, "oidc.mjs", vec![("PROVIDER_URL".into(), issuer)]).await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_manager_runs_the_clustering_practice_in_the_browser() {
    let (app, _provider, issuer) = with_provider().await;
    // Mira manages SAFE's projects (the seed's); her token lets the script check the API.
    let mira = app.token("mira", "safe", &[Role::FollowUpManager]).await;
    browser_script(
        &app,
        "walkthrough.mjs",
        vec![
            ("PROVIDER_URL".into(), issuer),
            ("FOLLOW_UP_TOKEN".into(), mira),
        ],
    )
    .await;
    app.app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_manager_runs_demo_events_and_their_invitations_in_the_browser() {
    let app = seeded().await;
    // L3CE owns the seed's two clusters (SAFE shared their projects with it).
    let manager = app.token("ona", "l3ce", &[Role::FollowUpManager]).await;
    browser_script(
        &app,
        "demo-events.mjs",
        vec![("FOLLOW_UP_TOKEN".into(), manager)],
    )
    .await;
    app.app.stop().await;
}

#[tokio::test]
async fn the_pages_pure_modules_pass_their_unit_tests() {
    let (ok, output) = node(
        vec!["--test".into(), "web-tests/unit/".into()],
        vec![],
        "unit",
    )
    .await;
    assert!(ok, "node --test web-tests/unit/ failed:\n{output}");
    assert!(output.contains("# fail 0"), "{output}");
}

/// Says "valid" instead of running an operation: validation is all these tests want.
struct ValidateOnly;

const VALID: &str = "valid; not executed";

impl ExtensionFactory for ValidateOnly {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidateOnly)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ValidateOnly {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await?;
        Err(vec![ServerError::new(VALID, None)])
    }
}

async fn validate(document: &str) -> Vec<String> {
    let schema = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .extension(ValidateOnly)
    .finish();
    let response = schema.execute(document).await;
    response.errors.into_iter().map(|e| e.message).collect()
}

#[tokio::test]
async fn every_operation_the_pages_send_is_valid_against_the_schema() {
    let operations = ri_web::graphql_operations();
    assert!(!operations.is_empty());
    for document in operations {
        assert_eq!(validate(document).await, [VALID], "{document}");
    }
    // The check can tell: a field the schema lacks is refused.
    let errors = validate("query WebInvented { instruments { noSuchField } }").await;
    assert!(
        errors.iter().any(|e| e.contains("noSuchField")) && !errors.contains(&VALID.to_owned()),
        "{errors:?}"
    );
}

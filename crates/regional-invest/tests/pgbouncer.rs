//! The service behind Debian's PgBouncer in transaction mode (issue 15): request traffic goes
//! through the pooler (`database_pooled_url`) as a role subject to row-level security, while
//! the runners', relay's and seed's advisory locks and the background work stay on the direct
//! URL. PgBouncer here runs with `server_reset_query_always`, so that a statement prepared
//! outside a transaction is gone by the time it is bound: any query of the request path that
//! relied on session state would fail these tests, not pass by luck.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::{Duration, Instant};

use common::pgbouncer::{POOLED_ROLE, PgBouncer, SERVER_POOL_SIZE, ensure_pooled_role};
use common::{TestApp, call, operation};
use regional_invest::Config;
use ri_domain::Role;
use serde_json::{Value, json};

fn database_url() -> String {
    format!(
        "{}/ri_test_{}",
        ri_testkit::server_url(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A migrated database and the pooled role, ready for a service behind `bouncer`.
async fn prepare(database_url: &str) {
    let config = Config {
        database_url: database_url.to_owned(),
        ..Config::default()
    };
    regional_invest::migrate(&config).await.unwrap();
    let owner = sqlx::PgPool::connect(database_url).await.unwrap();
    ensure_pooled_role(&owner).await;
    owner.close().await;
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

async fn draft(app: &TestApp, token: &str, title: &str) -> String {
    let data = app
        .ok(
            Some(token),
            &operation("DraftInstrument"),
            json!({"input": call(title, "LT")}),
        )
        .await;
    data["draftInstrument"]["id"].as_str().unwrap().to_owned()
}

/// The ids of `tenant`'s drafts the search shows to `token`.
async fn drafts_seen(app: &TestApp, token: Option<&str>, tenant: &str) -> Vec<String> {
    let body = app
        .ok(
            token,
            &operation("SearchInstruments"),
            json!({"filter": {"tenant": tenant, "statuses": ["DRAFT"]}, "first": 50}),
        )
        .await;
    let mut ids: Vec<String> = body["instruments"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// `(user, backends)` of the connections to `database_url`'s database.
async fn backends(database_url: &str) -> Vec<(String, i64)> {
    let owner = sqlx::PgPool::connect(database_url).await.unwrap();
    let rows = sqlx::query_as(
        "SELECT usename::text, count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() \
         GROUP BY usename ORDER BY usename",
    )
    .fetch_all(&owner)
    .await
    .unwrap();
    owner.close().await;
    rows
}

#[tokio::test]
async fn reads_and_writes_go_through_pgbouncer_and_a_tenant_never_sees_another_s_drafts() {
    let database_url = database_url();
    prepare(&database_url).await;
    let bouncer = PgBouncer::start(&database_url);
    let pooled = bouncer.url(&database_url, POOLED_ROLE);
    let app = TestApp::start_with(|c| {
        c.database_url = database_url.clone();
        c.database_pooled_url = Some(pooled);
    })
    .await;
    let (x, y) = (unique("px"), unique("py"));
    app.tenant(&x, "LT").await;
    app.tenant(&y, "DK").await;
    let curator_x = app.token("ana", &x, &[Role::Curator]).await;
    let curator_y = app.token("ben", &y, &[Role::Curator]).await;

    // Many writes and reads at once: more requests than the pooler has server connections,
    // so that transactions of different requests share them.
    let mut writes = Vec::new();
    for n in 0..12 {
        let (app, x, y) = (&app, &curator_x, &curator_y);
        writes.push(async move {
            let token = if n % 2 == 0 { x } else { y };
            let id = draft(app, token, &format!("Pooled draft {n}")).await;
            app.ok(
                Some(token),
                &operation("TagInstrumentFeatures"),
                json!({"id": id, "features": ["T1"]}),
            )
            .await;
            let seen = app
                .ok(Some(token), &operation("Instrument"), json!({"id": id}))
                .await;
            assert_eq!(seen["instrument"]["id"], json!(id), "{seen}");
            (n % 2 == 0, id)
        });
    }
    let drafted = futures_util::future::join_all(writes).await;
    let mut of_x: Vec<String> = drafted
        .iter()
        .filter(|(mine, _)| *mine)
        .map(|(_, id)| id.clone())
        .collect();
    of_x.sort();
    let mut of_y: Vec<String> = drafted
        .iter()
        .filter(|(mine, _)| !*mine)
        .map(|(_, id)| id.clone())
        .collect();
    of_y.sort();

    // Row-level security through the pooler: each curator sees its own drafts, and none of
    // the other tenant's, by search or by id; the public sees none.
    let deadline = Instant::now() + Duration::from_secs(30);
    while drafts_seen(&app, Some(&curator_x), &x).await != of_x
        || drafts_seen(&app, Some(&curator_y), &y).await != of_y
    {
        assert!(Instant::now() < deadline, "the drafts never showed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reads = (0..12).map(|n| {
        let app = &app;
        let (token, tenant) = if n % 2 == 0 {
            (curator_x.as_str(), y.as_str())
        } else {
            (curator_y.as_str(), x.as_str())
        };
        async move { drafts_seen(app, Some(token), tenant).await }
    });
    for seen in futures_util::future::join_all(reads).await {
        assert_eq!(seen, Vec::<String>::new(), "another tenant's drafts");
    }
    for id in &of_y {
        let seen = app
            .ok(
                Some(&curator_x),
                &operation("Instrument"),
                json!({"id": id}),
            )
            .await;
        assert_eq!(seen["instrument"], Value::Null, "{seen}");
    }
    assert!(drafts_seen(&app, None, &x).await.is_empty());

    // The requests ran through the pooler, on no more server connections than it has; the
    // locks and the background work on the direct URL, as the login role.
    let users = backends(&database_url).await;
    let pooled = users.iter().find(|(user, _)| user == POOLED_ROLE);
    assert!(
        pooled.is_some_and(|(_, n)| *n >= 1 && *n <= i64::from(SERVER_POOL_SIZE)),
        "{users:?}"
    );
    let owner = sqlx::PgPool::connect(&database_url).await.unwrap();
    let lock_users: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT a.usename::text FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
         WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database()",
    )
    .fetch_all(&owner)
    .await
    .unwrap();
    owner.close().await;
    assert_eq!(lock_users, ["postgres"]);
    app.app.stop().await;
}

#[tokio::test]
async fn the_service_refuses_a_pooled_role_that_row_level_security_does_not_apply_to() {
    let database_url = database_url();
    prepare(&database_url).await;
    let bouncer = PgBouncer::start(&database_url);
    // Through the pooler as the superuser: every tenant would read every other's drafts.
    let config = Config {
        database_url: database_url.clone(),
        database_pooled_url: Some(bouncer.url(&database_url, "postgres")),
        listen: "127.0.0.1:0".parse().unwrap(),
        deployment: common::test_deployment(),
        ..Config::default()
    };
    let refused = regional_invest::App::start(&config, true)
        .await
        .unwrap_err();
    let shown = format!("{refused:#}");
    assert!(
        shown.contains("role postgres is a superuser or has BYPASSRLS"),
        "{shown}"
    );
}

/// `/readyz`'s status, `None` while nothing listens.
async fn readyz(port: u16) -> Option<u16> {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .ok()?;
    Some(response.status().as_u16())
}

#[tokio::test]
async fn serve_with_the_seed_runs_its_runners_on_the_direct_url_and_serves_through_pgbouncer() {
    let database_url = database_url();
    prepare(&database_url).await;
    let bouncer = PgBouncer::start(&database_url);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_regional-invest"))
        .args(["serve", "--seed"])
        .env("DATABASE_URL", &database_url)
        .env(
            "RI_DATABASE_POOLED_URL",
            bouncer.url(&database_url, POOLED_ROLE),
        )
        .env("RI_DEPLOYMENT", common::test_deployment())
        .env("RI_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    while readyz(port).await != Some(200) {
        assert!(child.try_wait().unwrap().is_none(), "serve exited");
        assert!(Instant::now() < deadline, "never ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The seeded catalogue, read through the pooler, by several requests at once.
    let http = reqwest::Client::new();
    let searches = (0..8).map(|_| {
        let http = &http;
        async move {
            let body: Value = http
                .post(format!("http://127.0.0.1:{port}/graphql"))
                .json(&json!({"query": operation("SearchInstruments"), "variables": {"first": 5}}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["data"]["instruments"]["totalCount"].as_i64()
        }
    });
    for total in futures_util::future::join_all(searches).await {
        assert!(total.is_some_and(|n| n > 0), "{total:?}");
    }

    // Every projection's lock and the relay's are held, on direct connections of the login
    // role; the requests used the pooled role, on the pooler's few server connections.
    let owner = sqlx::PgPool::connect(&database_url).await.unwrap();
    let expected = i64::try_from(ri_projections::all().len() + 1).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let held: Vec<(String, i64)> = sqlx::query_as(
            "SELECT a.usename::text, count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
             WHERE l.locktype = 'advisory' AND l.granted AND a.datname = current_database() \
             GROUP BY a.usename",
        )
        .fetch_all(&owner)
        .await
        .unwrap();
        if held == [("postgres".to_owned(), expected)] {
            break;
        }
        assert!(Instant::now() < deadline, "locks: {held:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    owner.close().await;
    let users = backends(&database_url).await;
    assert!(
        users
            .iter()
            .any(|(user, n)| user == POOLED_ROLE && *n <= i64::from(SERVER_POOL_SIZE)),
        "{users:?}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
}

//! The service as operators see it: started in-process on port 0 against a fresh database.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

use std::process::Stdio;
use std::time::{Duration, Instant};

use regional_invest::{App, Config};
use serde_json::Value;

mod common;

fn config() -> Config {
    let db = format!("ri_test_{}", uuid::Uuid::new_v4().simple());
    Config {
        database_url: format!("{}/{db}", ri_testkit::server_url()),
        listen: "127.0.0.1:0".parse().unwrap(),
        deployment: common::test_deployment(),
        ..Config::default()
    }
}

async fn get(app: &App, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{}{path}", app.addr))
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn serve_creates_and_migrates_its_database_and_reports_health_readiness_and_metrics() {
    let app = App::start(&config(), true).await.unwrap();
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, 200, "{body}");

    // Ready once the (empty) catalogue is in the search index, a moment after start.
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let (status, body) = get(&app, "/readyz").await;
        if status == 200 {
            break body;
        }
        assert!(Instant::now() < deadline, "never ready: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["postgres"], "ok");
    assert_eq!(body["nats"], "ok");

    // The projection runner takes its lock and reports it.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = get(&app, "/metrics").await;
        assert_eq!(status, 200);
        if body.contains("ri_projection_leader{projection=\"streams\"} 1") {
            break;
        }
        assert!(Instant::now() < deadline, "no leader metric in:\n{body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.stop().await;
}

#[tokio::test]
async fn readiness_names_nats_when_it_does_not_answer() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let config = Config {
        nats_url: format!("nats://{closed}"),
        ..config()
    };
    let app = App::start(&config, true).await.unwrap();
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["postgres"], "ok");
    assert!(body["nats"]["error"].is_string(), "{body}");
    // Liveness does not depend on NATS.
    assert_eq!(get(&app, "/healthz").await.0, 200);
    app.stop().await;
}

#[tokio::test]
async fn the_service_runs_as_a_role_that_owns_nothing_with_its_timeouts() {
    let app = App::start(&config(), true).await.unwrap();
    let pool = app.log.pool();
    let user: String = sqlx::query_scalar("SELECT current_user::text")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(user, "ri_app");
    let owned: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(owned, 0);
    let idle: String = sqlx::query_scalar("SHOW idle_in_transaction_session_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    let statement: String = sqlx::query_scalar("SHOW statement_timeout")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!((idle.as_str(), statement.as_str()), ("1min", "30s"));
    app.stop().await;
}

#[tokio::test]
async fn replay_names_the_known_projections_when_given_an_unknown_one() {
    let config = config();
    regional_invest::migrate(&config).await.unwrap();
    let err = regional_invest::replay(&config, "nope").await.unwrap_err();
    assert!(format!("{err:#}").contains("known: streams"), "{err:#}");
    let report = regional_invest::replay(&config, "streams").await.unwrap();
    assert_eq!(report.events, 0);
}

/// The backends holding the projections' advisory locks in this database.
async fn advisory_lock_holders(url: &str) -> Vec<i32> {
    let pool = sqlx::PgPool::connect(url).await.unwrap();
    let pids = sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         ORDER BY pid",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    pids
}

/// Waits until every projection's lock and the relay's are held, by backends none of which is
/// in `not`.
async fn wait_for_all_locks(url: &str, not: &[i32]) -> Vec<i32> {
    let projections = ri_projections::all().len() + 1;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let holders = advisory_lock_holders(url).await;
        if holders.len() == projections && holders.iter().all(|p| !not.contains(p)) {
            return holders;
        }
        assert!(Instant::now() < deadline, "locks held by {holders:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn of_two_serve_processes_one_runs_the_projection_and_the_other_takes_over_when_it_dies() {
    let config = config();
    regional_invest::migrate(&config).await.unwrap();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_regional-invest"))
            .arg("serve")
            .env("DATABASE_URL", &config.database_url)
            .env("RI_DEPLOYMENT", &config.deployment)
            .env("RI_LISTEN", "127.0.0.1:0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut first = spawn();
    let leaders = wait_for_all_locks(&config.database_url, &[]).await;
    let mut second = spawn();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // One lock per projection, all still with the first process: the second waits.
    assert_eq!(advisory_lock_holders(&config.database_url).await, leaders);

    first.kill().unwrap();
    first.wait().unwrap();
    wait_for_all_locks(&config.database_url, &leaders).await;
    second.kill().unwrap();
    second.wait().unwrap();
}

#[tokio::test]
async fn committed_events_reach_jetstream_with_their_id() {
    let config = config();
    let deployment = config.deployment().unwrap();
    let app = App::start(&config, true).await.unwrap();
    let slug = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let tenant = ri_domain::TenantSlug::parse(&slug).unwrap();
    let profile = ri_domain::tenant::TenantProfile {
        name: ri_domain::values::Title::parse("name", "Relay check").unwrap(),
        kind: ri_domain::tenant::TenantKind::AmbassadorCluster,
        country: ri_domain::values::CountryCode::parse("country", "LT").unwrap(),
        website: None,
        domains: vec![],
        member_count: None,
    };
    let meta = ri_domain::EventMetadata::new("admin", tenant.clone(), vec![]);
    app.log
        .execute::<ri_domain::tenant::Tenant>(
            &tenant,
            &slug,
            ri_domain::tenant::TenantCommand::Register {
                slug: tenant.clone(),
                profile,
            },
            &meta,
            (),
        )
        .await
        .unwrap();
    let event_id: uuid::Uuid = sqlx::query_scalar("SELECT event_id FROM events WHERE tenant = $1")
        .bind(&slug)
        .fetch_one(app.log.pool())
        .await
        .unwrap();

    let nats = async_nats::connect("nats://127.0.0.1:4222").await.unwrap();
    let jetstream = async_nats::jetstream::new(nats);
    let subject = format!(
        "{}.{slug}.tenant.tenantregistered",
        deployment.event_subject_prefix()
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let message = loop {
        // The relay creates this deployment's stream when it starts: look it up each time.
        if let Ok(stream) = jetstream.get_stream(deployment.event_stream()).await
            && let Ok(message) = stream.get_last_raw_message_by_subject(&subject).await
        {
            break message;
        }
        assert!(Instant::now() < deadline, "no message on {subject}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let id = message
        .headers
        .get("Nats-Msg-Id")
        .map(|v| v.as_str().to_owned());
    assert_eq!(id, Some(event_id.to_string()));
    app.stop().await;
}

/// A port free a moment ago, for a `serve` process to listen on.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `regional-invest serve --seed` on `port` against `config`'s database; no expiry scan after
/// the one at start, so that nothing but the seed writes to the log.
fn serve_seed(config: &Config, port: u16) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_regional-invest"))
        .args(["serve", "--seed"])
        .env("DATABASE_URL", &config.database_url)
        .env("RI_DEPLOYMENT", &config.deployment)
        .env("RI_LISTEN", format!("127.0.0.1:{port}"))
        .env("RI_EXPIRY_INTERVAL_MS", "3600000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// `/readyz`'s status and body, `None` while nothing listens.
async fn readyz(port: u16) -> Option<(u16, Value)> {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().await.unwrap_or(Value::Null)))
}

#[tokio::test]
async fn serve_seed_is_ready_only_with_the_seed_loaded_and_every_read_model_at_the_log_s_head() {
    let config = config();
    regional_invest::migrate(&config).await.unwrap();
    let port = free_port();
    let mut child = serve_seed(&config, port);
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut waited_for = Vec::new();
    loop {
        if let Some((status, body)) = readyz(port).await {
            if status == 200 {
                break;
            }
            assert_eq!(status, 503, "{body}");
            waited_for.push(body["startup"].clone());
        }
        assert!(child.try_wait().unwrap().is_none(), "serve exited");
        assert!(Instant::now() < deadline, "never ready: {waited_for:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "not ready {} times first; last: {:?}",
        waited_for.len(),
        waited_for.last()
    );

    // Ready: the seed is in the log, and every projection has read all of it.
    let pool = sqlx::PgPool::connect(&config.database_url).await.unwrap();
    let head = regional_invest::startup::log_head(&pool)
        .await
        .unwrap()
        .expect("the seed is in the log once ready");
    for projection in ri_projections::all() {
        let at = ri_eventstore::Checkpoint::load(&pool, projection.name())
            .await
            .unwrap();
        assert!(at >= head, "{} at {at:?}, head {head:?}", projection.name());
    }
    let (tenants, registered): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM tenants), \
             (SELECT count(DISTINCT aggregate_id) FROM events WHERE aggregate_type = 'Tenant')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        tenants > 0 && tenants == registered,
        "{tenants} of {registered}"
    );
    pool.close().await;
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test]
async fn serve_seed_exits_non_zero_and_never_ready_when_the_seed_fails() {
    let config = config();
    regional_invest::migrate(&config).await.unwrap();
    // The log refuses every write, so the seed's first command fails.
    let owner = sqlx::PgPool::connect(&config.database_url).await.unwrap();
    sqlx::raw_sql(
        "CREATE FUNCTION test_refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$ \
         BEGIN RAISE EXCEPTION 'test: the log refuses writes'; END $$; \
         CREATE TRIGGER test_refuse_writes BEFORE INSERT ON events \
             FOR EACH STATEMENT EXECUTE FUNCTION test_refuse_writes();",
    )
    .execute(&owner)
    .await
    .unwrap();
    owner.close().await;

    let port = free_port();
    let mut child = serve_seed(&config, port);
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some((status, body)) = readyz(port).await {
            assert_ne!(status, 200, "ready although the seed failed: {body}");
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            panic!("serve --seed still running after its seed failed");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!status.success(), "{status:?}");
}

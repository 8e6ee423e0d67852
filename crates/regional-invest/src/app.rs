//! `serve`, `migrate`, `replay` and `failures`.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use ri_domain::instrument::SystemClock;
use ri_domain::{Role, TenantSlug};
use ri_eventstore::db;
use ri_eventstore::{EventLog, LogConfig};
use ri_projections::{ProjectionFailure, ProjectionRunner, ReplayReport, RunnerConfig};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::Config;

/// The process-wide Prometheus recorder, installed on first use (once, even when several
/// apps start at the same time, as in tests).
pub fn metrics_handle() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                // Request durations are histograms (OpenTelemetry's buckets), not summaries.
                .set_buckets_for_metric(
                    Matcher::Suffix("duration_seconds".to_owned()),
                    &ri_api::http_metrics::DURATION_BUCKETS,
                )
                .and_then(|builder| builder.install_recorder())
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("install the metrics recorder: {e}"))
}

/// Creates the database if missing and applies pending migrations.
pub async fn migrate(config: &Config) -> anyhow::Result<()> {
    let db_config = config.db();
    db::ensure_database(&db_config.url)
        .await
        .context("create the database")?;
    let owner = db::owner_pool(&db_config)
        .await
        .context("connect to PostgreSQL")?;
    db::migrate(&owner).await.context("apply migrations")?;
    owner.close().await;
    Ok(())
}

/// Rebuilds one projection from the start of the log and swaps it in.
pub async fn replay(config: &Config, projection: &str) -> anyhow::Result<ReplayReport> {
    let projection = ri_projections::by_name_with(projection, config.matching_weights()?)?;
    let owner = db::owner_pool(&config.db())
        .await
        .context("connect to PostgreSQL")?;
    let log = EventLog::new(
        owner.clone(),
        ri_domain::event_registry(),
        log_config(config),
    );
    let report = ri_projections::replay(
        &log,
        &owner,
        projection.as_ref(),
        config.projection_batch_size,
    )
    .await
    .with_context(|| format!("replay {}", projection.name()))?;
    owner.close().await;
    Ok(report)
}

/// Up to `limit` events the projections recorded as failures and skipped, of `projection` (a
/// known name) or of all, in log order (`regional-invest failures`).
pub async fn failures(
    config: &Config,
    projection: Option<&str>,
    limit: i64,
) -> anyhow::Result<Vec<ProjectionFailure>> {
    if let Some(name) = projection {
        ri_projections::by_name(name)?;
    }
    let pool = db::app_pool(&config.db())
        .await
        .context("connect to PostgreSQL")?;
    let failures = ri_projections::failures(&pool, projection, limit)
        .await
        .context("read projection_failures")?;
    pool.close().await;
    Ok(failures)
}

/// The people `serve --seed` grants roles when the development sign-in is on, so that there is
/// someone to pick there: a curator of L3CE, and a follow-up manager and a tenant admin of SAFE
/// (which owns the seed's clusters).
pub const DEVELOPMENT_PEOPLE: &[(&str, &str, &[Role])] = &[
    ("l3ce", "ana", &[Role::Curator]),
    ("safe", "rita", &[Role::FollowUpManager]),
    ("safe", "tom", &[Role::TenantAdmin]),
];

/// Loads the seed into the configured database if it holds no tenant yet.
pub async fn seed_database(config: &Config) -> anyhow::Result<crate::seed::SeedReport> {
    let log = command_log(config).await?;
    let report = crate::seed::load_if_empty(&log).await;
    log.pool().close().await;
    report
}

/// The log on the configured database as the service's role sees it, for one command-line run
/// of commands (the caller closes its pool).
pub(crate) async fn command_log(config: &Config) -> anyhow::Result<EventLog> {
    let pool = db::app_pool(&config.db())
        .await
        .context("connect to PostgreSQL")?;
    Ok(EventLog::new(
        pool,
        ri_domain::event_registry(),
        log_config(config),
    ))
}

/// The pool for request traffic through `url` (a pooler in transaction mode), once its role is
/// known to be subject to row-level security: a superuser, a `BYPASSRLS` role or the tables'
/// owner would let every tenant read every other's drafts, so the service refuses to start.
async fn pooled_request_pool(config: &Config, url: &str) -> anyhow::Result<sqlx::PgPool> {
    let pooled = db::pooled_pool(url, config.db_max_connections)
        .await
        .context("connect to PostgreSQL through the pooler (database_pooled_url)")?;
    let app_role = (!config.db_role.is_empty()).then_some(config.db_role.as_str());
    let role = db::check_role(&pooled, app_role)
        .await
        .context("check the pooled connections' role")?;
    if let Some(refusal) = role.refusal(app_role) {
        pooled.close().await;
        anyhow::bail!(
            "database_pooled_url: {refusal}; requests through the pooler would not be subject to \
             row-level security. Log in through the pooler as a role that is a member of {} and \
             owns nothing (docs/operations.md#pgbouncer)",
            app_role.unwrap_or("the application role")
        );
    }
    for (setting, value) in [
        ("statement_timeout", &role.statement_timeout),
        (
            "idle_in_transaction_session_timeout",
            &role.idle_in_transaction_timeout,
        ),
    ] {
        if value == "0" {
            tracing::warn!(
                role = %role.role,
                setting,
                "no {setting} on the pooled connections: set it on the role (ALTER ROLE ... SET), \
                 the service cannot pass it through the pooler"
            );
        }
    }
    Ok(pooled)
}

fn log_config(config: &Config) -> LogConfig {
    LogConfig {
        snapshot_every: config.snapshot_every,
    }
}

/// What `serve` does besides serving.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Apply pending migrations first.
    pub run_migrations: bool,
    /// Load the shipped seed when the log holds no tenant (`serve --seed`); ready only after.
    pub seed: bool,
}

/// A running service: HTTP server, projection runners.
#[derive(Debug)]
pub struct App {
    pub addr: SocketAddr,
    pub log: EventLog,
    shutdown: CancellationToken,
    /// Cancelled first when stopping: WebSockets close with 1012.
    drain: CancellationToken,
    startup: ri_api::Startup,
    drain_delay: Duration,
    tasks: JoinSet<()>,
}

impl App {
    /// Starts the service on `config.listen` (port 0 picks a free port).
    pub async fn start(config: &Config, run_migrations: bool) -> anyhow::Result<App> {
        Self::start_with(
            config,
            StartOptions {
                run_migrations,
                seed: false,
            },
        )
        .await
    }

    /// Starts the service; `/readyz` answers 503 until the migrations, the seed (when asked
    /// for) and every projection's catch-up with the log's head as it stood then are done. A
    /// failed seed stops the service and is returned.
    pub async fn start_with(config: &Config, options: StartOptions) -> anyhow::Result<App> {
        let run_migrations = options.run_migrations;
        let registry = ri_domain::event_registry();
        registry
            .validate()
            .context("the event registry is inconsistent")?;
        // Refused before anything starts, rather than at the first publish.
        let deployment = config.deployment()?;
        if run_migrations {
            migrate(config).await?;
        }
        let db_config = config.db();
        let pool = db::app_pool(&db_config)
            .await
            .context("connect to PostgreSQL")?;
        let log = EventLog::new(pool.clone(), registry, log_config(config));
        // Request traffic goes through the pooler when there is one; the log handle on it
        // wakes this process's runners and relay like the direct one.
        let (request_pool, request_log) = match &config.database_pooled_url {
            Some(url) => {
                let pooled = pooled_request_pool(config, url).await?;
                let pooled_log = log.through_pooler(pooled.clone());
                (pooled, pooled_log)
            }
            None => (pool.clone(), log.clone()),
        };
        let max_backoff = Duration::from_millis(config.relay_max_backoff_ms);
        let nats = async_nats::ConnectOptions::new()
            .name("regional-invest")
            .retry_on_initial_connect()
            // The client's own default grows to 4 s between attempts; the relays' cap bounds
            // how long after NATS returns the service notices.
            .reconnect_delay_callback(move |a| ri_relay::reconnect_delay(a, max_backoff))
            .connect(config.nats_urls())
            .await
            .context("configure the NATS client")?;
        let metrics = metrics_handle()?;

        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let startup = ri_api::Startup::waiting("starting");
        let projections = ri_projections::all_with(config.matching_weights()?);
        let readers = projections.iter().map(|p| p.name()).collect::<Vec<_>>();
        let runner_config = RunnerConfig {
            batch_size: config.projection_batch_size,
            ..RunnerConfig::default()
        };
        for projection in projections {
            let runner = ProjectionRunner::new(log.clone(), projection, runner_config.clone());
            tasks.spawn(runner.run(db_config.connect_options()?, shutdown.clone()));
        }
        // Every event goes on to NATS JetStream; while NATS is down, commands keep succeeding
        // and the relay catches up when it returns.
        let relay_config = ri_relay::RelayConfig {
            batch_size: config.relay_batch_size,
            max_backoff,
            replicas: config.stream_replicas()?,
            ..ri_relay::RelayConfig::for_deployment(&deployment)
        };
        let event_subject_prefix = relay_config.subject_prefix.clone();
        let relay = ri_relay::Relay::new(log.clone(), nats.clone(), relay_config);
        tasks.spawn(relay.run(db_config.connect_options()?, shutdown.clone()));
        // Users' notifications go to NATS too (every process may publish them: JetStream
        // drops the copies by message id).
        let notifier_config = ri_relay::NotificationRelayConfig {
            max_backoff,
            replicas: config.stream_replicas()?,
            ..ri_relay::NotificationRelayConfig::for_deployment(&deployment)
        };
        let notification_subject_prefix = notifier_config.subject_prefix.clone();
        let notifier =
            ri_relay::NotificationRelay::new(pool.clone(), nats.clone(), notifier_config);
        tasks.spawn(notifier.run(shutdown.clone()));
        // Every process keeps its own search index, fed from the log (no lock).
        let search = if config.search_index {
            let index = ri_projections::SearchIndex::new(ri_projections::SearchIndexConfig {
                history: config.search_history(),
                ..ri_projections::SearchIndexConfig::default()
            })
            .context("create the search index")?;
            let (feeding, log, stop) = (index.clone(), log.clone(), shutdown.clone());
            tasks.spawn(async move { feeding.run(log, stop).await });
            Some(index)
        } else {
            None
        };
        tasks.spawn(crate::expiry::run(
            log.clone(),
            Duration::from_millis(config.expiry_interval_ms),
            shutdown.clone(),
        ));
        let upkeep = metrics.clone();
        let stop = shutdown.clone();
        tasks.spawn(async move {
            while stop
                .run_until_cancelled(tokio::time::sleep(Duration::from_secs(5)))
                .await
                .is_some()
            {
                upkeep.run_upkeep();
            }
        });

        // Fail at start, not at the first request, on a missing or unusable key.
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let auth = ri_api::Authenticator::new(&config.auth()?)?;
        let mut access = ri_api::Access::new(
            auth,
            ri_app::App::new(request_log.clone()),
            config.platform_admins.iter().cloned(),
        );
        // Without a configured public URL, browsers reach the address actually bound (port 0
        // in tests).
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let sessions = config
            .sessions()
            .map(|c| ri_api::session::Sessions::new(&c))
            .transpose()?;
        let oidc = config
            .oidc()
            .map(|mut oidc| {
                oidc.public_url = public_url.trim_end_matches('/').to_owned();
                ri_api::session::oidc::Oidc::new(oidc)
            })
            .transpose()?;
        if let Some(sessions) = &sessions {
            access = access.with_sessions(sessions.clone());
        } else if oidc.is_some() || config.dev_sign_in {
            anyhow::bail!(
                "signing in on the web interface needs a session secret (RI_SESSION_SECRET) \
                 when tokens are RS256"
            );
        }
        if config.dev_sign_in {
            tracing::warn!("the development sign-in is on (RI_DEV_SIGN_IN): never in production");
        }
        let api = ri_api::graphql::Api {
            db: request_pool.clone(),
            log: request_log,
            clock: Arc::new(SystemClock),
            // Subscriptions read what the relay (of whichever process) publishes.
            nats: Some(nats.clone()),
            event_subject_prefix,
            notification_subject_prefix,
            matching_weights: Arc::new(config.matching_weights()?),
            search: search.clone(),
            consistency_wait: Duration::from_millis(config.consistency_wait_ms),
        };
        let schema = ri_api::graphql::schema(api.clone(), config.graphql_introspection);
        let graphql_config = config.graphql();
        let drain = graphql_config.drain.clone();
        let router = ri_api::router(ri_api::AppState {
            db: request_pool.clone(),
            nats,
            metrics,
            startup: startup.clone(),
        })
        .merge(ri_api::graphql::routes(
            schema,
            access.clone(),
            graphql_config,
        ))
        .merge(match sessions {
            Some(sessions) => {
                ri_api::session::routes::routes(ri_api::session::routes::SignInState {
                    sessions,
                    oidc,
                    development: config.dev_sign_in,
                    access: access.clone(),
                    db: request_pool.clone(),
                })
            }
            None => axum::Router::new(),
        })
        .merge(ri_api::calendar::routes(request_pool))
        .merge(ri_api::exports::routes(api, access))
        .merge(ri_web::routes())
        .layer(axum::middleware::from_fn(ri_api::http_metrics::track));
        let stop = shutdown.clone();
        tasks.spawn(async move {
            // With the peer's address, for the feedback links' per-address rate limit.
            let router = router.into_make_service_with_connect_info::<SocketAddr>();
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        tracing::info!(%addr, "regional-invest serving");
        let mut app = App {
            addr,
            log,
            shutdown,
            drain,
            startup: startup.clone(),
            drain_delay: Duration::from_millis(config.drain_delay_ms),
            tasks,
        };
        if options.seed {
            startup.wait_for("loading the seed");
            match crate::seed::load_if_empty(&app.log).await {
                Ok(report) if config.dev_sign_in => {
                    tracing::info!(?report, "seed");
                    // People to pick at the development sign-in (never without it).
                    for (tenant, subject, roles) in DEVELOPMENT_PEOPLE {
                        let granted = match TenantSlug::parse(tenant) {
                            Ok(slug) => {
                                crate::grants::grant_roles(&app.log, &slug, subject, roles).await
                            }
                            Err(e) => Err(anyhow::Error::new(e)),
                        };
                        if let Err(e) = granted {
                            tracing::warn!(error = %format!("{e:#}"), subject, tenant, "development person not granted");
                        }
                    }
                }
                Ok(report) => tracing::info!(?report, "seed"),
                Err(e) => {
                    app.stop().await;
                    return Err(e.context("serve --seed: the seed failed; not ready"));
                }
            }
        }
        startup.wait_for("reading the log's head");
        let head = match crate::startup::log_head(app.log.pool()).await {
            Ok(head) => head,
            Err(e) => {
                app.stop().await;
                return Err(anyhow::Error::new(e).context("read the log's head at start"));
            }
        };
        app.tasks.spawn(crate::startup::await_projections(
            app.log.pool().clone(),
            readers,
            search,
            head,
            startup,
            app.shutdown.clone(),
        ));
        Ok(app)
    }

    /// Stops accepting requests (those in flight finish, WebSockets are closed with 1012), lets
    /// the runners finish their batch, and waits for them.
    pub async fn stop(mut self) {
        self.drain.cancel();
        self.shutdown.cancel();
        while self.tasks.join_next().await.is_some() {}
    }

    /// Drains, then stops: `/readyz` answers 503 and every WebSocket is closed with 1012 (a
    /// reconnect hint) at once, requests are still served for the drain delay, so balancers
    /// route new ones elsewhere before the listener closes; then [`App::stop`].
    pub async fn drain_and_stop(self) {
        self.startup.drain();
        self.drain.cancel();
        tokio::time::sleep(self.drain_delay).await;
        self.stop().await;
    }

    /// Runs until SIGINT or SIGTERM, then drains and stops.
    pub async fn run_until_signalled(self) {
        shutdown_signal().await;
        tracing::info!(delay = ?self.drain_delay, "draining, then shutting down");
        self.drain_and_stop().await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

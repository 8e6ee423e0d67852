//! One typed configuration: defaults that run on a developer machine, then an optional TOML
//! file (`RI_CONFIG`, default `regional-invest.toml` when present), then the environment:
//! `DATABASE_URL`, `NATS_URL` and `RI_*` (`RI_LISTEN`, `RI_DB_ROLE`, `RI_JWT_SECRET`, ...).
//! Secrets are [`Secret`]s: `Debug` output, and so logs, never show them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ri_api::auth::AuthConfig;
use ri_api::graphql::{GraphqlConfig, TrustedProxies};
use ri_api::session::SessionConfig;
use ri_api::session::oidc::OidcConfig;
use ri_eventstore::db::DbConfig;
use ri_matching::{Weights, WeightsConfig};
use serde::{Deserialize, Serialize};

/// The HS256 secret used when none is configured: fine on a developer machine, and `serve`
/// warns when it is in use. Anyone can mint tokens with it.
pub const DEV_JWT_SECRET: &str = "regional-invest-development-only-jwt-secret-do-not-deploy";

/// A configuration value that must not be shown: its `Debug` output is `Secret([redacted])`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub database_url: String,
    /// A URL through a connection pooler in transaction mode (`RI_DATABASE_POOLED_URL`,
    /// PgBouncer): when set, request traffic (GraphQL, downloads, the calendar, readiness) goes
    /// through it, while what needs a session of its own (the runners' and relay's advisory
    /// locks, the seed's lock, migrations) and the background work stay on `database_url`.
    /// Its login role must be a member of `db_role` that owns nothing (docs/operations.md).
    pub database_pooled_url: Option<String>,
    /// One NATS server's URL, or several separated by commas (`NATS_URL`, as the `nats` CLI
    /// takes them): the client starts with whichever answers, so a replica starts while one
    /// node of a NATS cluster is down. Once connected it learns the cluster's other servers.
    pub nats_url: String,
    /// The deployment name (`RI_DEPLOYMENT`, default `ri`): it prefixes the NATS JetStream
    /// stream names and subjects (`RI_EVENTS` on `ri.evt.>`, `RI_NOTIFICATIONS` on `ri.ntf.>`),
    /// so deployments sharing a NATS server never see each other's messages. 1 to 32 of a-z,
    /// 0-9, `_` and `-`.
    pub deployment: String,
    pub listen: SocketAddr,
    /// The role service connections switch to; empty keeps the login role.
    pub db_role: String,
    pub db_max_connections: u32,
    pub statement_timeout_ms: u64,
    pub idle_in_transaction_timeout_ms: u64,
    pub snapshot_every: usize,
    pub projection_batch_size: i64,
    /// Events the relay publishes before it waits for their acknowledgements.
    pub relay_batch_size: i64,
    /// The longest pause between retries of the relays (events, notifications) and between
    /// reconnects to NATS while it is down: they resume within about this after it returns.
    pub relay_max_backoff_ms: u64,
    /// Replicas of the JetStream streams (`RI_STREAM_REPLICAS`, 1 to 5): 3 on a NATS cluster
    /// in production (deploy/README.md), 1 on a single server.
    pub stream_replicas: usize,
    /// The `iss` every token must carry (and minted tokens get).
    pub jwt_issuer: String,
    /// The `aud` every token must carry (and minted tokens get).
    pub jwt_audience: String,
    /// The subjects (`sub` claims) who are platform admins, whatever tenant their token names
    /// (`RI_PLATFORM_ADMINS=ana,root`, or a TOML list). No tenant can grant this role; none by
    /// default.
    #[serde(deserialize_with = "subjects")]
    pub platform_admins: Vec<String>,
    /// The HS256 secret (`RI_JWT_SECRET`); unused when `jwt_public_key_file` is set.
    pub jwt_secret: Secret,
    /// A PEM RSA public key (`RI_JWT_PUBLIC_KEY_FILE`): when set, tokens are RS256 and verified
    /// with it (production).
    pub jwt_public_key_file: Option<PathBuf>,
    /// This service's address as browsers reach it (`RI_PUBLIC_URL`, `https://invest.example`):
    /// the OpenID redirect URI is `<public_url>/auth/callback`, and cookies are `Secure` when
    /// it is https. Default: `http://<listen>`.
    pub public_url: Option<String>,
    /// The secret browser sessions are signed with (`RI_SESSION_SECRET`, 32 bytes or more, the
    /// same on every replica). Without it, sessions are signed with the HS256 token secret
    /// when tokens are HS256 (development), and the web interface cannot sign anyone in when
    /// they are RS256.
    pub session_secret: Option<Secret>,
    /// How long a browser session lasts before the person signs in again.
    pub session_ttl_minutes: u64,
    /// The OpenID provider's issuer URL (`RI_OIDC_ISSUER`): the web interface signs people in
    /// through it (authorization code flow with PKCE). None by default.
    pub oidc_issuer: Option<String>,
    /// This service's client id at the provider.
    pub oidc_client_id: String,
    /// Its client secret (`RI_OIDC_CLIENT_SECRET`); none for a public client.
    pub oidc_client_secret: Option<Secret>,
    /// What the sign-in button names the provider: "Sign in with …".
    pub oidc_name: String,
    /// The development sign-in (`RI_DEV_SIGN_IN=true`): the sign-in form takes a pasted token
    /// (`regional-invest token`). Off by default; never switch it on in production.
    pub dev_sign_in: bool,
    /// GraphiQL on `GET /graphql` for browsers (development).
    pub graphiql: bool,
    /// Schema introspection (development; switch off in production).
    pub graphql_introspection: bool,
    /// How long one GraphQL request may run before it is stopped and answered UNAVAILABLE.
    pub graphql_timeout_ms: u64,
    /// Operations one GraphQL batch may hold (signed-in callers only); larger ones are refused.
    pub graphql_max_batch: usize,
    /// The proxies whose `X-Forwarded-For` names the client, as addresses or CIDR networks
    /// (`RI_TRUSTED_PROXIES=10.0.0.0/8,::1`, or a TOML list). None by default: the peer's
    /// address is the client's.
    pub trusted_proxies: TrustedProxies,
    /// On SIGTERM or SIGINT: how long `/readyz` answers 503 (and WebSockets are closed with
    /// 1012) before the listener stops, so balancers route around this process first.
    pub drain_delay_ms: u64,
    /// Whether the public search is answered from this process's in-memory index (issue 12);
    /// off, every search reads PostgreSQL (the baseline of the HTTP benchmark).
    pub search_index: bool,
    /// How long a query with `consistentWith` waits for this replica to have read that far in
    /// the log before answering UNAVAILABLE.
    pub consistency_wait_ms: u64,
    /// How long a search as of a past moment (`instruments(…, asOf)`) may take, waiting for
    /// another one's build included, before it answers UNAVAILABLE. Below
    /// `graphql_timeout_ms`, or the request's own limit answers first.
    pub search_history_timeout_ms: u64,
    /// The most instruments (drafts included) a moment may have held for a search as of it;
    /// a moment with more is refused (BAD_USER_INPUT on `asOf`). Bounds its memory.
    pub search_history_max_instruments: usize,
    /// Historical search indexes kept for the next pages (each about as large as the live
    /// index); 0 keeps none.
    pub search_history_cache: usize,
    /// How often open calls past their deadline are looked for and closed.
    pub expiry_interval_ms: u64,
    /// The weights project–instrument matches are scored with (`[matching_weights]` in the
    /// TOML file; docs/matching.md). Missing fields keep their defaults.
    pub matching_weights: WeightsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "postgres://postgres@127.0.0.1:5432/regional_invest".to_owned(),
            database_pooled_url: None,
            nats_url: "nats://127.0.0.1:4222".to_owned(),
            deployment: ri_relay::Deployment::DEFAULT.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db_role: "ri_app".to_owned(),
            db_max_connections: 16,
            statement_timeout_ms: 30_000,
            idle_in_transaction_timeout_ms: 60_000,
            snapshot_every: 20,
            projection_batch_size: 1000,
            relay_batch_size: 500,
            relay_max_backoff_ms: 2_000,
            stream_replicas: 1,
            drain_delay_ms: 3_000,
            search_index: true,
            consistency_wait_ms: 5_000,
            search_history_timeout_ms: 9_000,
            search_history_max_instruments: 150_000,
            search_history_cache: 1,
            jwt_issuer: "regional-invest".to_owned(),
            jwt_audience: "regional-invest".to_owned(),
            platform_admins: Vec::new(),
            jwt_secret: Secret::new(DEV_JWT_SECRET),
            jwt_public_key_file: None,
            public_url: None,
            session_secret: None,
            session_ttl_minutes: 8 * 60,
            oidc_issuer: None,
            oidc_client_id: "regional-invest".to_owned(),
            oidc_client_secret: None,
            oidc_name: "your organisation's account".to_owned(),
            dev_sign_in: false,
            graphiql: true,
            graphql_introspection: true,
            graphql_timeout_ms: ri_api::graphql::DEFAULT_REQUEST_TIMEOUT
                .as_millis()
                .try_into()
                .unwrap_or(u64::MAX),
            graphql_max_batch: ri_api::graphql::DEFAULT_MAX_BATCH,
            trusted_proxies: TrustedProxies::none(),
            expiry_interval_ms: 10_000,
            matching_weights: WeightsConfig::default(),
        }
    }
}

/// A list of subjects: a TOML (or `[a,b]`) list, or one string of names separated by commas.
fn subjects<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Subjects {
        List(Vec<String>),
        Text(String),
        // `RI_PLATFORM_ADMINS=1042`: the environment provider reads a number.
        Number(u64),
    }
    let list = match Subjects::deserialize(d)? {
        Subjects::List(list) => list,
        Subjects::Text(text) => text.split(',').map(str::to_owned).collect(),
        Subjects::Number(n) => vec![n.to_string()],
    };
    Ok(list
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect())
}

impl Config {
    pub fn load() -> Result<Self, Box<figment::Error>> {
        let file = std::env::var("RI_CONFIG").unwrap_or_else(|_| "regional-invest.toml".to_owned());
        let mut figment = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            // `RI_LOG_FORMAT` is telemetry's, read before the configuration.
            .merge(Env::prefixed("RI_").ignore(&[
                "config",
                "log_format",
                "jwt_secret",
                "session_secret",
                "oidc_client_secret",
            ]))
            .merge(Env::raw().only(&["database_url", "nats_url"]));
        // Taken verbatim: figment would parse `RI_JWT_SECRET=12345` or `[a]` as a number or an
        // array, and a secret is always a string.
        for (variable, key) in [
            ("RI_JWT_SECRET", "jwt_secret"),
            ("RI_SESSION_SECRET", "session_secret"),
            ("RI_OIDC_CLIENT_SECRET", "oidc_client_secret"),
        ] {
            if let Ok(secret) = std::env::var(variable) {
                figment = figment.merge(Serialized::default(key, secret));
            }
        }
        figment.extract().map_err(Box::new)
    }

    /// Whether tokens are verified with [`DEV_JWT_SECRET`], which anyone can mint tokens with.
    pub fn uses_dev_secret(&self) -> bool {
        self.jwt_public_key_file.is_none() && self.jwt_secret.expose() == DEV_JWT_SECRET
    }

    /// How tokens are verified: RS256 with the public key read from `jwt_public_key_file` when
    /// set (the secret is then not passed on), HS256 with `jwt_secret` otherwise.
    pub fn auth(&self) -> anyhow::Result<AuthConfig> {
        let rs256_public_key_pem = match &self.jwt_public_key_file {
            Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
                format!("could not read the JWT public key file {}", path.display())
            })?),
            None => None,
        };
        Ok(AuthConfig {
            issuer: self.jwt_issuer.clone(),
            audience: self.jwt_audience.clone(),
            hs256_secret: rs256_public_key_pem
                .is_none()
                .then(|| self.jwt_secret.expose().to_owned()),
            rs256_public_key_pem,
            rs256_private_key_pem: None,
        })
    }

    /// The NATS servers of `nats_url`, split at commas (blanks around them ignored). A value
    /// naming none is passed on whole, so that connecting fails with it in the message.
    pub fn nats_urls(&self) -> Vec<&str> {
        let urls: Vec<&str> = self
            .nats_url
            .split(',')
            .map(str::trim)
            .filter(|url| !url.is_empty())
            .collect();
        if urls.is_empty() {
            vec![self.nats_url.as_str()]
        } else {
            urls
        }
    }

    /// The checked deployment name; an error names it and the rule.
    pub fn deployment(&self) -> anyhow::Result<ri_relay::Deployment> {
        ri_relay::Deployment::parse(&self.deployment)
            .with_context(|| "the deployment configuration (RI_DEPLOYMENT) is refused")
    }

    /// The checked replica count of the JetStream streams (JetStream allows 1 to 5).
    pub fn stream_replicas(&self) -> anyhow::Result<usize> {
        if (1..=5).contains(&self.stream_replicas) {
            Ok(self.stream_replicas)
        } else {
            anyhow::bail!(
                "the stream replicas configuration (RI_STREAM_REPLICAS) is refused: {} is not \
                 1 to 5",
                self.stream_replicas
            )
        }
    }

    /// The checked matching weights; an error names the bad setting.
    pub fn matching_weights(&self) -> anyhow::Result<Weights> {
        Weights::new(self.matching_weights)
            .with_context(|| "the matching_weights configuration is refused")
    }

    /// The address browsers reach this service at, without a trailing slash.
    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
            .trim_end_matches('/')
            .to_owned()
    }

    /// How browser sessions are signed: `None` when there is no secret to sign them with (RS256
    /// tokens and no `session_secret`).
    pub fn sessions(&self) -> Option<SessionConfig> {
        let secret = match (&self.session_secret, &self.jwt_public_key_file) {
            (Some(secret), _) => secret.expose().to_owned(),
            (None, None) => self.jwt_secret.expose().to_owned(),
            (None, Some(_)) => return None,
        };
        Some(SessionConfig {
            secret,
            ttl: Duration::from_secs(self.session_ttl_minutes.saturating_mul(60)),
            secure: self.public_url().starts_with("https://"),
        })
    }

    /// The OpenID relying party's settings, when a provider is configured.
    pub fn oidc(&self) -> Option<OidcConfig> {
        let issuer = self.oidc_issuer.as_ref().filter(|i| !i.trim().is_empty())?;
        Some(OidcConfig {
            issuer: issuer.clone(),
            client_id: self.oidc_client_id.clone(),
            client_secret: self
                .oidc_client_secret
                .as_ref()
                .map(|s| s.expose().to_owned()),
            public_url: self.public_url(),
            display_name: self.oidc_name.clone(),
        })
    }

    /// The GraphQL endpoint's settings.
    pub fn graphql(&self) -> GraphqlConfig {
        GraphqlConfig {
            graphiql: self.graphiql,
            max_batch: self.graphql_max_batch,
            request_timeout: Duration::from_millis(self.graphql_timeout_ms),
            trusted_proxies: self.trusted_proxies.clone(),
            drain: tokio_util::sync::CancellationToken::new(),
        }
    }

    /// The bounds of searches as of a past moment.
    pub fn search_history(&self) -> ri_projections::search_index::HistoryConfig {
        ri_projections::search_index::HistoryConfig {
            timeout: Duration::from_millis(self.search_history_timeout_ms),
            max_instruments: self.search_history_max_instruments,
            cache_entries: self.search_history_cache,
            ..ri_projections::search_index::HistoryConfig::default()
        }
    }

    pub fn db(&self) -> DbConfig {
        DbConfig {
            url: self.database_url.clone(),
            app_role: (!self.db_role.is_empty()).then(|| self.db_role.clone()),
            statement_timeout: Duration::from_millis(self.statement_timeout_ms),
            idle_in_transaction_timeout: Duration::from_millis(self.idle_in_transaction_timeout_ms),
            max_connections: self.db_max_connections,
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's own signature
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn environment_overrides_file_overrides_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "regional-invest.toml",
                "listen = \"0.0.0.0:9000\"\nsnapshot_every = 7",
            )?;
            jail.set_env("RI_LISTEN", "127.0.0.1:9001");
            jail.set_env("RI_LOG_FORMAT", "text");
            jail.set_env("DATABASE_URL", "postgres://u@db/x");
            jail.set_env("RI_DATABASE_POOLED_URL", "postgres://svc@pgbouncer:6432/x");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.database_pooled_url.as_deref(),
                Some("postgres://svc@pgbouncer:6432/x")
            );
            assert_eq!(Config::default().database_pooled_url, None);
            assert_eq!(config.listen, SocketAddr::from(([127, 0, 0, 1], 9001)));
            assert_eq!(config.snapshot_every, 7);
            assert_eq!(config.database_url, "postgres://u@db/x");
            assert_eq!(config.nats_url, Config::default().nats_url);
            Ok(())
        });
    }

    #[test]
    fn jwt_settings_come_from_the_environment() {
        Jail::expect_with(|jail| {
            let defaults = Config::load().map_err(|e| e.to_string())?;
            assert!(defaults.uses_dev_secret());
            assert_eq!(defaults.jwt_issuer, "regional-invest");
            assert_eq!(defaults.jwt_audience, "regional-invest");
            let auth = defaults.auth().map_err(|e| e.to_string())?;
            assert_eq!(auth.hs256_secret.as_deref(), Some(DEV_JWT_SECRET));
            assert_eq!(auth.rs256_public_key_pem, None);

            // A secret of digits stays a string, leading zeros and all.
            jail.set_env("RI_JWT_SECRET", "0123456789012345678901234567890123456789");
            jail.set_env("RI_JWT_ISSUER", "https://id.example");
            jail.set_env("RI_JWT_AUDIENCE", "ri-api");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.jwt_secret.expose(),
                "0123456789012345678901234567890123456789"
            );
            assert!(!config.uses_dev_secret());
            assert_eq!(config.jwt_issuer, "https://id.example");
            assert_eq!(config.jwt_audience, "ri-api");

            jail.create_file("jwt.pem", "-----BEGIN PUBLIC KEY-----\n")?;
            jail.set_env("RI_JWT_PUBLIC_KEY_FILE", "jwt.pem");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.jwt_public_key_file, Some(PathBuf::from("jwt.pem")));
            let auth = config.auth().map_err(|e| e.to_string())?;
            assert_eq!(
                auth.rs256_public_key_pem.as_deref(),
                Some("-----BEGIN PUBLIC KEY-----\n")
            );
            assert_eq!(auth.hs256_secret, None);

            jail.set_env("RI_JWT_PUBLIC_KEY_FILE", "missing.pem");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert!(config.auth().is_err());
            Ok(())
        });
    }

    #[test]
    fn the_dev_secret_is_in_use_only_without_a_secret_or_a_public_key() {
        let config = Config {
            jwt_public_key_file: Some(PathBuf::from("/etc/regional-invest/jwt.pem")),
            ..Config::default()
        };
        assert!(!config.uses_dev_secret());
    }

    #[test]
    fn debug_output_redacts_the_jwt_secret() {
        let config = Config {
            jwt_secret: Secret::new("s3cr3t-that-must-not-leak-into-any-log"),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("jwt_secret: Secret([redacted])"), "{shown}");
        assert!(!format!("{:?}", Config::default()).contains(DEV_JWT_SECRET));
        let auth = config.auth().unwrap();
        assert!(!format!("{auth:?}").contains("s3cr3t"));
    }

    #[test]
    fn matching_weights_come_from_the_file_and_are_checked() {
        Jail::expect_with(|jail| {
            let defaults = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                defaults
                    .matching_weights()
                    .map_err(|e| e.to_string())?
                    .config(),
                ri_matching::Weights::default().config()
            );
            jail.create_file(
                "regional-invest.toml",
                "[matching_weights]\nstage_bonus = 0.5\n[matching_weights.categories]\ngeneral = 0.0\n",
            )?;
            let config = Config::load().map_err(|e| e.to_string())?;
            let weights = config.matching_weights().map_err(|e| e.to_string())?;
            assert_eq!(weights.stage_bonus(), 0.5);
            assert_eq!(weights.config().categories.general, 0.0);
            // The others keep their defaults.
            assert_eq!(weights.config().categories.technique, 1.0);

            // From the environment, a TOML inline table.
            jail.set_env("RI_MATCHING_WEIGHTS", "{stage_bonus = 0.3}");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.matching_weights.stage_bonus, 0.3);
            jail.set_env("RI_MATCHING_WEIGHTS", "{}");

            jail.create_file(
                "regional-invest.toml",
                "[matching_weights]\nstage_bonus = 2.0\n",
            )?;
            let config = Config::load().map_err(|e| e.to_string())?;
            let refused = config.matching_weights().map(|_| ()).unwrap_err();
            assert!(
                format!("{refused:#}").contains("stage_bonus"),
                "{refused:#}"
            );

            jail.create_file(
                "regional-invest.toml",
                "[matching_weights]\nstage_bonnus = 0.5\n",
            )?;
            assert!(Config::load().is_err());
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_come_from_the_environment_or_the_file_and_default_to_none() {
        Jail::expect_with(|jail| {
            let defaults = Config::load().map_err(|e| e.to_string())?;
            assert!(defaults.trusted_proxies.is_empty());
            assert!(defaults.graphql().trusted_proxies.is_empty());
            assert_eq!(defaults.graphql().max_batch, 10);
            assert_eq!(defaults.graphql().request_timeout, Duration::from_secs(10));

            jail.create_file(
                "regional-invest.toml",
                "trusted_proxies = [\"10.0.0.0/8\", \"::1\"]\ngraphql_timeout_ms = 2500",
            )?;
            let config = Config::load().map_err(|e| e.to_string())?;
            assert!(
                config
                    .trusted_proxies
                    .contains("10.1.2.3".parse().map_err(|_| "ip")?)
            );
            assert!(
                !config
                    .trusted_proxies
                    .contains("192.168.0.1".parse().map_err(|_| "ip")?)
            );
            assert_eq!(
                config.graphql().request_timeout,
                Duration::from_millis(2500)
            );

            jail.set_env("RI_TRUSTED_PROXIES", "127.0.0.1");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert!(
                config
                    .trusted_proxies
                    .contains("127.0.0.1".parse().map_err(|_| "ip")?)
            );
            assert!(
                !config
                    .trusted_proxies
                    .contains("10.1.2.3".parse().map_err(|_| "ip")?)
            );
            jail.set_env("RI_TRUSTED_PROXIES", "192.168.0.0/16,fd00::/8");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert!(
                config
                    .trusted_proxies
                    .contains("192.168.4.4".parse().map_err(|_| "ip")?)
            );
            assert!(
                config
                    .trusted_proxies
                    .contains("fd00::9".parse().map_err(|_| "ip")?)
            );

            jail.set_env("RI_TRUSTED_PROXIES", "10.0.0.0/40");
            assert!(Config::load().is_err());
            Ok(())
        });
    }

    #[test]
    fn platform_admins_are_none_unless_named_in_the_environment_or_the_file() {
        Jail::expect_with(|jail| {
            assert!(
                Config::load()
                    .map_err(|e| e.to_string())?
                    .platform_admins
                    .is_empty()
            );
            jail.create_file("regional-invest.toml", "platform_admins = [\"ops\"]")?;
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.platform_admins, ["ops"]);
            // A UUID subject, as Keycloak issues, and spaces around the commas.
            jail.set_env(
                "RI_PLATFORM_ADMINS",
                "root, 5b0c2a4e-8f0d-4c5e-9a1b-2c3d4e5f6a7b ,",
            );
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.platform_admins,
                ["root", "5b0c2a4e-8f0d-4c5e-9a1b-2c3d4e5f6a7b"]
            );
            jail.set_env("RI_PLATFORM_ADMINS", "1042");
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(config.platform_admins, ["1042"]);
            jail.set_env("RI_PLATFORM_ADMINS", "");
            assert!(
                Config::load()
                    .map_err(|e| e.to_string())?
                    .platform_admins
                    .is_empty()
            );
            Ok(())
        });
    }

    #[test]
    fn the_deployment_name_comes_from_the_environment_and_is_checked() {
        Jail::expect_with(|jail| {
            let defaults = Config::load().map_err(|e| e.to_string())?;
            let deployment = defaults.deployment().map_err(|e| e.to_string())?;
            assert_eq!(deployment.event_stream(), "RI_EVENTS");
            assert_eq!(deployment.notification_subject_prefix(), "ri.ntf");

            jail.set_env("RI_DEPLOYMENT", "staging");
            let config = Config::load().map_err(|e| e.to_string())?;
            let deployment = config.deployment().map_err(|e| e.to_string())?;
            assert_eq!(deployment.event_stream(), "STAGING_EVENTS");
            assert_eq!(deployment.event_subject_prefix(), "staging.evt");

            jail.set_env("RI_DEPLOYMENT", "Staging.EU");
            let config = Config::load().map_err(|e| e.to_string())?;
            let refused = config.deployment().map(|_| ()).unwrap_err();
            let shown = format!("{refused:#}");
            assert!(
                shown.contains("RI_DEPLOYMENT") && shown.contains("\"Staging.EU\""),
                "{shown}"
            );
            Ok(())
        });
    }

    #[test]
    fn stream_replicas_come_from_the_environment_and_are_checked() {
        Jail::expect_with(|jail| {
            let replicas = |c: Config| c.stream_replicas().map_err(|e| e.to_string());
            assert_eq!(replicas(Config::load().map_err(|e| e.to_string())?)?, 1);
            jail.set_env("RI_STREAM_REPLICAS", "3");
            assert_eq!(replicas(Config::load().map_err(|e| e.to_string())?)?, 3);
            jail.set_env("RI_STREAM_REPLICAS", "7");
            let config = Config::load().map_err(|e| e.to_string())?;
            let refused = replicas(config).unwrap_err();
            assert!(refused.contains("RI_STREAM_REPLICAS"), "{refused}");
            Ok(())
        });
    }

    #[test]
    fn nats_url_may_name_several_servers() {
        Jail::expect_with(|jail| {
            let defaults = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(defaults.nats_urls(), ["nats://127.0.0.1:4222"]);
            jail.set_env(
                "NATS_URL",
                "nats://10.0.0.1:4222, nats://10.0.0.2:4222,nats://10.0.0.3:4222,",
            );
            let config = Config::load().map_err(|e| e.to_string())?;
            assert_eq!(
                config.nats_urls(),
                [
                    "nats://10.0.0.1:4222",
                    "nats://10.0.0.2:4222",
                    "nats://10.0.0.3:4222"
                ]
            );
            Ok(())
        });
    }

    #[test]
    fn a_misspelt_setting_is_an_error_not_ignored() {
        Jail::expect_with(|jail| {
            jail.create_file("regional-invest.toml", "snapshot_evry = 7")?;
            assert!(Config::load().is_err());
            Ok(())
        });
    }
}

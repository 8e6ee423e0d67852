//! The service started in-process on port 0 against a fresh database, and a GraphQL client.

#![allow(dead_code, unreachable_pub)] // each test binary uses its own part of this module

use std::time::{Duration, Instant};

pub mod load;
pub mod pgbouncer;
pub mod scale;

use regional_invest::{App, Config};
use ri_domain::{Role, TenantSlug};
use serde_json::{Value, json};

pub struct TestApp {
    pub app: App,
    pub config: Config,
    pub http: reqwest::Client,
    /// The pooler requests go through, with `TEST_THROUGH_PGBOUNCER=1`.
    pub bouncer: Option<pgbouncer::PgBouncer>,
}

pub fn operation(name: &str) -> String {
    let path = format!(
        "{}/../../graphql/operations/{name}.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A deployment name of its own for one test's service: tests share one NATS server, and
/// with the default `ri` a test's subscription received another test's events whenever their
/// tenant slugs were the same. Streams of test deployments an hour old are deleted first, so
/// the shared server does not collect a pair of streams per test run forever.
pub fn test_deployment() -> String {
    static PRUNED: std::sync::Once = std::sync::Once::new();
    PRUNED.call_once(prune_old_test_streams);
    format!(
        "{TEST_DEPLOYMENT_PREFIX}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

/// Test deployment names start with this; their streams with it upper-cased.
pub const TEST_DEPLOYMENT_PREFIX: &str = "t-";

/// Deletes the streams of test deployments created more than an hour ago (a test never runs
/// that long). Best effort: a test does not fail because another run deleted one first.
fn prune_old_test_streams() {
    // Its own thread and runtime: called from inside a test's runtime, which must not block.
    let pruned = std::thread::spawn(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            use futures_util::StreamExt;
            let nats = async_nats::connect(Config::default().nats_url).await.ok()?;
            let jetstream = async_nats::jetstream::new(nats);
            let prefix = TEST_DEPLOYMENT_PREFIX.to_ascii_uppercase();
            let cutoff = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
            let mut old = Vec::new();
            let mut streams = jetstream.streams();
            while let Some(Ok(info)) = streams.next().await {
                if info.config.name.starts_with(&prefix) && info.created < cutoff {
                    old.push(info.config.name.clone());
                }
            }
            for name in &old {
                let _ = jetstream.delete_stream(name).await;
            }
            Some(())
        })
    });
    let _ = pruned.join();
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let mut config = Config {
            database_url: format!(
                "{}/ri_test_{}",
                ri_testkit::server_url(),
                uuid::Uuid::new_v4().simple()
            ),
            listen: "127.0.0.1:0".parse().unwrap(),
            deployment: test_deployment(),
            platform_admins: vec!["admin".to_owned(), "root".to_owned()],
            ..Config::default()
        };
        adjust(&mut config);
        // Any test's requests may be sent through PgBouncer in transaction mode, to find a
        // query of the request path that needs a session (docs/operations.md#pgbouncer). Not
        // an `RI_` variable: the service would refuse it as an unknown setting.
        let mut bouncer = None;
        if std::env::var_os("TEST_THROUGH_PGBOUNCER").is_some()
            && config.database_pooled_url.is_none()
        {
            regional_invest::migrate(&config).await.unwrap();
            let owner = sqlx::PgPool::connect(&config.database_url).await.unwrap();
            pgbouncer::ensure_pooled_role(&owner).await;
            owner.close().await;
            let started = pgbouncer::PgBouncer::start(&config.database_url);
            config.database_pooled_url =
                Some(started.url(&config.database_url, pgbouncer::POOLED_ROLE));
            bouncer = Some(started);
        }
        let app = App::start(&config, true).await.unwrap();
        Self {
            app,
            config,
            http: reqwest::Client::new(),
            bouncer,
        }
    }

    /// This app's deployment: its NATS streams and subjects.
    pub fn deployment(&self) -> ri_relay::Deployment {
        self.config.deployment().unwrap()
    }

    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.app.addr)
    }

    /// A token for `sub` acting for `tenant`, who holds `roles` there: the roles are granted in
    /// the tenant's events first (as a platform admin would), when the tenant is registered and
    /// active; a test of an unregistered or suspended tenant gets a token that holds nothing.
    /// `platform_admin` is not granted: the test configuration names `admin` and `root`.
    pub async fn token(&self, sub: &str, tenant: &str, roles: &[Role]) -> String {
        let slug = TenantSlug::parse(tenant).unwrap();
        let platform = roles.contains(&Role::PlatformAdmin);
        assert!(
            !platform || self.config.platform_admins.iter().any(|a| a == sub),
            "{sub} is not a platform admin of the test configuration"
        );
        let granted: Vec<Role> = roles
            .iter()
            .copied()
            .filter(|r| *r != Role::PlatformAdmin)
            .collect();
        if !granted.is_empty() {
            let commands = ri_app::App::new(self.app.log.clone());
            let status = commands.tenant(&slug).await.unwrap().status;
            if status == ri_domain::tenant::TenantStatus::Active {
                regional_invest::grant_roles(&self.app.log, &slug, sub, &granted)
                    .await
                    .unwrap();
            }
        }
        self.identity(sub, tenant)
    }

    /// A token for `sub` acting for `tenant`, granting nothing by itself.
    pub fn identity(&self, sub: &str, tenant: &str) -> String {
        ri_api::mint_token(
            &self.config.auth().unwrap(),
            sub,
            &TenantSlug::parse(tenant).unwrap(),
            Duration::from_secs(600),
        )
        .unwrap()
    }

    /// POSTs an operation; returns the HTTP status and the JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut request = self
            .http
            .post(self.url())
            .header("accept", "application/graphql-response+json")
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Runs the example mutation `name` (graphql/operations), which must succeed; returns its
    /// `data` and its `logPosition` (for `consistentWith`).
    pub async fn mutate(&self, token: &str, name: &str, variables: Value) -> (Value, String) {
        let (status, body) = self.gql(Some(token), &operation(name), variables).await;
        assert!(status == 200 && body["errors"].is_null(), "{name}: {body}");
        let at = body["extensions"]["logPosition"]
            .as_str()
            .unwrap_or_else(|| panic!("{name}: no logPosition in {body}"))
            .to_owned();
        (body["data"].clone(), at)
    }

    /// The caller's notifications once there are at least `n`, oldest first.
    pub async fn notifications(&self, token: &str, n: usize) -> Vec<Value> {
        let body = self
            .eventually_with(
                |body| {
                    body["data"]["notifications"]["nodes"]
                        .as_array()
                        .is_some_and(|nodes| nodes.len() >= n)
                },
                &operation("Notifications"),
                json!({"first": 50}),
                Some(token),
            )
            .await;
        let mut nodes = body["data"]["notifications"]["nodes"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        nodes.reverse();
        nodes
    }

    /// Runs an operation that must succeed; returns its `data`.
    pub async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let (status, body) = self.gql(token, query, variables).await;
        assert!(
            status == 200 && body.get("errors").is_none(),
            "{status}: {body}"
        );
        body["data"].clone()
    }

    /// Runs an operation that must fail; returns the first error's code and field.
    pub async fn error(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
    ) -> (String, Option<String>) {
        let (_, body) = self.gql(token, query, variables).await;
        let error = &body["errors"][0];
        assert!(error.is_object(), "expected an error, got {body}");
        (
            error["extensions"]["code"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
            error["extensions"]["field"].as_str().map(str::to_owned),
        )
    }

    pub async fn event_count(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM events")
            .fetch_one(self.app.log.pool())
            .await
            .unwrap()
    }

    /// Registers a tenant as a platform admin and waits until its curators may write.
    pub async fn tenant(&self, slug: &str, country: &str) {
        let admin = self
            .token("admin", "platform", &[Role::PlatformAdmin])
            .await;
        self.ok(
            Some(&admin),
            &operation("RegisterTenant"),
            json!({"input": {"slug": slug, "name": format!("{slug} cluster"), "kind": "AMBASSADOR_CLUSTER", "country": country}}),
        )
        .await;
        self.eventually(
            |body| body["data"]["tenant"]["slug"] == slug,
            "query { tenant(slug: \"".to_owned() + slug + "\") { slug } }",
            None,
        )
        .await;
    }

    /// Polls a query until `done` holds for its response (projections follow the log).
    pub async fn eventually(
        &self,
        done: impl Fn(&Value) -> bool,
        query: String,
        token: Option<&str>,
    ) -> Value {
        self.eventually_with(done, &query, json!({}), token).await
    }

    pub async fn eventually_with(
        &self,
        done: impl Fn(&Value) -> bool,
        query: &str,
        variables: Value,
        token: Option<&str>,
    ) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (_, body) = self.gql(token, query, variables.clone()).await;
            if done(&body) {
                return body;
            }
            assert!(Instant::now() < deadline, "never became true: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A call's input for `draftInstrument`.
/// A tenant slug no other test uses (tests share one database).
pub fn unique_slug() -> String {
    format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

pub fn call(title: &str, country: &str) -> Value {
    json!({
        "title": title,
        "kind": "CALL",
        "coverLevel": "NATIONAL",
        "countries": [country],
        "summary": "Support for prototyping security technology.",
        "targetOrganisations": ["SME"],
        "languages": ["en"],
        "funding": {"min": 10000, "max": 60000, "currency": "EUR"}
    })
}

impl TestApp {
    /// A second server process (in-process) on this app's database: it shares the log, the
    /// projections and the relay (whichever process holds their locks runs them) and NATS.
    pub async fn start_beside(&self) -> TestApp {
        let database_url = self.config.database_url.clone();
        let deployment = self.config.deployment.clone();
        TestApp::start_with(|c| {
            c.database_url = database_url;
            c.deployment = deployment;
        })
        .await
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql", self.app.addr)
    }
}

/// How long a test waits for a message it expects on a GraphQL WebSocket.
pub const WS_WAIT: Duration = Duration::from_secs(30);

type WsStream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A `graphql-transport-ws` client, speaking the protocol message by message.
pub struct GraphqlSocket {
    ws: WsStream,
}

impl GraphqlSocket {
    /// Opens a socket to the app's `/graphql` and sends `connection_init` with `payload`.
    pub async fn open(app: &TestApp, payload: Option<Value>) -> Self {
        Self::open_url(&app.ws_url(), payload).await
    }

    /// Opens a socket to the GraphQL endpoint at `url` (`ws://…/graphql`) and sends
    /// `connection_init` with `payload`.
    pub async fn open_url(url: &str, payload: Option<Value>) -> Self {
        use tokio_tungstenite::tungstenite::client::IntoClientRequest;
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let (ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("graphql-transport-ws")
        );
        let mut socket = Self { ws };
        let init = match payload {
            Some(payload) => json!({"type": "connection_init", "payload": payload}),
            None => json!({"type": "connection_init"}),
        };
        socket.send(init).await;
        socket
    }

    /// Opens a socket signed in with `token` and waits for `connection_ack`.
    pub async fn signed_in(app: &TestApp, token: &str) -> Self {
        Self::signed_in_at(&app.ws_url(), token).await
    }

    /// Opens a socket to `url` signed in with `token` and waits for `connection_ack`.
    pub async fn signed_in_at(url: &str, token: &str) -> Self {
        let mut socket = Self::open_url(
            url,
            Some(json!({"authorization": format!("Bearer {token}")})),
        )
        .await;
        let ack = socket.message(WS_WAIT).await;
        assert_eq!(
            ack.as_ref().map(|m| &m["type"]),
            Some(&json!("connection_ack")),
            "{ack:?}"
        );
        socket
    }

    pub async fn send(&mut self, message: Value) {
        use futures_util::SinkExt;
        self.ws
            .send(tokio_tungstenite::tungstenite::Message::Text(
                message.to_string().into(),
            ))
            .await
            .unwrap();
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({"id": id, "type": "subscribe", "payload": {"query": query, "variables": variables}}))
            .await;
    }

    /// The next protocol message within `wait`; `None` when none came. Panics on a close.
    pub async fn message(&mut self, wait: Duration) -> Option<Value> {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?;
            match next {
                Some(Ok(Message::Text(text))) => return Some(serde_json::from_str(&text).unwrap()),
                Some(Ok(Message::Close(frame))) => {
                    panic!("the server closed the socket: {frame:?}")
                }
                Some(Ok(_)) => {}
                other => panic!("the socket failed: {other:?}"),
            }
        }
    }

    /// The payload of the next `next` message of subscription `id` within `wait`.
    pub async fn next(&mut self, id: &str, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let message = self
                .message(deadline.saturating_duration_since(tokio::time::Instant::now()))
                .await?;
            match message["type"].as_str() {
                Some("next") if message["id"] == id => return Some(message["payload"].clone()),
                Some("ping") => self.send(json!({"type": "pong"})).await,
                Some("error" | "complete") if message["id"] == id => {
                    panic!("subscription {id} ended: {message}")
                }
                _ => {}
            }
        }
    }

    /// Waits for the server to close the socket; returns the close code.
    pub async fn closed(&mut self) -> u16 {
        use futures_util::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        loop {
            let next = tokio::time::timeout(WS_WAIT, self.ws.next())
                .await
                .expect("the server did not close the socket");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(Message::Close(None))) => panic!("closed without a code"),
                Some(Ok(_)) => {}
                other => panic!("the socket ended without a close frame: {other:?}"),
            }
        }
    }
}

/// Runs `probe` (something that records an event the subscription `id` delivers) until one
/// arrives: core NATS delivers only what is published after the server subscribed, and the
/// protocol does not say when that is. Returns the probe's event.
pub async fn until_live<F: AsyncFnMut()>(
    socket: &mut GraphqlSocket,
    id: &str,
    mut probe: F,
) -> Value {
    for _ in 0..6 {
        probe().await;
        if let Some(payload) = socket.next(id, Duration::from_secs(5)).await {
            return payload;
        }
    }
    panic!("subscription {id} delivered none of the probes");
}

//! The service started in-process on port 0 against a fresh database, and a GraphQL client.

#![allow(dead_code, unreachable_pub)] // each test binary uses its own part of this module

use std::time::{Duration, Instant};

use regional_invest::{App, Config};
use ri_domain::{Role, TenantSlug};
use serde_json::{Value, json};

pub struct TestApp {
    pub app: App,
    pub config: Config,
    pub http: reqwest::Client,
}

pub fn operation(name: &str) -> String {
    let path = format!(
        "{}/../../graphql/operations/{name}.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
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
            ..Config::default()
        };
        adjust(&mut config);
        let app = App::start(&config, true).await.unwrap();
        Self {
            app,
            config,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/graphql", self.app.addr)
    }

    pub fn token(&self, sub: &str, tenant: &str, roles: &[Role]) -> String {
        ri_api::mint_token(
            &self.config.auth().unwrap(),
            sub,
            &TenantSlug::parse(tenant).unwrap(),
            roles,
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
        let admin = self.token("admin", "platform", &[Role::PlatformAdmin]);
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

//! The data generator's GraphQL client, and tokens minted by the service's own `token`
//! command (one source of truth for the claims; ri-load links none of the service's crates, so
//! building it does not rebuild them with goose's feature set).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// An error a GraphQL response carried, by its `extensions.code`.
#[derive(Debug)]
pub(crate) struct GraphqlError {
    pub(crate) operation: &'static str,
    pub(crate) code: String,
    pub(crate) body: Value,
}

impl std::fmt::Display for GraphqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} failed with {}: {}",
            self.operation, self.code, self.body
        )
    }
}

impl std::error::Error for GraphqlError {}

/// The first error code of a GraphQL response body, if it has errors.
pub(crate) fn error_code(body: &Value) -> Option<String> {
    let errors = body.get("errors")?.as_array()?;
    let first = errors.first()?;
    Some(
        first["extensions"]["code"]
            .as_str()
            .unwrap_or("UNKNOWN")
            .to_owned(),
    )
}

#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    url: String,
    pub(crate) requests: AtomicU64,
}

impl Client {
    pub(crate) fn new(base: &str) -> anyhow::Result<Self> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            url: format!("{}/graphql", base.trim_end_matches('/')),
            requests: AtomicU64::new(0),
        })
    }

    /// Runs `operation`; its `data`, or the response's first error. A transport error or a
    /// non-JSON answer is retried a few times (the service may be momentarily saturated by
    /// the generator itself); a GraphQL error is returned for the caller to judge.
    pub(crate) async fn call(
        &self,
        token: Option<&str>,
        operation: &'static str,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        self.send(token, None, operation, query, variables).await
    }

    /// Runs an anonymous `operation` as a client at `address` (`X-Forwarded-For`; the
    /// service trusts the generator as a proxy).
    pub(crate) async fn call_from(
        &self,
        address: &str,
        operation: &'static str,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        self.send(None, Some(address), operation, query, variables)
            .await
    }

    async fn send(
        &self,
        token: Option<&str>,
        address: Option<&str>,
        operation: &'static str,
        query: &str,
        variables: Value,
    ) -> anyhow::Result<Value> {
        let body = json!({"query": query, "variables": variables, "operationName": operation});
        let mut attempt = 0u32;
        loop {
            attempt = attempt.saturating_add(1);
            self.requests.fetch_add(1, Ordering::Relaxed);
            let mut request = self
                .http
                .post(&self.url)
                .header("accept", "application/graphql-response+json")
                .json(&body);
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            if let Some(address) = address {
                request = request.header("x-forwarded-for", address);
            }
            let answer = match request.send().await {
                Ok(response) => response.json::<Value>().await.map_err(anyhow::Error::from),
                Err(e) => Err(e.into()),
            };
            match answer {
                Ok(answer) => {
                    if let Some(code) = error_code(&answer) {
                        if code == "UNAVAILABLE" && attempt < 5 {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue;
                        }
                        return Err(GraphqlError {
                            operation,
                            code,
                            body: answer,
                        }
                        .into());
                    }
                    return Ok(answer["data"].clone());
                }
                Err(e) if attempt < 5 => {
                    tracing_note(operation, &e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(e.context(format!("{operation} failed"))),
            }
        }
    }

    /// Polls `query` until `done` holds (read models follow the log).
    pub(crate) async fn eventually(
        &self,
        token: Option<&str>,
        operation: &'static str,
        query: &str,
        variables: Value,
        done: impl Fn(&Value) -> bool,
    ) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let data = self
                .call(token, operation, query, variables.clone())
                .await?;
            if done(&data) {
                return Ok(data);
            }
            if tokio::time::Instant::now() > deadline {
                bail!("{operation} never showed what was written: {data}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn tracing_note(operation: &str, error: &anyhow::Error) {
    eprintln!("[ri-load] {operation}: {error:#}; retrying");
}

/// Mints development tokens with `regional-invest token` (RI_JWT_SECRET and the rest of the
/// service's configuration come from the environment, as for the service).
#[derive(Debug, Clone)]
pub(crate) struct Minter {
    pub(crate) binary: PathBuf,
}

impl Minter {
    pub(crate) fn mint(
        &self,
        tenant: &str,
        subject: &str,
        roles: &[&str],
    ) -> anyhow::Result<String> {
        let mut command = std::process::Command::new(&self.binary);
        command.args([
            "token",
            "--tenant",
            tenant,
            "--sub",
            subject,
            "--ttl-hours",
            "24",
        ]);
        for role in roles {
            command.args(["--role", role]);
        }
        let output = command
            .output()
            .with_context(|| format!("could not run {}", self.binary.display()))?;
        if !output.status.success() {
            bail!(
                "{} token failed: {}",
                self.binary.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let token = String::from_utf8(output.stdout)?.trim().to_owned();
        if token.is_empty() {
            bail!("{} token printed nothing", self.binary.display());
        }
        Ok(token)
    }
}

//! `/healthz` (the process answers), `/readyz` (it has started and its dependencies answer)
//! and `/metrics`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
use serde_json::json;
use sqlx::PgPool;

/// A dependency that does not answer within this is not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Debug)]
pub struct AppState {
    pub db: PgPool,
    pub nats: async_nats::Client,
    pub metrics: PrometheusHandle,
    pub startup: Startup,
}

/// Whether the process has finished starting (migrations, the seed when asked for, read
/// models caught up with the log as it stood at start); until then `/readyz` names what it
/// waits for. Once started it stays started until it drains.
#[derive(Clone, Debug, Default)]
pub struct Startup(Arc<Mutex<Option<String>>>);

impl Startup {
    /// Not started yet: waiting for `what`.
    pub fn waiting(what: impl Into<String>) -> Self {
        Self(Arc::new(Mutex::new(Some(what.into()))))
    }

    /// Started already (nothing to wait for).
    pub fn started() -> Self {
        Self::default()
    }

    /// Now waiting for `what` (no effect once started).
    pub fn wait_for(&self, what: impl Into<String>) {
        if let Ok(mut state) = self.0.lock()
            && state.is_some()
        {
            *state = Some(what.into());
        }
    }

    /// Shutting down: `/readyz` answers 503 again, whatever it said, so balancers stop sending
    /// new requests while those in flight finish.
    pub fn drain(&self) {
        if let Ok(mut state) = self.0.lock() {
            *state = Some("draining: the process is shutting down".to_owned());
        }
    }

    pub fn finish(&self) {
        if let Ok(mut state) = self.0.lock() {
            *state = None;
        }
    }

    /// What it still waits for; `None` once started.
    pub fn pending(&self) -> Option<String> {
        match self.0.lock() {
            Ok(state) => state.clone(),
            Err(_) => Some("startup state unreadable".to_owned()),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

async fn readyz(State(state): State<AppState>) -> Response {
    let postgres = async {
        // The simple protocol: one message, fine through a pooler in transaction mode.
        sqlx::raw_sql("SELECT 1")
            .execute(&state.db)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let nats = async {
        // A flush is a round trip to the server: it fails while disconnected.
        state.nats.flush().await.map_err(|e| e.to_string())
    };
    let (postgres, nats) = tokio::join!(probe(postgres), probe(nats));
    let pending = state.startup.pending();
    let ready = postgres.is_ok() && nats.is_ok() && pending.is_none();
    let show = |r: Result<(), String>| match r {
        Ok(()) => json!("ok"),
        Err(e) => json!({ "error": e }),
    };
    let body = json!({
        "status": if ready { "ready" } else { "unavailable" },
        "postgres": show(postgres),
        "nats": show(nats),
        "startup": match pending {
            None => json!("ok"),
            Some(what) => json!({ "waiting": what }),
        },
    });
    let status = if ready {
        StatusCode::OK
    } else {
        tracing::warn!(%body, "not ready");
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body)).into_response()
}

async fn probe(check: impl Future<Output = Result<(), String>>) -> Result<(), String> {
    match tokio::time::timeout(PROBE_TIMEOUT, check).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

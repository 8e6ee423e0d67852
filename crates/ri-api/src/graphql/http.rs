//! GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): POST with a JSON body and
//! GET with query parameters (queries only), content negotiation between
//! `application/graphql-response+json` and `application/json`, and status codes that say
//! whether the request could be executed. GraphiQL on `GET /graphql` for browsers, when enabled.
//!
//! Subscriptions: a `GET /graphql` asking to upgrade to a WebSocket speaks `graphql-transport-ws`
//! (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md; the legacy `graphql-ws`
//! too). The caller signs in with the `connection_init` payload, `{"authorization": "Bearer
//! <token>"}` (or `"Authorization"`, or `"token": "<token>"`), verified like the HTTP header; a
//! missing or bad token closes the socket with 4403, a `subscribe` before `connection_ack` with
//! 4401, no `connection_init` within 10 s with 4408. A `connection_init` without a token is
//! signed in by the web interface's session cookie sent with the upgrade, but only when the
//! upgrade's `Origin` is this service's own (`session::from_own_pages`): cross-site WebSocket
//! hijacking gains nothing.

use std::net::SocketAddr;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, BatchResponse, Executor, ServerError};
use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::Gateway;
use super::error::Code;
use crate::access::Access;
use crate::auth::Principal;
use crate::trace::adopt_remote_parent;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
/// Larger request bodies (and WebSocket messages) are refused before parsing.
pub(super) const MAX_BODY: usize = 256 * 1024;

pub(crate) use super::client_ip::ClientIp;
use super::client_ip::TrustedProxies;

/// Operations one batch may hold (batches are for signed-in callers only).
pub const DEFAULT_MAX_BATCH: usize = 10;
/// How long one request (a whole batch) may run before it is answered UNAVAILABLE.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct GraphqlConfig {
    pub graphiql: bool,
    /// Operations one batch may hold; a larger batch is refused whole.
    pub max_batch: usize,
    /// How long a request may run; past it the caller gets UNAVAILABLE (and the work stops).
    pub request_timeout: Duration,
    /// Whose `X-Forwarded-For` names the client (for per-address rate limits).
    pub trusted_proxies: TrustedProxies,
    /// Cancelled when the process starts to shut down: every WebSocket is closed with 1012
    /// ("service restart"), so clients reconnect to another replica.
    pub drain: CancellationToken,
}

impl Default for GraphqlConfig {
    fn default() -> Self {
        Self {
            graphiql: false,
            max_batch: DEFAULT_MAX_BATCH,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            trusted_proxies: TrustedProxies::none(),
            drain: CancellationToken::new(),
        }
    }
}

#[derive(Clone)]
pub(super) struct GraphqlState {
    pub(super) schema: Gateway,
    pub(super) access: Access,
    pub(super) config: GraphqlConfig,
}

pub fn routes(schema: Gateway, access: Access, config: GraphqlConfig) -> Router {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .with_state(GraphqlState {
            schema,
            access,
            config,
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
}

/// The response media type the client accepts, preferring the GraphQL one. No Accept header
/// (or `*/*`) means legacy `application/json`.
fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(MediaType::Json);
    };
    let types: Vec<&str> = accept
        .split(',')
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .collect();
    if types.contains(&GRAPHQL_RESPONSE) {
        Some(MediaType::GraphqlResponse)
    } else if types
        .iter()
        .any(|t| *t == JSON || *t == "*/*" || *t == "application/*")
    {
        Some(MediaType::Json)
    } else {
        None
    }
}

fn error_body(code: Code, message: &str) -> async_graphql::Response {
    let mut err = ServerError::new(message, None);
    err.extensions = Some({
        let mut ext = async_graphql::ErrorExtensionValues::default();
        ext.set("code", code.as_str());
        ext
    });
    async_graphql::Response::from_errors(vec![err])
}

fn respond(media: MediaType, status: StatusCode, body: &impl serde::Serialize) -> Response {
    let content_type = match media {
        MediaType::GraphqlResponse => GRAPHQL_RESPONSE,
        MediaType::Json => JSON,
    };
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            bytes,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialize a GraphQL response");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// A request that could not be run at all: 400 for the new media type, 200 for legacy JSON
/// (as the spec requires of each).
fn rejected(media: MediaType, status: StatusCode, code: Code, message: &str) -> Response {
    let status = match media {
        MediaType::GraphqlResponse => status,
        MediaType::Json if status == StatusCode::UNAUTHORIZED => status,
        MediaType::Json => StatusCode::OK,
    };
    let mut response = respond(media, status, &without_data(&error_body(code, message)));
    // UNAVAILABLE says when to try again.
    if code == Code::Unavailable {
        response.headers_mut().insert(
            header::RETRY_AFTER,
            HeaderValue::from(ri_app::RETRY_AFTER_SECONDS),
        );
    }
    response
}

#[derive(Debug, Deserialize)]
struct GetParams {
    query: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

async fn get_graphql(
    State(state): State<GraphqlState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
    Query(params): Query<GetParams>,
) -> Response {
    let wants_websocket = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if wants_websocket {
        return match upgrade {
            Ok(upgrade) => super::socket::websocket(state, upgrade, &headers),
            Err(rejection) => rejection.into_response(),
        };
    }
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if params.query.is_none() && wants_html && state.config.graphiql {
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    let Some(media) = negotiate(&headers) else {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    };
    let Some(query) = params.query else {
        return rejected(
            media,
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "missing `query`",
        );
    };
    let mut request = async_graphql::Request::new(query);
    request.operation_name = params.operation_name;
    for (raw, target) in [(params.variables, 0), (params.extensions, 1)] {
        let Some(raw) = raw else { continue };
        match serde_json::from_str::<serde_json::Value>(&raw) {
            Ok(value) if target == 0 => {
                request.variables = async_graphql::Variables::from_json(value);
            }
            Ok(_) => {}
            Err(_) => {
                let field = if target == 0 {
                    "variables"
                } else {
                    "extensions"
                };
                return rejected(
                    media,
                    StatusCode::BAD_REQUEST,
                    Code::BadUserInput,
                    &format!("`{field}` is not JSON"),
                );
            }
        }
    }
    let client = ClientIp::of(
        &headers,
        peer.map(|Extension(ConnectInfo(p))| p),
        &state.config.trusted_proxies,
    );
    execute(
        state,
        headers,
        client,
        media,
        BatchRequest::Single(request),
        Method::GET,
    )
    .await
}

async fn post_graphql(
    State(state): State<GraphqlState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(media) = negotiate(&headers) else {
        return StatusCode::NOT_ACCEPTABLE.into_response();
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with(JSON));
    if !json {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send application/json").into_response();
    }
    if body.len() > MAX_BODY {
        return rejected(
            media,
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::BadUserInput,
            "request too large",
        );
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(e) => {
            // 400 for either media type (a SHOULD of GraphQL over HTTP for JSON that does not
            // parse, and nothing was run).
            let mut reply = rejected(
                media,
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                &format!("the body is not a GraphQL request: {e}"),
            );
            *reply.status_mut() = StatusCode::BAD_REQUEST;
            return reply;
        }
    };
    let client = ClientIp::of(
        &headers,
        peer.map(|Extension(ConnectInfo(p))| p),
        &state.config.trusted_proxies,
    );
    execute(state, headers, client, media, batch, Method::POST).await
}

async fn execute(
    state: GraphqlState,
    headers: HeaderMap,
    client: ClientIp,
    media: MediaType,
    batch: BatchRequest,
    method: Method,
) -> Response {
    let span = tracing::info_span!(
        "graphql",
        otel.kind = "server",
        tenant.id = tracing::field::Empty
    );
    adopt_remote_parent(&span, &headers);
    let principal = match state.access.principal_of(&headers).await {
        Ok(p) => p,
        Err(e) => {
            let status = match e.code {
                Code::Unauthenticated => StatusCode::UNAUTHORIZED,
                // The caller's grants could not be read.
                Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return rejected(media, status, e.code, &e.message);
        }
    };
    if let Some(tenant) = principal.tenant() {
        span.record("tenant.id", tenant.as_str());
    }
    if matches!(batch, BatchRequest::Batch(_)) && principal == Principal::Anonymous {
        return rejected(
            media,
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "batched requests need a signed-in caller",
        );
    }
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > state.config.max_batch
    {
        return rejected(
            media,
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            &format!(
                "a batch may hold at most {} operations; this one holds {}",
                state.config.max_batch,
                requests.len()
            ),
        );
    }
    if method == Method::GET
        && let BatchRequest::Single(request) = &batch
        && is_mutation(&request.query)
    {
        let mut r = rejected(
            media,
            StatusCode::METHOD_NOT_ALLOWED,
            Code::BadUserInput,
            "mutations need POST",
        );
        *r.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let batch = batch.data(principal).data(client);
    // Where the request's commands committed: handed back for read-your-writes.
    let commits = ri_app::Commits::default();
    let run = commits.scope(tracing::Instrument::instrument(
        state.schema.execute_batch(batch),
        span,
    ));
    let Ok(response) = tokio::time::timeout(state.config.request_timeout, run).await else {
        tracing::warn!(
            timeout_ms = state.config.request_timeout.as_millis(),
            "GraphQL request timed out"
        );
        return rejected(
            media,
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            &format!(
                "the request took longer than {} ms and was stopped; ask for less",
                state.config.request_timeout.as_millis()
            ),
        );
    };
    let response = with_log_position(with_codes(response), &commits);
    // Parse, validation and cost errors carry no path: the request was not executed.
    let not_run = |r: &async_graphql::Response| {
        r.data == async_graphql::Value::Null
            && r.is_err()
            && r.errors.iter().all(|e| e.path.is_empty())
    };
    let failed = |r: &async_graphql::Response| r.data == async_graphql::Value::Null && r.is_err();
    let mut reply = match (&response, media) {
        // Not executed: no `data` entry at all, and 400 for the GraphQL media type.
        (BatchResponse::Single(r), MediaType::GraphqlResponse) if not_run(r) => {
            respond(media, StatusCode::BAD_REQUEST, &without_data(r))
        }
        (BatchResponse::Single(r), MediaType::Json) if not_run(r) => {
            respond(media, StatusCode::OK, &without_data(r))
        }
        (BatchResponse::Single(r), MediaType::GraphqlResponse) if failed(r) => {
            respond(media, StatusCode::BAD_REQUEST, &response)
        }
        _ => respond(media, StatusCode::OK, &response),
    };
    // Headers resolvers set (`Retry-After` on RATE_LIMITED).
    reply.headers_mut().extend(response.http_headers());
    reply
}

/// A response that was never executed, as GraphQL over HTTP asks: its errors, no `data`.
fn without_data(response: &async_graphql::Response) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert("errors".to_owned(), serde_json::json!(response.errors));
    if !response.extensions.is_empty() {
        body.insert(
            "extensions".to_owned(),
            serde_json::json!(response.extensions),
        );
    }
    serde_json::Value::Object(body)
}

/// Whether the document's selected operation is a mutation, by a cheap parse.
fn is_mutation(query: &str) -> bool {
    match async_graphql::parser::parse_query(query) {
        Ok(doc) => doc
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == async_graphql::parser::types::OperationType::Mutation),
        Err(_) => false,
    }
}

/// A request that committed commands says where: `extensions.logPosition` of each response
/// (and the `RI-Log-Position` header), the token a search takes as `consistentWith`.
fn with_log_position(response: BatchResponse, commits: &ri_app::Commits) -> BatchResponse {
    let Some(at) = commits.last() else {
        return response;
    };
    let mark = |mut r: async_graphql::Response| {
        r.extensions.insert(
            "logPosition".to_owned(),
            async_graphql::Value::String(at.to_string()),
        );
        if let Ok(value) = HeaderValue::from_str(&at.to_string()) {
            r.http_headers.insert(LOG_POSITION, value);
        }
        r
    };
    match response {
        BatchResponse::Single(r) => BatchResponse::Single(mark(r)),
        BatchResponse::Batch(rs) => BatchResponse::Batch(rs.into_iter().map(mark).collect()),
    }
}

/// The response header that carries a mutation's log position.
const LOG_POSITION: &str = "ri-log-position";

/// Every error gets a code: parse and validation errors (which carry none) are BAD_USER_INPUT.
fn with_codes(response: BatchResponse) -> BatchResponse {
    let fix = |mut r: async_graphql::Response| {
        for e in &mut r.errors {
            let has_code = e
                .extensions
                .as_ref()
                .is_some_and(|x| x.get("code").is_some());
            if !has_code {
                let ext = e.extensions.get_or_insert_with(Default::default);
                ext.set("code", Code::BadUserInput.as_str());
            }
        }
        r
    };
    match response {
        BatchResponse::Single(r) => BatchResponse::Single(fix(r)),
        BatchResponse::Batch(rs) => BatchResponse::Batch(rs.into_iter().map(fix).collect()),
    }
}

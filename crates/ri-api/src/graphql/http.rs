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
//! 4401, no `connection_init` within 10 s with 4408. Cross-site
//! WebSocket hijacking gains nothing: no cookie or ambient credential signs a socket in.

use std::future::ready;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use async_graphql::http::{
    ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource, WebSocket as GraphqlWebSocket, WebSocketProtocols,
    WsMessage,
};
use async_graphql::{BatchRequest, BatchResponse, Data, ServerError};
use axum::Extension;
use axum::Router;
use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;

use super::ApiSchema;
use super::error::Code;
use crate::auth::{Authenticator, Principal, authorization_header};
use crate::trace::adopt_remote_parent;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
/// Larger request bodies (and WebSocket messages) are refused before parsing.
const MAX_BODY: usize = 256 * 1024;
/// A socket that has not sent `connection_init` by then is closed (4408).
const CONNECTION_INIT_TIMEOUT: Duration = Duration::from_secs(10);

/// `graphql-transport-ws` close codes.
const CLOSE_UNAUTHORIZED: u16 = 4401;
const CLOSE_FORBIDDEN: u16 = 4403;
const CLOSE_INIT_TIMEOUT: u16 = 4408;
/// A close frame's reason has at most this many bytes (RFC 6455, section 5.5).
const MAX_CLOSE_REASON: usize = 123;

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
struct GraphqlState {
    schema: ApiSchema,
    auth: Authenticator,
    config: GraphqlConfig,
}

pub fn routes(schema: ApiSchema, auth: Authenticator, config: GraphqlConfig) -> Router {
    Router::new()
        .route("/graphql", get(get_graphql).post(post_graphql))
        .with_state(GraphqlState {
            schema,
            auth,
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
    respond(media, status, &without_data(&error_body(code, message)))
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
            Ok(upgrade) => websocket(state, upgrade),
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

/// Upgrades to a GraphQL WebSocket, `graphql-transport-ws` preferred.
fn websocket(state: GraphqlState, upgrade: WebSocketUpgrade) -> Response {
    let upgrade = upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .max_message_size(MAX_BODY)
        .max_frame_size(MAX_BODY);
    let Some(protocol) = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(|p| p.parse::<WebSocketProtocols>().ok())
    else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the WebSocket subprotocol graphql-transport-ws",
        )
            .into_response();
    };
    upgrade.on_upgrade(move |socket| serve_socket(socket, state, protocol))
}

/// The close code of a socket closed because this process shuts down (RFC 6455 "service
/// restart"): the client should reconnect, and the balancer sends it to another replica.
const CLOSE_SERVICE_RESTART: u16 = 1012;

/// How far a socket's `connection_init` got.
const INIT_PENDING: u8 = 0;
const INIT_ACCEPTED: u8 = 1;
const INIT_REFUSED: u8 = 2;

/// Runs one GraphQL WebSocket until either side closes it. async-graphql speaks the protocol;
/// this signs the caller in from `connection_init` and gives its refusals the protocol's close
/// codes (async-graphql closes a refused `connection_init` with 1002 and an early `subscribe`
/// with 1011).
async fn serve_socket(socket: WebSocket, state: GraphqlState, protocol: WebSocketProtocols) {
    let (mut sink, incoming) = socket.split();
    let incoming = incoming.take_while(|m| ready(m.is_ok())).filter_map(|m| {
        ready(match m {
            Ok(Message::Text(text)) => Some(Bytes::from(text)),
            Ok(Message::Binary(bytes)) => Some(bytes),
            _ => None,
        })
    });
    let init = Arc::new(AtomicU8::new(INIT_PENDING));
    let outcome = init.clone();
    let auth = state.auth.clone();
    let mut outgoing = GraphqlWebSocket::new(state.schema.clone(), incoming, protocol)
        .on_connection_init(move |payload| {
            let signed_in = sign_in(&auth, &payload);
            let state = if signed_in.is_ok() {
                INIT_ACCEPTED
            } else {
                INIT_REFUSED
            };
            outcome.store(state, Ordering::Release);
            ready(signed_in.map(|principal| {
                let mut data = Data::default();
                data.insert(principal);
                data
            }))
        });
    let deadline = tokio::time::sleep(CONNECTION_INIT_TIMEOUT);
    tokio::pin!(deadline);
    loop {
        let next = tokio::select! {
            next = outgoing.next() => next,
            () = &mut deadline, if init.load(Ordering::Acquire) == INIT_PENDING => Some(
                WsMessage::Close(CLOSE_INIT_TIMEOUT, "Connection initialisation timeout".into()),
            ),
            () = state.config.drain.cancelled() => Some(WsMessage::Close(
                CLOSE_SERVICE_RESTART,
                "Service restart: reconnect".into(),
            )),
        };
        let message = match next {
            Some(WsMessage::Text(text)) => Message::Text(text.into()),
            Some(WsMessage::Close(code, reason)) => {
                close(protocol_close(code, reason, init.load(Ordering::Acquire)))
            }
            None => {
                // The client left, or (legacy protocol) was told `connection_error`.
                let refused = init.load(Ordering::Acquire) == INIT_REFUSED;
                let (code, reason) = if refused {
                    (CLOSE_FORBIDDEN, "Forbidden".to_owned())
                } else {
                    (1000, String::new())
                };
                let _ = sink.send(close((code, reason))).await;
                break;
            }
        };
        let closing = matches!(message, Message::Close(_));
        if sink.send(message).await.is_err() || closing {
            break;
        }
    }
}

/// The close code and reason the protocol asks for, given how far `connection_init` got.
fn protocol_close(code: u16, reason: String, init: u8) -> (u16, String) {
    match init {
        INIT_REFUSED => (CLOSE_FORBIDDEN, reason),
        INIT_PENDING if code == 1011 => (CLOSE_UNAUTHORIZED, "Unauthorized".to_owned()),
        _ => (code, reason),
    }
}

fn close((code, mut reason): (u16, String)) -> Message {
    if reason.len() > MAX_CLOSE_REASON {
        let mut end = MAX_CLOSE_REASON;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The caller named by a `connection_init` payload: `authorization` (or `Authorization`) as in
/// the HTTP header, or `token`, the bare token. Subscriptions need a signed-in caller, so no
/// token is refused like a bad one.
fn sign_in(auth: &Authenticator, payload: &serde_json::Value) -> async_graphql::Result<Principal> {
    let field = |name: &str| payload.get(name).and_then(serde_json::Value::as_str);
    let authorization = match (
        field("authorization").or_else(|| field("Authorization")),
        field("token"),
    ) {
        (Some(header), _) => header.to_owned(),
        (None, Some(token)) if token.contains(' ') => token.to_owned(),
        (None, Some(token)) => format!("Bearer {token}"),
        (None, None) => {
            return Err(async_graphql::Error::new(
                "Forbidden: connection_init needs {\"authorization\": \"Bearer <token>\"}",
            ));
        }
    };
    match auth.authenticate(Some(&authorization)) {
        Ok(principal @ Principal::User(_)) => Ok(principal),
        Ok(Principal::Anonymous) => Err(async_graphql::Error::new("Forbidden: sign in")),
        Err(e) => Err(async_graphql::Error::new(format!("Forbidden: {e}"))),
    }
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
    let principal = match authorization_header(&headers)
        .and_then(|authorization| state.auth.authenticate(authorization))
    {
        Ok(p) => p,
        Err(e) => {
            return rejected(
                media,
                StatusCode::UNAUTHORIZED,
                Code::Unauthenticated,
                &e.to_string(),
            );
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
    let run = tracing::Instrument::instrument(state.schema.execute_batch(batch), span);
    let Ok(response) = tokio::time::timeout(state.config.request_timeout, run).await else {
        tracing::warn!(
            timeout_ms = state.config.request_timeout.as_millis(),
            "GraphQL request timed out"
        );
        let mut reply = rejected(
            media,
            StatusCode::SERVICE_UNAVAILABLE,
            Code::Unavailable,
            &format!(
                "the request took longer than {} ms and was stopped; ask for less",
                state.config.request_timeout.as_millis()
            ),
        );
        reply
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return reply;
    };
    let response = with_codes(response);
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

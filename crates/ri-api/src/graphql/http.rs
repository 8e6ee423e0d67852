//! GraphQL over HTTP (https://graphql.github.io/graphql-over-http/): POST with a JSON body and
//! GET with query parameters (queries only), content negotiation between
//! `application/graphql-response+json` and `application/json`, and status codes that say
//! whether the request could be executed. GraphiQL on `GET /graphql` for browsers, when enabled.

use async_graphql::http::GraphiQLSource;
use async_graphql::{BatchRequest, BatchResponse, ServerError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::ApiSchema;
use super::error::Code;
use crate::auth::{Authenticator, Principal};
use crate::trace::adopt_remote_parent;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";
const JSON: &str = "application/json";
/// Larger request bodies are refused before parsing.
const MAX_BODY: usize = 256 * 1024;

#[derive(Clone, Debug)]
pub struct GraphqlConfig {
    pub graphiql: bool,
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
    respond(media, status, &error_body(code, message))
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
    headers: HeaderMap,
    Query(params): Query<GetParams>,
) -> Response {
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
    execute(
        state,
        headers,
        media,
        BatchRequest::Single(request),
        Method::GET,
    )
    .await
}

async fn post_graphql(
    State(state): State<GraphqlState>,
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
            return rejected(
                media,
                StatusCode::BAD_REQUEST,
                Code::BadUserInput,
                &format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    execute(state, headers, media, batch, Method::POST).await
}

async fn execute(
    state: GraphqlState,
    headers: HeaderMap,
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
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let principal = match state.auth.authenticate(authorization) {
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
    let response =
        tracing::Instrument::instrument(state.schema.execute_batch(batch.data(principal)), span)
            .await;
    let response = with_codes(response);
    let status = match (&response, media) {
        // A single request that failed to parse or validate was not executed: no data.
        (BatchResponse::Single(r), MediaType::GraphqlResponse)
            if r.data == async_graphql::Value::Null && r.is_err() =>
        {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::OK,
    };
    respond(media, status, &response)
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

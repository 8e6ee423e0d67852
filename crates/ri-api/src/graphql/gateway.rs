//! The one way into the schema, for HTTP and WebSocket alike: the cost limits of [`cost`]
//! (before anything else reads the document), the operation metrics of
//! [`crate::http_metrics`], and `Retry-After` on UNAVAILABLE.
//!
//! Not async-graphql extensions: with any extension installed, async-graphql resolves every
//! field through the extension chain (a type-registry lookup, a `ResolveInfo` and a boxed
//! future per extension, per field), which made a search page of 20 instruments with its
//! facets (about 800 fields) cost milliseconds of CPU. None of these needs a field hook.

use std::any::TypeId;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::futures_util::stream::{self, BoxStream, StreamExt};
use async_graphql::parser::types::DocumentOperations;
use async_graphql::{Data, Executor, Request, Response, ServerError};
use axum::http::HeaderValue;
use ri_app::RETRY_AFTER_SECONDS;

use super::ApiSchema;
use super::cost::{self, CostLimits, SchemaShape};
use super::error::Code;
use crate::auth::Principal;
use crate::http_metrics::{self, Open};

/// The schema with what every request passes through.
#[derive(Clone)]
pub struct Gateway {
    schema: ApiSchema,
    shape: Arc<SchemaShape>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").finish_non_exhaustive()
    }
}

impl Gateway {
    pub(super) fn new(schema: ApiSchema, shape: SchemaShape) -> Self {
        Self {
            schema,
            shape: Arc::new(shape),
        }
    }

    /// Parses the request once (async-graphql reuses the document) and refuses it when it is
    /// over the caller's limits. A parse error is async-graphql's own.
    fn admit(&self, request: &mut Request, session: Option<&Data>) -> Result<(), ServerError> {
        let signed_in = [Some(&request.data), session]
            .into_iter()
            .flatten()
            .find_map(|data| data.get(&TypeId::of::<Principal>()))
            .and_then(|p| p.downcast_ref::<Principal>())
            .is_some_and(|p| matches!(p, Principal::User(_)));
        let limits = if signed_in {
            CostLimits::SIGNED_IN
        } else {
            CostLimits::ANONYMOUS
        };
        let variables = request.variables.clone();
        let document = request.parsed_query()?;
        cost::admit(document, &variables, &self.shape, &limits).map_err(|message| {
            tracing::info!(%message, "query refused by its cost");
            cost::refused(message)
        })
    }
}

/// The name of the operation the request runs: the one it names, else its document's only
/// operation's (as async-graphql selects it).
fn operation_name(request: &mut Request) -> Option<String> {
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    match &request.parsed_query().ok()?.operations {
        DocumentOperations::Multiple(operations) if operations.len() == 1 => {
            operations.keys().next().map(ToString::to_string)
        }
        _ => None,
    }
}

/// Sets `Retry-After` on a response that carries an UNAVAILABLE error, so that clients (and
/// proxies) know to try again, and when.
fn retry_after(mut response: Response) -> Response {
    let unavailable = response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from(Code::Unavailable.as_str()))
    });
    if unavailable && !response.http_headers.contains_key("retry-after") {
        response
            .http_headers
            .insert("retry-after", HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

impl Executor for Gateway {
    async fn execute(&self, mut request: Request) -> Response {
        let started = Instant::now();
        let admitted = self.admit(&mut request, None);
        let name = operation_name(&mut request);
        let response = match admitted {
            Ok(()) => self.schema.execute(request).await,
            Err(refusal) => Response::from_errors(vec![refusal]),
        };
        http_metrics::operation_done(name.as_deref(), started, &response);
        retry_after(response)
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if let Err(refusal) = self.admit(&mut request, session_data.as_deref()) {
            return stream::once(async move { Response::from_errors(vec![refusal]) }).boxed();
        }
        let open = Open::new("ri_graphql_subscriptions");
        self.schema
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(move |response| {
                let _held = &open;
                retry_after(response)
            })
            .boxed()
    }
}

//! Request metrics in `/metrics` (issue 14), after the OpenTelemetry HTTP semantic conventions:
//!
//! - `http_server_request_duration_seconds` (`http.server.request.duration`): a histogram by
//!   `http_request_method`, `http_route` (the matched route, never the raw path) and
//!   `http_response_status_code`;
//! - `graphql_operation_duration_seconds` and `graphql_operation_errors_total` by
//!   `graphql_operation_name` (and the error's `code`): the operation's name, not its text,
//!   with bounded cardinality: `anonymous` without a name, `other` once [`MAX_OPERATION_NAMES`]
//!   distinct names have been seen or for a name that is not a plain identifier;
//! - `ri_websocket_connections` and `ri_graphql_subscriptions`: gauges of what is open now.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;

/// Distinct operation names given a label of their own; later names count as `other`.
pub const MAX_OPERATION_NAMES: usize = 200;

/// The duration histograms' buckets, in seconds (OpenTelemetry's advice for
/// `http.server.request.duration`).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Axum middleware: times every request by its matched route.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "other".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    metrics::histogram!(
        "http_server_request_duration_seconds",
        "http_request_method" => method,
        "http_route" => route,
        "http_response_status_code" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// The label an operation name gets.
fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let plain = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !plain {
        return "other".to_owned();
    }
    let Ok(mut seen) = SEEN.get_or_init(Mutex::default).lock() else {
        return "other".to_owned();
    };
    if seen.contains(name) || seen.len() < MAX_OPERATION_NAMES {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Records an operation's duration and its errors by code.
pub(crate) fn operation_done(
    operation_name: Option<&str>,
    started: Instant,
    response: &async_graphql::Response,
) {
    let name = operation_label(operation_name);
    metrics::histogram!("graphql_operation_duration_seconds", "graphql_operation_name" => name.clone())
        .record(started.elapsed().as_secs_f64());
    for error in &response.errors {
        let code = error
            .extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .and_then(|c| match c {
                async_graphql::Value::String(s) => Some(s.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "BAD_USER_INPUT".to_owned());
        metrics::counter!(
            "graphql_operation_errors_total",
            "graphql_operation_name" => name.clone(),
            "code" => code,
        )
        .increment(1);
    }
}

/// One open thing (a socket, a subscription) in a gauge, for as long as it lives.
#[derive(Debug)]
pub struct Open(&'static str);

impl Open {
    pub fn new(gauge: &'static str) -> Self {
        metrics::gauge!(gauge).increment(1.0);
        Self(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_labels_stay_few_and_plain() {
        assert_eq!(operation_label(None), "anonymous");
        assert_eq!(
            operation_label(Some("SearchInstruments")),
            "SearchInstruments"
        );
        for odd in ["", "a b", "drop;table", "1abc", &"x".repeat(65)] {
            assert_eq!(operation_label(Some(odd)), "other", "{odd:?}");
        }
        for i in 0..(2 * MAX_OPERATION_NAMES) {
            operation_label(Some(&format!("Op{i}")));
        }
        assert_eq!(operation_label(Some("NeverSeenBefore")), "other");
        assert_eq!(
            operation_label(Some("SearchInstruments")),
            "SearchInstruments"
        );
    }
}

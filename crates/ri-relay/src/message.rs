//! How an event becomes a NATS message: subject, headers (CloudEvents 1.0 binary mode) and body;
//! and how the trace goes on across the hop: the publish span is a child of the event's
//! `traceparent`, and the message carries the publish span's own context ([`trace_publish`]).

use async_nats::HeaderMap;
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use ri_eventstore::StoredEvent;
use time::format_description::well_known::Rfc3339;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::RelayError;

/// `ce-source` prefix; the rest is `/<tenant>/<aggregate type>/<aggregate id>`.
pub const SOURCE_PREFIX: &str = "/regional-invest";
/// `ce-type` prefix; the rest is `.<aggregate>.<event>.v<version>`, lower-case.
pub const TYPE_PREFIX: &str = "eu.regional-invest";

/// A message ready to publish.
#[derive(Debug, Clone)]
pub struct Outbound {
    pub subject: String,
    pub headers: HeaderMap,
    pub payload: Vec<u8>,
}

/// `<prefix>.<tenant>.<aggregate>.<event>`, the last three lower-cased. A token that would
/// change the subject's shape (empty, or with `.`, `*`, `>` or white space) is an error: the
/// relay stalls on it rather than publish where no consumer looks.
pub fn subject(prefix: &str, event: &StoredEvent) -> Result<String, RelayError> {
    let tokens = [
        event.tenant.to_lowercase(),
        event.aggregate_type.to_lowercase(),
        event.event_type.to_lowercase(),
    ];
    let subject = format!("{prefix}.{}.{}.{}", tokens[0], tokens[1], tokens[2]);
    for token in &tokens {
        if token.is_empty() {
            return Err(subject_error(event, subject, "empty token"));
        }
        if token
            .chars()
            .any(|c| c == '.' || c == '*' || c == '>' || c.is_whitespace() || c.is_control())
        {
            return Err(subject_error(
                event,
                subject,
                "token with '.', '*', '>' or white space",
            ));
        }
    }
    Ok(subject)
}

fn subject_error(event: &StoredEvent, subject: String, reason: &'static str) -> RelayError {
    RelayError::Subject {
        event_id: event.event_id.to_string(),
        subject,
        reason,
    }
}

/// The message for `event` on `<prefix>.<tenant>.<aggregate>.<event>`.
pub fn outbound(prefix: &str, event: &StoredEvent) -> Result<Outbound, RelayError> {
    let subject = subject(prefix, event)?;
    let id = event.event_id.to_string();
    let time = event
        .recorded_at
        .format(&Rfc3339)
        .map_err(|source| RelayError::Time {
            event_id: id.clone(),
            source,
        })?;
    let mut headers = HeaderMap::new();
    headers.insert("Nats-Msg-Id", id.as_str());
    headers.insert("ce-specversion", "1.0");
    headers.insert("ce-id", id.as_str());
    headers.insert(
        "ce-source",
        format!(
            "{SOURCE_PREFIX}/{}/{}/{}",
            event.tenant, event.aggregate_type, event.aggregate_id
        ),
    );
    headers.insert(
        "ce-type",
        format!(
            "{TYPE_PREFIX}.{}.{}.v{}",
            event.aggregate_type.to_lowercase(),
            event.event_type.to_lowercase(),
            event.event_version
        ),
    );
    headers.insert("ce-time", time);
    headers.insert("ce-subject", header_safe(&event.aggregate_id));
    headers.insert("ce-sequence", event.sequence.to_string());
    headers.insert("content-type", "application/json");
    if let Some(traceparent) = traceparent(event) {
        headers.insert(ri_domain::metadata::TRACEPARENT, traceparent);
    }
    Ok(Outbound {
        subject,
        headers,
        payload: event.payload.to_string().into_bytes(),
    })
}

/// The event's W3C trace context, when its metadata holds a well-formed one.
fn traceparent(event: &StoredEvent) -> Option<String> {
    let raw = event
        .metadata
        .get(ri_domain::metadata::TRACEPARENT)?
        .as_str()?;
    match ri_domain::TraceParent::parse(raw) {
        Ok(parsed) => Some(parsed.to_string()),
        Err(e) => {
            tracing::warn!(event_id = %event.event_id, error = %e, "malformed traceparent left out");
            None
        }
    }
}

/// The W3C trace context of a `traceparent` header value, as a remote parent; `None` when it is
/// not a well-formed version-00 one.
pub fn parent_context(traceparent: &str) -> Option<opentelemetry::Context> {
    let parsed = ri_domain::TraceParent::parse(traceparent).ok()?;
    let mut parts = parsed.as_str().split('-').skip(1);
    let trace_id = TraceId::from_hex(parts.next()?).ok()?;
    let span_id = SpanId::from_hex(parts.next()?).ok()?;
    let flags = u8::from_str_radix(parts.next()?, 16).ok()?;
    let context = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::new(flags),
        true,
        TraceState::default(),
    );
    Some(opentelemetry::Context::new().with_remote_span_context(context))
}

/// The `traceparent` of `span` itself, when an OpenTelemetry layer records it (`None` without
/// one: no layer, or the span is disabled).
pub fn span_traceparent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let otel = context.span();
    let sc = otel.span_context();
    sc.is_valid().then(|| {
        format!(
            "00-{}-{}-{:02x}",
            sc.trace_id(),
            sc.span_id(),
            sc.trace_flags().to_u8()
        )
    })
}

/// Makes `span` (the publish of `message`) a child of the trace in the message's `traceparent`
/// header (the event's, from [`outbound`]), then puts the span's own context into that header,
/// so that a consumer becomes a child of the publish, which is a child of the request that
/// committed the event. Without an OpenTelemetry layer the header keeps the event's context.
///
/// Call it before the span is entered: a span's parent is fixed when it starts.
pub fn trace_publish(span: &tracing::Span, message: &mut Outbound) {
    if span.is_disabled() {
        return;
    }
    if let Some(parent) = message
        .headers
        .get(ri_domain::metadata::TRACEPARENT)
        .and_then(|v| parent_context(v.as_str()))
    {
        // Fails only without an OpenTelemetry layer; then there is no context to carry on.
        let _ = span.set_parent(parent);
    }
    if let Some(own) = span_traceparent(span) {
        message
            .headers
            .insert(ri_domain::metadata::TRACEPARENT, own.as_str());
    }
}

/// Header values cannot carry line breaks (they would end the header).
fn header_safe(value: &str) -> String {
    value.replace(|c: char| c.is_control(), " ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use ri_eventstore::StoredEvent;
    use serde_json::json;
    use time::macros::datetime;

    fn event(tenant: &str, aggregate: &str, event_type: &str) -> StoredEvent {
        StoredEvent {
            position: 7,
            tx_id: 100,
            event_id: "0192f7a0-0000-7000-8000-000000000001".parse().unwrap(),
            tenant: tenant.to_owned(),
            aggregate_type: aggregate.to_owned(),
            aggregate_id: "abc".to_owned(),
            sequence: 3,
            event_type: event_type.to_owned(),
            event_version: "2".to_owned(),
            payload: json!({"InstrumentPublished": {}}),
            metadata: json!({
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            }),
            recorded_at: datetime!(2025-05-03 10:00:00.5 UTC),
        }
    }

    #[test]
    fn subject_is_lower_case() {
        let e = event("l3ce", "FundingInstrument", "InstrumentPublished");
        assert_eq!(
            subject("ri.evt", &e).unwrap(),
            "ri.evt.l3ce.fundinginstrument.instrumentpublished"
        );
    }

    #[test]
    fn subject_refuses_tokens_that_change_its_shape() {
        for bad in ["a.b", "a*", ">", "a b", ""] {
            let e = event("l3ce", "FundingInstrument", bad);
            assert!(subject("ri.evt", &e).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn headers_are_cloudevents_binary_mode() {
        let e = event("l3ce", "FundingInstrument", "InstrumentPublished");
        let m = outbound("ri.evt", &e).unwrap();
        let h = |name: &str| m.headers.get(name).map(|v| v.as_str().to_owned());
        let id = "0192f7a0-0000-7000-8000-000000000001";
        assert_eq!(h("Nats-Msg-Id").as_deref(), Some(id));
        assert_eq!(h("ce-specversion").as_deref(), Some("1.0"));
        assert_eq!(h("ce-id").as_deref(), Some(id));
        assert_eq!(
            h("ce-source").as_deref(),
            Some("/regional-invest/l3ce/FundingInstrument/abc")
        );
        assert_eq!(
            h("ce-type").as_deref(),
            Some("eu.regional-invest.fundinginstrument.instrumentpublished.v2")
        );
        assert_eq!(h("ce-time").as_deref(), Some("2025-05-03T10:00:00.5Z"));
        assert_eq!(h("ce-subject").as_deref(), Some("abc"));
        assert_eq!(h("ce-sequence").as_deref(), Some("3"));
        assert_eq!(h("content-type").as_deref(), Some("application/json"));
        assert_eq!(
            h("traceparent").as_deref(),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
        let body: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        assert_eq!(body, json!({"InstrumentPublished": {}}));
    }

    #[test]
    fn a_traceparent_becomes_a_remote_parent_context() {
        let cx = parent_context("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
        let span = cx.span();
        let sc = span.span_context();
        assert!(sc.is_remote() && sc.is_sampled());
        assert_eq!(
            sc.trace_id().to_string(),
            "0af7651916cd43dd8448eb211c80319c"
        );
        assert_eq!(sc.span_id().to_string(), "b7ad6b7169203331");
        assert!(
            parent_context("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01").is_none()
        );
        assert!(parent_context("garbage").is_none());
    }

    #[test]
    fn without_an_opentelemetry_layer_the_header_keeps_the_event_s_context() {
        let e = event("l3ce", "FundingInstrument", "InstrumentPublished");
        let mut m = outbound("ri.evt", &e).unwrap();
        trace_publish(&tracing::info_span!("relay.publish"), &mut m);
        assert_eq!(
            m.headers.get("traceparent").map(|v| v.as_str()),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
    }

    #[test]
    fn malformed_traceparent_is_left_out() {
        let mut e = event("l3ce", "Ledger", "Opened");
        e.metadata = json!({"traceparent": "garbage\r\nx: y"});
        let m = outbound("ri.evt", &e).unwrap();
        assert!(m.headers.get("traceparent").is_none());
    }
}

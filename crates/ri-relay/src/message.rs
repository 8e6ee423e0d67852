//! How an event becomes a NATS message: subject, headers (CloudEvents 1.0 binary mode) and body.

use async_nats::HeaderMap;
use ri_eventstore::StoredEvent;
use time::format_description::well_known::Rfc3339;

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
    fn malformed_traceparent_is_left_out() {
        let mut e = event("l3ce", "Ledger", "Opened");
        e.metadata = json!({"traceparent": "garbage\r\nx: y"});
        let m = outbound("ri.evt", &e).unwrap();
        assert!(m.headers.get("traceparent").is_none());
    }
}

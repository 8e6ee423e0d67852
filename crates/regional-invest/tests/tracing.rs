//! Tracing across the hop: the HTTP request that commits an event, the relay's publish of it
//! and a subscription's receipt of the message are one trace, each span the child of the one
//! before, linked through the event's and the message's `traceparent`. Recorded with the
//! OpenTelemetry SDK's in-memory exporter (this test binary installs the global subscriber, as
//! the service composes it, with logs at `warn`: traces do not depend on the log level).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test that cannot unwrap has failed

mod common;

use std::time::{Duration, Instant};

use common::{GraphqlSocket, TestApp, WS_WAIT, call, operation, until_live};
use opentelemetry::trace::{SpanId, SpanKind, TraceId, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use regional_invest::telemetry;
use ri_domain::Role;
use serde_json::{Value, json};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

const INSTRUMENT_EVENTS: &str = "subscription Events($filter: InstrumentEventFilter) {
  instrumentEvents(filter: $filter) { instrumentId type }
}";

fn install() -> (SdkTracerProvider, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    // The service's own composition, logging at `RUST_LOG=warn`: the log filter must not
    // filter the spans exported to OpenTelemetry.
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(EnvFilter::new("warn")))
        .with(telemetry::trace_layer(
            provider.tracer("tracing-test"),
            EnvFilter::new(telemetry::DEFAULT_TRACE_FILTER),
        ))
        .try_init()
        .unwrap();
    (provider, exporter)
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_the_relay_s_publish_and_a_subscriber_s_receipt_are_one_trace() {
    let (provider, exporter) = install();
    let app = TestApp::start().await;
    let slug = format!("s{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    app.tenant(&slug, "LT").await;
    let curator = app.token("ana", &slug, &[Role::Curator]).await;
    let draft = operation("DraftInstrument");

    let mut socket = GraphqlSocket::signed_in(&app, &curator).await;
    socket
        .subscribe("1", INSTRUMENT_EVENTS, json!({"filter": {"tenant": slug}}))
        .await;
    until_live(&mut socket, "1", async || {
        app.ok(
            Some(&curator),
            &draft,
            json!({"input": call("Probe", "LT")}),
        )
        .await;
    })
    .await;

    // The caller's trace: a known trace id and a remote parent span.
    let trace_id = TraceId::from(uuid::Uuid::new_v4().as_u128());
    let caller = SpanId::from(0x00f0_67aa_0ba9_02b7_u64);
    let response: Value = app
        .http
        .post(app.url())
        .bearer_auth(&curator)
        .header("traceparent", format!("00-{trace_id}-{caller}-01"))
        .json(&json!({"query": draft, "variables": {"input": call("Traced call", "LT")}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = response["data"]["draftInstrument"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{response}"))
        .to_owned();
    loop {
        let payload = socket
            .next("1", WS_WAIT)
            .await
            .expect("the subscription did not deliver the traced draft");
        if payload["data"]["instrumentEvents"]["instrumentId"] == id {
            break;
        }
    }

    // Spans are exported when they end, which may be just after the message went out.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (request, publish, receive) = loop {
        provider.force_flush().unwrap();
        let spans: Vec<SpanData> = exporter
            .get_finished_spans()
            .unwrap()
            .into_iter()
            .filter(|s| s.span_context.trace_id() == trace_id)
            .collect();
        let named = |name: &str| {
            spans
                .iter()
                .filter(|s| s.name == name)
                .cloned()
                .collect::<Vec<_>>()
        };
        let (requests, publishes, receipts) = (
            named("graphql"),
            named("relay.publish"),
            named("subscription.receive"),
        );
        if let ([request], [publish], [receive]) = (
            requests.as_slice(),
            publishes.as_slice(),
            receipts.as_slice(),
        ) {
            break (request.clone(), publish.clone(), receive.clone());
        }
        assert!(
            Instant::now() < deadline,
            "expected one request, one publish and one receive span in trace {trace_id}, got {:#?}",
            spans
                .iter()
                .map(|s| (&s.name, s.span_context.span_id(), s.parent_span_id))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The request span continues the caller's trace...
    assert_eq!(request.parent_span_id, caller);
    assert_eq!(request.span_kind, SpanKind::Server);
    // ...the relay's publish of the event the request committed is its child...
    assert_eq!(publish.parent_span_id, request.span_context.span_id());
    assert!(publish.parent_span_is_remote);
    assert_eq!(publish.span_kind, SpanKind::Producer);
    assert_eq!(
        attribute(&publish, "messaging.destination.name").as_deref(),
        Some(
            format!(
                "{}.{slug}.fundinginstrument.instrumentdrafted",
                app.deployment().event_subject_prefix()
            )
            .as_str()
        )
    );
    let event_id: String = sqlx::query_scalar(
        "SELECT event_id::text FROM events WHERE aggregate_id = $1 AND sequence = 1",
    )
    .bind(&id)
    .fetch_one(app.app.log.pool())
    .await
    .unwrap();
    assert_eq!(
        attribute(&publish, "messaging.message.id").as_deref(),
        Some(event_id.as_str())
    );
    // ...and the subscriber's receipt of the message is the publish span's child.
    assert_eq!(receive.parent_span_id, publish.span_context.span_id());
    assert!(receive.parent_span_is_remote);
    assert_eq!(receive.span_kind, SpanKind::Consumer);
    assert_eq!(
        attribute(&receive, "messaging.message.id").as_deref(),
        Some(event_id.as_str())
    );
    app.app.stop().await;
}

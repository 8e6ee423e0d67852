//! Logs and traces. Logs are structured (JSON unless stdout is a terminal, or as
//! `RI_LOG_FORMAT=json|text` says), filtered by `RUST_LOG`. Traces go to OpenTelemetry over OTLP
//! when the standard `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set
//! (and `OTEL_SDK_DISABLED` is not `true`); otherwise tracing stays local.
//!
//! Each output has its own filter: `RUST_LOG` decides what is logged, `RI_TRACE_FILTER` (same
//! syntax, default [`DEFAULT_TRACE_FILTER`]) what is exported as spans. So `RUST_LOG=warn` keeps
//! the logs quiet and still exports the request, command, relay and subscription spans, and a
//! caller's `traceparent` is continued rather than replaced by a fresh, unsampled trace.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Subscriber;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// What is logged when `RUST_LOG` is not set.
pub const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,async_nats=warn";
/// What is exported as spans when `RI_TRACE_FILTER` is not set, whatever `RUST_LOG` says.
pub const DEFAULT_TRACE_FILTER: &str = "info,sqlx=warn,async_nats=warn,h2=warn,hyper=warn";

/// The OpenTelemetry layer with a filter of its own, independent of the log filter: add it
/// beside the log layer (which carries its own filter) so that neither filters the other.
pub fn trace_layer<S>(tracer: SdkTracer, filter: EnvFilter) -> impl Layer<S>
where
    S: Subscriber + for<'span> LookupSpan<'span>,
{
    tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter)
}

fn filter_from(variable: &str, default: &str) -> EnvFilter {
    EnvFilter::try_from_env(variable).unwrap_or_else(|_| EnvFilter::new(default))
}

/// Flushes and stops the trace exporter when dropped.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            tracing::warn!(error = %e, "could not flush traces");
        }
    }
}

fn otel_enabled() -> bool {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
    let disabled = std::env::var("OTEL_SDK_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
        || std::env::var("OTEL_TRACES_EXPORTER").is_ok_and(|v| v == "none");
    !disabled && (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
}

pub fn init() -> anyhow::Result<Telemetry> {
    let log_filter = filter_from(EnvFilter::DEFAULT_ENV, DEFAULT_LOG_FILTER);
    let json = match std::env::var("RI_LOG_FORMAT").as_deref() {
        Ok("json") => true,
        Ok("text") => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let fmt = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_filter(log_filter)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_filter(log_filter)
            .boxed()
    };

    let provider = if otel_enabled() {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .build()?;
        let service =
            std::env::var("OTEL_SERVICE_NAME").unwrap_or_else(|_| "regional-invest".into());
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(Resource::builder().with_service_name(service).build())
                .build(),
        )
    } else {
        None
    };
    let otel = provider.as_ref().map(|p| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        opentelemetry::global::set_tracer_provider(p.clone());
        trace_layer(
            p.tracer("regional-invest"),
            filter_from("RI_TRACE_FILTER", DEFAULT_TRACE_FILTER),
        )
    });
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()?;
    if provider.is_some() {
        tracing::info!("exporting traces over OTLP");
    }
    Ok(Telemetry { provider })
}

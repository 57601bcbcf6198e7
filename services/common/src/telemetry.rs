//! Logs and traces, set up in one place.
//!
//! `RUST_LOG` filters (default `info,sqlx=warn`). When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans are
//! also exported over OTLP/gRPC to that collector; the returned [`Telemetry`] flushes them when
//! dropped.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{EnvFilter, layer::SubscriberExt, util::SubscriberInitExt};

use crate::{Error, Result, config};

/// Owns the telemetry pipeline; dropping it flushes buffered spans.
#[derive(Debug)]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("flushing traces failed: {e}");
        }
    }
}

/// Installs the global subscriber for `service_name`. Call once per process; a second call
/// (tests starting several services) leaves the first subscriber in place.
pub fn init(service_name: &str) -> Result<Telemetry> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let fmt = tracing_subscriber::fmt::layer().with_target(false);
    let provider = match config::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        None => None,
        Some(endpoint) => {
            let exporter = SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build()
                .map_err(|e| Error::Internal(format!("OTLP exporter: {e}")))?;
            let resource = Resource::builder().with_service_name(service_name.to_owned()).build();
            Some(
                SdkTracerProvider::builder()
                    .with_batch_exporter(exporter)
                    .with_resource(resource)
                    .build(),
            )
        }
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer(service_name.to_owned())));
    // `try_init` fails only when a subscriber exists already (several services in one test
    // process); the first one stays.
    let _ = tracing_subscriber::registry().with(filter).with(fmt).with(otel).try_init();
    if let Some(provider) = &provider {
        opentelemetry::global::set_tracer_provider(provider.clone());
    }
    Ok(Telemetry { provider })
}

/// The OpenTelemetry trace id of the current span, when a trace is being recorded; stored with
/// audit entries so a change can be found in the trace that made it.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context.is_valid().then(|| span_context.trace_id().to_string())
}

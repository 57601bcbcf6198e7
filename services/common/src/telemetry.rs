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
    init_with(service_name, "info,sqlx=warn")
}

/// [`init`] with another log filter than `info` when `RUST_LOG` is not set (e.g. `warn` for a
/// command whose own output matters more than the services' request logs).
pub fn init_with(service_name: &str, default_filter: &str) -> Result<Telemetry> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
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

/// W3C trace context across the services: a gRPC client built with this interceptor sends
/// the current span's context as `traceparent` metadata, and [`grpc_span`] makes each served
/// call a child of it, so one request is one trace from the gateway to the last service. It
/// also sends the request id and the service token ([`crate::server::insert_service_token`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceContext;

impl tonic::service::Interceptor for TraceContext {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        inject(request.metadata_mut());
        // The request id of the call being served, so the next service logs it too.
        if let Ok(Ok(id)) =
            REQUEST_ID.try_with(|id| tonic::metadata::AsciiMetadataValue::try_from(id.as_str()))
        {
            request.metadata_mut().insert(REQUEST_ID_KEY, id);
        }
        crate::server::insert_service_token(request.metadata_mut());
        Ok(request)
    }
}

/// The metadata and header key of a request id.
pub const REQUEST_ID_KEY: &str = "x-request-id";

tokio::task_local! {
    /// The request id of the request being served on this task (set by the gateway's edge and
    /// by [`grpc_span`]'s server; read by [`TraceContext`] for the calls it makes).
    pub static REQUEST_ID: String;
}

/// The request id a served gRPC call came with ("" when none).
pub fn request_id_of(headers: &tonic::codegen::http::HeaderMap) -> String {
    headers
        .get(REQUEST_ID_KEY)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128)
        .unwrap_or_default()
        .to_owned()
}

/// A channel whose calls carry the caller's trace context (and the service token).
pub type Traced =
    tonic::service::interceptor::InterceptedService<tonic::transport::Channel, TraceContext>;

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl opentelemetry::propagation::Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::AsciiMetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a tonic::codegen::http::HeaderMap);

impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Writes the current span's trace context into outgoing metadata.
pub fn inject(metadata: &mut tonic::metadata::MetadataMap) {
    use opentelemetry::propagation::TextMapPropagator as _;
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let context = tracing::Span::current().context();
    opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .inject_context(&context, &mut MetadataInjector(metadata));
}

/// Makes `span` a child of the trace context in `headers` (`traceparent`), when there is one.
pub fn adopt(span: &tracing::Span, headers: &tonic::codegen::http::HeaderMap) {
    use opentelemetry::{propagation::TextMapPropagator as _, trace::TraceContextExt as _};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let parent = opentelemetry_sdk::propagation::TraceContextPropagator::new()
        .extract(&HeaderExtractor(headers));
    if parent.span().span_context().is_valid() {
        // Fails only when no OpenTelemetry layer records spans: nothing to join then.
        let _ = span.set_parent(parent);
    }
}

/// The span a served gRPC call runs in (`grpc{rpc=/medclear.routing.v1.RoutingService/Settle}`),
/// joined to the caller's trace.
pub fn grpc_span(request: &tonic::codegen::http::Request<()>) -> tracing::Span {
    let request_id = request_id_of(request.headers());
    let span = tracing::info_span!("grpc", rpc = %request.uri().path(), %request_id);
    adopt(&span, request.headers());
    span
}

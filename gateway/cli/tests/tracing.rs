//! One request is one trace: a settlement sent to the gateway with a W3C `traceparent` is
//! followed, over gRPC metadata, into the routing service and from there into the filing and
//! catalogue services; the spans are collected by an in-memory exporter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use opentelemetry::{KeyValue, trace::TracerProvider as _};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use serde_json::json;
use support::Harness;
use tracing_subscriber::{EnvFilter, layer::SubscriberExt as _, util::SubscriberInitExt as _};

const TODAY: &str = "2026-03-02";
const HOSPITAL: &str = "H44030000001";
const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn rpc_of(span: &opentelemetry_sdk::trace::SpanData) -> Option<String> {
    span.attributes
        .iter()
        .find(|KeyValue { key, .. }| key.as_str() == "rpc")
        .map(|kv| kv.value.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settlement_is_one_trace_from_the_gateway_through_three_services() {
    // Before anything else in this process: every service here records into this exporter.
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    tracing_subscriber::registry()
        .with(EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("medclear-test")))
        .init();

    let h = Harness::start(TODAY).await;
    h.seed_drug(&[HOSPITAL]).await;
    h.add_person(&support::person("P420200001", "420202196001010016", "420200")).await;
    let (status, visit) = h
        .post(
            "/api/v1/visits",
            &json!({"fixmedins_code": HOSPITAL, "msgid": "V1", "psn_no": "P420200001",
                "med_type": 11, "mdtrtarea_admvs": "440300", "hospital_level": "tertiary",
                "begin_date": TODAY, "emergency": true}),
        )
        .await;
    assert_eq!(status, 200, "{visit}");
    let mdtrt_id = visit["mdtrt_id"].as_str().unwrap().to_owned();
    let (status, lines) = h
        .post(
            &format!("/api/v1/visits/{mdtrt_id}/fee-lines"),
            &json!({"fixmedins_code": HOSPITAL, "lines": [{"feedetl_sn": "1",
                "local_code": "L001", "price_fen": 1230, "quantity": "2", "fee_date": TODAY}]}),
        )
        .await;
    assert_eq!(status, 200, "{lines}");
    exporter.reset();

    // The one traced request.
    let response = h
        .http
        .post(h.url(&format!("/api/v1/visits/{mdtrt_id}/settle")))
        .header("traceparent", format!("00-{TRACE}-00f067aa0ba902b7-01"))
        .header("x-request-id", "his-req-7")
        .json(&json!({"fixmedins_code": HOSPITAL, "msgid": "S1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "{}", response.text().await.unwrap());
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let ours: Vec<_> =
        spans.iter().filter(|s| s.span_context.trace_id().to_string() == TRACE).collect();
    let names: Vec<String> = ours.iter().map(|s| s.name.to_string()).collect();
    assert!(names.iter().any(|n| n == "http"), "the gateway's span: {names:?}");
    let rpcs: Vec<String> = ours.iter().filter_map(|s| rpc_of(s)).collect();
    for service in [
        "/medclear.routing.v1.RoutingService/Settle",
        "/medclear.filing.v1.FilingService/CheckCoverage",
        "/medclear.catalog.v1.CatalogService/ResolveLines",
    ] {
        assert!(rpcs.iter().any(|r| r == service), "{service} in the trace: {rpcs:?}");
    }
    // Every service's span of it carries the gateway's request id, so its log lines do too.
    for span in ours.iter().filter(|s| s.name == "grpc") {
        let id = span.attributes.iter().find(|kv| kv.key.as_str() == "request_id");
        assert_eq!(
            id.map(|kv| kv.value.to_string()).as_deref(),
            Some("his-req-7"),
            "{:?}",
            rpc_of(span)
        );
    }
    // Nothing of this request escaped into another trace.
    let strays: Vec<_> = spans
        .iter()
        .filter(|s| s.span_context.trace_id().to_string() != TRACE)
        .filter_map(rpc_of)
        .filter(|r| {
            r.contains("Settle") || r.contains("CheckCoverage") || r.contains("ResolveLines")
        })
        .collect();
    assert!(strays.is_empty(), "spans outside the trace: {strays:?}");
    h.finish().await;
}

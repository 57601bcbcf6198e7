//! The edge of the gateway over real HTTP: request ids, `/metrics`, the per-client rate limit
//! and the time limit, each answered with the JSON error body.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use medclear_cli::up::gateway_routes;
use medclear_gateway::{AppState, limits::Limits, server};
use serde_json::Value;
use support::Harness;
use tokio::net::TcpListener;

const TODAY: &str = "2026-03-02";

/// A second gateway in front of the harness's services, with these limits.
async fn gateway_with(h: &Harness, limits: Limits) -> String {
    let upstreams = h.upstreams();
    let state = AppState::with_limits(&upstreams, limits).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(server::serve(listener, state, gateway_routes(), std::future::pending()));
    base
}

#[tokio::test]
async fn every_answer_carries_a_request_id_and_metrics_count_it() {
    let h = Harness::start(TODAY).await;
    let sent = h
        .http
        .get(h.url("/api/v1/regions"))
        .header("x-request-id", "his-42-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 200);
    assert_eq!(sent.headers()["x-request-id"], "his-42-0001", "a sane id is kept");
    let made = h.http.get(h.url("/no/such/thing")).send().await.unwrap();
    assert_eq!(made.status().as_u16(), 404);
    let id = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32, "a new id when none was sent: {id}");

    let metrics = h.http.get(h.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status().as_u16(), 200);
    assert!(metrics.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = metrics.text().await.unwrap();
    for line in [
        "medclear_http_requests_total{route=\"/api/v1/regions\",method=\"GET\",status=\"200\"} 1",
        "medclear_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"} 1",
        "medclear_http_request_duration_seconds_bucket{route=\"/api/v1/regions\",le=\"+Inf\"} 1",
        "medclear_http_request_duration_seconds_count{route=\"unmatched\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
    h.finish().await;
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_a_reason_and_when_to_retry() {
    let h = Harness::start(TODAY).await;
    let limits = Limits { rate_per_s: 1, burst: 2, timeout: Duration::from_secs(30) };
    let base = gateway_with(&h, limits).await;
    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("{base}{path}")).send();
    assert_eq!(get("/api/v1/regions").await.unwrap().status().as_u16(), 200);
    assert_eq!(get("/api/v1/regions").await.unwrap().status().as_u16(), 200);
    let refused = get("/api/v1/regions").await.unwrap();
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert!(refused.headers().contains_key("x-request-id"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "rate_limited", "{body}");
    // On the national interface the refusal is the national envelope.
    let national = client
        .post(format!("{base}/fsi/api/rsfComIfsService/callService"))
        .body(r#"{"infno": "1101"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(national.status().as_u16(), 429);
    let envelope: Value = national.json().await.unwrap();
    assert_eq!(envelope["infcode"], -1, "{envelope}");
    assert!(envelope["err_msg"].as_str().unwrap().starts_with("rate_limited:"), "{envelope}");
    // Health and metrics stay reachable for the operators watching the limit bite.
    assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
    let text = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(text.contains(
        "medclear_http_requests_total{route=\"/api/v1/regions\",method=\"GET\",status=\"429\"} 1"
    ));
    h.finish().await;
}

#[tokio::test]
async fn a_request_over_its_time_gets_504_with_a_reason() {
    let h = Harness::start(TODAY).await;
    // No time at all: the answer needs the filing service, so it cannot come in time.
    let limits = Limits { rate_per_s: 0, burst: 0, timeout: Duration::ZERO };
    let base = gateway_with(&h, limits).await;
    let late = reqwest::get(format!("{base}/api/v1/regions")).await.unwrap();
    assert_eq!(late.status().as_u16(), 504);
    let body: Value = late.json().await.unwrap();
    assert_eq!(body["code"], "timeout", "{body}");
    let national = reqwest::Client::new()
        .post(format!("{base}/fsi/api/rsfComIfsService/callService"))
        .body(
            r#"{"infno": "1101", "msgid": "H44030000001202603020900000001", "fixmedins_code": "H44030000001",
                "mdtrtarea_admvs": "440300", "input": {"data": {"certno": "420202196001010016"}}}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(national.status().as_u16(), 504);
    let envelope: Value = national.json().await.unwrap();
    assert!(envelope["err_msg"].as_str().unwrap().starts_with("timeout:"), "{envelope}");
    h.finish().await;
}

//! What every request meets at the edge, before its handler: a request id (taken from
//! `x-request-id` or made, carried by every log line of the request and echoed in the answer),
//! a rate limit per client, a time limit, and the metrics `GET /metrics` exposes in the
//! Prometheus text format — request counts by route, method and status, and latency
//! histograms by route.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write as _,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    extract::{ConnectInfo, MatchedPath, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// The header a request id travels in.
pub const REQUEST_ID: &str = "x-request-id";

/// Upper bounds of the latency histogram buckets, in microseconds (written in seconds as the
/// `le` label by [`seconds`]; no floats anywhere).
const BUCKETS_US: [u64; 12] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    10_000_000,
];

/// The edge's limits (flags and variables in [`crate::settings::LimitArgs`]): requests a
/// second per client (0 turns it off), a burst, and a time limit per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub rate_per_s: u32,
    pub burst: u32,
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { rate_per_s: 2000, burst: 4000, timeout: Duration::from_secs(30) }
    }
}

/// A token bucket per client: `burst` requests at once, refilled at `rate_per_s`.
#[derive(Debug, Default)]
struct Buckets {
    /// Client → (tokens in thousandths, last refill).
    clients: HashMap<String, (u64, Instant)>,
}

impl Buckets {
    /// Takes a token for `client`; when there is none, how long until there is.
    fn take(&mut self, client: &str, limits: &Limits, now: Instant) -> Result<(), Duration> {
        let full = u64::from(limits.burst.max(1)) * 1000;
        let (tokens, at) = self.clients.entry(client.to_owned()).or_insert((full, now));
        let elapsed_us =
            u64::try_from(now.saturating_duration_since(*at).as_micros()).unwrap_or(u64::MAX);
        // rate tokens/s = rate thousandths per ms = rate/1000 thousandths per µs.
        let refill = elapsed_us.saturating_mul(u64::from(limits.rate_per_s)) / 1000;
        *tokens = tokens.saturating_add(refill).min(full);
        *at = now;
        if *tokens >= 1000 {
            *tokens -= 1000;
            return Ok(());
        }
        let missing = 1000 - *tokens;
        let wait_us = missing.saturating_mul(1000) / u64::from(limits.rate_per_s.max(1));
        Err(Duration::from_micros(wait_us.max(1)))
    }
}

/// A latency histogram: counts at or below each bound, the count and the sum (µs).
#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; 12],
    count: u64,
    sum_us: u64,
}

impl Histogram {
    fn observe(&mut self, micros: u64) {
        for (bucket, bound) in self.buckets.iter_mut().zip(BUCKETS_US) {
            if micros <= bound {
                *bucket += 1;
            }
        }
        self.count += 1;
        self.sum_us = self.sum_us.saturating_add(micros);
    }

    /// The `_bucket`, `_sum` and `_count` lines of `name` for the label `label="value"`.
    fn render(&self, out: &mut String, name: &str, label: &str, value: &str) {
        let value = escape(value);
        for (n, bound) in self.buckets.iter().zip(BUCKETS_US) {
            let bound = seconds(bound);
            let _ = writeln!(out, "{name}_bucket{{{label}=\"{value}\",le=\"{bound}\"}} {n}");
        }
        let count = self.count;
        let _ = writeln!(out, "{name}_bucket{{{label}=\"{value}\",le=\"+Inf\"}} {count}");
        let (whole, micros) = (self.sum_us / 1_000_000, self.sum_us % 1_000_000);
        let _ = writeln!(out, "{name}_sum{{{label}=\"{value}\"}} {whole}.{micros:06}");
        let _ = writeln!(out, "{name}_count{{{label}=\"{value}\"}} {count}");
    }
}

/// Counts and latencies by label set.
#[derive(Debug, Default)]
struct Series {
    /// (route, method, status) → count.
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    /// National interface: (infno, infcode) → count.
    transactions: BTreeMap<(String, i32), u64>,
    transaction_latency: BTreeMap<String, Histogram>,
}

/// A national-interface call, as its handler leaves it on the response for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub infno: String,
    pub infcode: i32,
}

/// What the edge keeps between requests: the metrics and the rate buckets.
#[derive(Debug)]
pub struct Edge {
    limits: Limits,
    series: Mutex<Series>,
    buckets: Mutex<Buckets>,
    /// A route whose clients read only their own envelope (the national interface), and how
    /// the edge's refusals are written there; every other route gets the JSON error body.
    envelope: Option<(&'static str, Refuser)>,
}

/// Writes a refusal of the edge: status, machine-readable reason, message.
pub type Refuser = fn(StatusCode, &str, String) -> Response;

impl Edge {
    /// The edge with `limits`; its refusals on `envelope`'s route are written by its function.
    pub fn new(limits: Limits, envelope: Option<(&'static str, Refuser)>) -> Arc<Self> {
        Arc::new(Self { limits, series: Mutex::default(), buckets: Mutex::default(), envelope })
    }

    /// A refusal of the edge: in the route's own envelope where it has one (HIS clients read
    /// nothing else), in the JSON API's error body elsewhere.
    fn refuse(&self, route: &str, status: StatusCode, reason: &str, message: String) -> Response {
        match self.envelope {
            Some((path, refuser)) if path == route => refuser(status, reason, message),
            _ => ApiError::new(status, reason, message).into_response(),
        }
    }

    fn observe(
        &self,
        route: &str,
        method: &str,
        status: u16,
        transaction: Option<&Transaction>,
        elapsed: Duration,
    ) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        let mut series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        *series.requests.entry((route.to_owned(), method.to_owned(), status)).or_default() += 1;
        series.latency.entry(route.to_owned()).or_default().observe(micros);
        if let Some(t) = transaction {
            *series.transactions.entry((t.infno.clone(), t.infcode)).or_default() += 1;
            series.transaction_latency.entry(t.infno.clone()).or_default().observe(micros);
        }
    }

    /// The metrics in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let series = self.series.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        out.push_str(
            "# HELP medclear_http_requests_total HTTP requests answered by the gateway.\n",
        );
        out.push_str("# TYPE medclear_http_requests_total counter\n");
        for ((route, method, status), n) in &series.requests {
            let _ = writeln!(
                out,
                "medclear_http_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                escape(route),
                escape(method)
            );
        }
        let name = "medclear_http_request_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time from request to answer at the gateway.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (route, histogram) in &series.latency {
            histogram.render(&mut out, name, "route", route);
        }
        out.push_str(
            "# HELP medclear_national_transactions_total National-interface transactions by \
             infno and infcode (0 success, -1 refused).\n",
        );
        out.push_str("# TYPE medclear_national_transactions_total counter\n");
        for ((infno, infcode), n) in &series.transactions {
            let _ = writeln!(
                out,
                "medclear_national_transactions_total{{infno=\"{}\",infcode=\"{infcode}\"}} {n}",
                escape(infno)
            );
        }
        let name = "medclear_national_transaction_duration_seconds";
        let _ = writeln!(out, "# HELP {name} Time from request to answer, by transaction code.");
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (infno, histogram) in &series.transaction_latency {
            histogram.render(&mut out, name, "infno", infno);
        }
        out
    }
}

/// Microseconds as seconds in the shortest exact decimal (`2500` → `0.0025`, `10000000` →
/// `10`).
fn seconds(micros: u64) -> String {
    let fraction = format!("{:06}", micros % 1_000_000);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        (micros / 1_000_000).to_string()
    } else {
        format!("{}.{fraction}", micros / 1_000_000)
    }
}

/// A label value as the text format wants it: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// `GET /metrics`.
pub async fn metrics(State(edge): State<Arc<Edge>>) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4"))], edge.render())
        .into_response()
}

/// The longest request id a client may send.
const MAX_REQUEST_ID: usize = 128;

/// The request id a request brings, else a new one; a header that is no id (empty, longer
/// than 128 characters, or anything but visible ASCII: control characters, NUL, spaces,
/// non-ASCII bytes) is refused rather than replaced, so a client's logs and ours name the
/// same request or none.
fn request_id(request: &Request) -> Result<String, String> {
    let Some(value) = request.headers().get(REQUEST_ID) else {
        return Ok(uuid::Uuid::new_v4().simple().to_string());
    };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_REQUEST_ID || !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(format!(
            "{REQUEST_ID} must be 1 to {MAX_REQUEST_ID} visible ASCII characters ({} bytes sent)",
            bytes.len()
        ));
    }
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

/// Who a request counts against for the rate limit: the institution or operator its client
/// certificate names, else the peer's address.
fn client_of(request: &Request) -> String {
    use crate::access::Principal;
    match request.extensions().get::<Principal>() {
        Some(p @ (Principal::Hospital(_) | Principal::ProvinceOperator(_))) => return p.label(),
        Some(Principal::NationalOperator) => return Principal::NationalOperator.label(),
        _ => {}
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_owned(), |c| c.0.ip().to_string())
}

/// Why the edge turned a request away before its handler.
enum Refused {
    /// The `x-request-id` header is no request id.
    RequestId(String),
    /// Over the client's rate: how long until it may send again.
    Rate(Duration),
}

/// The edge middleware: request id and log span, rate limit, time limit, metrics.
pub async fn layer(State(edge): State<Arc<Edge>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (id, bad_id) = match request_id(&request) {
        Ok(id) => (id, None),
        Err(why) => (uuid::Uuid::new_v4().simple().to_string(), Some(why)),
    };
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let span = tracing::info_span!("http", request_id = %id, %method, %route);
    // A caller that sends a W3C `traceparent` gets this request in its trace.
    medclear_common::telemetry::adopt(&span, request.headers());
    let limits = edge.limits;
    let admitted = if let Some(why) = bad_id {
        Err(Refused::RequestId(why))
    } else if limits.rate_per_s == 0 || route == "/metrics" || route == "/healthz" {
        Ok(())
    } else {
        let client = client_of(&request);
        let mut buckets = edge.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        buckets.take(&client, &limits, started).map_err(Refused::Rate)
    };
    let mut response = match admitted {
        Err(Refused::RequestId(why)) => {
            edge.refuse(&route, StatusCode::BAD_REQUEST, "invalid_request_id", why)
        }
        Err(Refused::Rate(wait)) => {
            let seconds = wait.as_secs() + 1;
            let mut response = edge.refuse(
                &route,
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "more than {} requests a second from this client; try again in {seconds} s",
                    limits.rate_per_s
                ),
            );
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        Ok(()) => {
            // The request id goes on to the services with every call made for this request.
            let scoped =
                medclear_common::telemetry::REQUEST_ID.scope(id.clone(), next.run(request));
            let run = tracing::Instrument::instrument(scoped, span.clone());
            match tokio::time::timeout(limits.timeout, run).await {
                Ok(response) => response,
                Err(_) => edge.refuse(
                    &route,
                    StatusCode::GATEWAY_TIMEOUT,
                    "timeout",
                    format!(
                        "no answer within {} ms; the request may or may not have taken effect: \
                         retry it with the same msgid or request id",
                        limits.timeout.as_millis()
                    ),
                ),
            }
        }
    };
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    edge.observe(&route, &method, status, response.extensions().get(), elapsed);
    span.in_scope(|| {
        tracing::info!(status, elapsed_ms = elapsed.as_millis(), "request");
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_id_is_visible_ascii_of_at_most_128_characters() {
        let with = |value: &[u8]| {
            let mut request = Request::new(axum::body::Body::empty());
            request.headers_mut().insert(REQUEST_ID, HeaderValue::from_bytes(value).unwrap());
            request_id(&request)
        };
        assert_eq!(with(b"abc-123").as_deref(), Ok("abc-123"));
        assert!(with(&[b'a'; 128]).is_ok());
        assert!(with(&[b'a'; 129]).is_err());
        assert!(with(b"a b").is_err());
        assert!(with(b"a\tb").is_err());
        assert!(with("é".as_bytes()).is_err());
        assert!(with(b"").is_err());
        let absent = request_id(&Request::new(axum::body::Body::empty())).unwrap();
        assert_eq!(absent.len(), 32, "a new id when none is sent");
    }

    #[test]
    fn a_bucket_lets_a_burst_through_then_refills_at_the_rate() {
        let limits = Limits { rate_per_s: 10, burst: 3, timeout: Duration::from_secs(1) };
        let mut buckets = Buckets::default();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(buckets.take("a", &limits, t0), Ok(()));
        }
        let wait = buckets.take("a", &limits, t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(100), "one token every 100 ms");
        assert_eq!(buckets.take("b", &limits, t0), Ok(()), "each client has its own bucket");
        assert!(buckets.take("a", &limits, t0 + Duration::from_millis(99)).is_err());
        assert_eq!(buckets.take("a", &limits, t0 + Duration::from_millis(100)), Ok(()));
        // A long pause refills no more than the burst.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(buckets.take("a", &limits, later), Ok(()));
        }
        assert!(buckets.take("a", &limits, later).is_err());
    }

    #[test]
    fn latencies_fall_in_every_bucket_at_or_above_them_and_render_as_prometheus_text() {
        let edge = Edge::new(Limits::default(), None);
        edge.observe("/api/v1/x", "GET", 200, None, Duration::from_micros(2_000));
        edge.observe("/api/v1/x", "GET", 404, None, Duration::from_micros(30_000_000));
        let refused = Transaction { infno: "2207".into(), infcode: -1 };
        edge.observe("/fsi", "POST", 200, Some(&refused), Duration::from_micros(7_000));
        let text = edge.render();
        assert!(text.contains(
            "medclear_http_requests_total{route=\"/api/v1/x\",method=\"GET\",status=\"200\"} 1\n"
        ));
        assert!(text.contains(
            "medclear_http_request_duration_seconds_bucket{route=\"/api/v1/x\",le=\"0.001\"} 0\n"
        ));
        assert!(text.contains(
            "medclear_http_request_duration_seconds_bucket{route=\"/api/v1/x\",le=\"0.0025\"} 1\n"
        ));
        assert!(text.contains(
            "medclear_http_request_duration_seconds_bucket{route=\"/api/v1/x\",le=\"10\"} 1\n"
        ));
        assert!(text.contains(
            "medclear_http_request_duration_seconds_bucket{route=\"/api/v1/x\",le=\"+Inf\"} 2\n"
        ));
        assert!(text.contains(
            "medclear_http_request_duration_seconds_sum{route=\"/api/v1/x\"} 30.002000\n"
        ));
        assert!(
            text.contains(
                "medclear_national_transactions_total{infno=\"2207\",infcode=\"-1\"} 1\n"
            )
        );
        assert!(text.contains(
            "medclear_national_transaction_duration_seconds_bucket{infno=\"2207\",le=\"0.01\"} 1\n"
        ));
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(
            BUCKETS_US.map(seconds),
            [
                "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1",
                "2.5", "10"
            ]
        );
    }
}

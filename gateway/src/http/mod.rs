//! The HTTP edge: the JSON API (`/api/v1/…`) and `/healthz`, each call answered through the
//! services' gRPC APIs.

pub mod catalog;
pub mod citizens;
pub mod clearing;
pub mod edge;
pub mod error;
pub mod filings;
pub mod json;
pub mod national;
pub mod routing;

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, FromRef, State},
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use medclear_common::{
    server::channel,
    telemetry::{TraceContext, Traced},
};
use medclear_proto::{
    catalog::v1::catalog_service_client::CatalogServiceClient,
    clearing::v1::clearing_service_client::ClearingServiceClient,
    filing::v1::filing_service_client::FilingServiceClient,
    routing::v1::routing_service_client::RoutingServiceClient,
};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tonic::transport::Channel;
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

use error::ApiError;

/// Where the gateway finds the services it fronts.
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// e.g. `http://127.0.0.1:50051`
    pub filing: String,
    /// e.g. `http://127.0.0.1:50052`
    pub catalog: String,
    /// e.g. `http://127.0.0.1:50053`: the routing instance for every home province not listed
    /// in `routing_partitions`.
    pub routing: String,
    /// Routing instances that own particular home provinces: (two-digit province, URL).
    pub routing_partitions: Vec<(String, String)>,
    /// e.g. `http://127.0.0.1:50054`
    pub clearing: String,
}

/// A service the gateway depends on, for `/healthz`.
#[derive(Debug, Clone)]
struct Dependency {
    name: &'static str,
    service: &'static str,
    health: HealthClient<Channel>,
}

#[derive(Debug)]
struct Inner {
    filing: FilingServiceClient<Traced>,
    catalog: CatalogServiceClient<Traced>,
    routing: RoutingServiceClient<Traced>,
    routing_by_province: std::collections::HashMap<String, RoutingServiceClient<Traced>>,
    /// Every routing instance once: the default, then each other partition's URL.
    routing_instances: Vec<RoutingServiceClient<Traced>>,
    clearing: ClearingServiceClient<Traced>,
    dependencies: Vec<Dependency>,
    edge: Arc<edge::Edge>,
    /// Signs 9001 sign-in numbers (see [`national::SignIn`]).
    sign_in: national::SignIn,
    /// Citizens' one-time codes and tokens.
    citizens: crate::citizen::CitizenAuth,
    /// Page sessions (operators' development sign-in) and CSRF tokens.
    pages: crate::session::PageKeys,
}

/// What every handler shares: the gRPC clients.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

impl AppState {
    /// Clients for `upstreams`, with the default edge limits.
    pub fn new(upstreams: &Upstreams) -> Result<Self, medclear_common::Error> {
        Self::with_limits(upstreams, edge::Limits::default())
    }

    /// Clients for `upstreams`; connections are made on first use and re-made after failures.
    pub fn with_limits(
        upstreams: &Upstreams,
        limits: edge::Limits,
    ) -> Result<Self, medclear_common::Error> {
        let secret = crate::citizen::gateway_secret()?;
        let filing = channel("filing", &upstreams.filing)?;
        let catalog = channel("catalog", &upstreams.catalog)?;
        let routing = channel("routing", &upstreams.routing)?;
        let clearing = channel("clearing", &upstreams.clearing)?;
        let mut routing_by_province = std::collections::HashMap::new();
        let mut routing_instances =
            vec![RoutingServiceClient::with_interceptor(routing.clone(), TraceContext)];
        let mut urls = vec![upstreams.routing.as_str()];
        for (province, url) in &upstreams.routing_partitions {
            let client =
                RoutingServiceClient::with_interceptor(channel("routing", url)?, TraceContext);
            if !urls.contains(&url.as_str()) {
                urls.push(url);
                routing_instances.push(client.clone());
            }
            routing_by_province.insert(province.clone(), client);
        }
        Ok(Self(Arc::new(Inner {
            // Every call carries the request's trace context (W3C traceparent).
            filing: FilingServiceClient::with_interceptor(filing.clone(), TraceContext),
            catalog: CatalogServiceClient::with_interceptor(catalog.clone(), TraceContext)
                .max_decoding_message_size(64 * 1024 * 1024),
            routing: RoutingServiceClient::with_interceptor(routing.clone(), TraceContext),
            routing_by_province,
            routing_instances,
            clearing: ClearingServiceClient::with_interceptor(clearing.clone(), TraceContext)
                .max_decoding_message_size(64 * 1024 * 1024),
            dependencies: vec![
                Dependency {
                    name: "filing",
                    service: medclear_filing::SERVICE_NAME,
                    health: HealthClient::new(filing),
                },
                Dependency {
                    name: "catalog",
                    service: medclear_catalog::SERVICE_NAME,
                    health: HealthClient::new(catalog),
                },
                Dependency {
                    name: "routing",
                    service: medclear_routing::SERVICE_NAME,
                    health: HealthClient::new(routing),
                },
                Dependency {
                    name: "clearing",
                    service: medclear_clearing::SERVICE_NAME,
                    health: HealthClient::new(clearing),
                },
            ],
            edge: edge::Edge::new(limits),
            sign_in: national::SignIn::new(&secret),
            citizens: crate::citizen::CitizenAuth::new(&secret),
            pages: crate::session::PageKeys::new(&secret),
        })))
    }

    pub(crate) fn filing(&self) -> FilingServiceClient<Traced> {
        self.0.filing.clone()
    }

    pub(crate) fn catalog(&self) -> CatalogServiceClient<Traced> {
        self.0.catalog.clone()
    }

    pub(crate) fn sign_in(&self) -> &national::SignIn {
        &self.0.sign_in
    }

    /// Citizens' sign-in (one-time codes, tokens).
    pub fn citizens(&self) -> &crate::citizen::CitizenAuth {
        &self.0.citizens
    }

    /// Page sessions and CSRF tokens.
    pub fn pages(&self) -> &crate::session::PageKeys {
        &self.0.pages
    }

    /// Every routing instance, the default first (a person's data is in their home's).
    pub(crate) fn routing_all(&self) -> Vec<RoutingServiceClient<Traced>> {
        self.0.routing_instances.clone()
    }

    pub(crate) fn clearing(&self) -> ClearingServiceClient<Traced> {
        self.0.clearing.clone()
    }

    /// The routing instance that owns `province` (two digits, or any code starting with them);
    /// the default instance when unknown or not partitioned.
    pub(crate) fn routing_for(&self, province: Option<&str>) -> RoutingServiceClient<Traced> {
        province
            .and_then(|p| p.get(..2))
            .and_then(|p| self.0.routing_by_province.get(p))
            .unwrap_or(&self.0.routing)
            .clone()
    }
}

impl FromRef<AppState> for Arc<edge::Edge> {
    fn from_ref(state: &AppState) -> Self {
        state.0.edge.clone()
    }
}

/// The gateway's routes.
pub fn router(state: AppState) -> Router {
    use clearing as c;
    use filings as f;
    const PERIOD: &str = "/api/v1/clearing/periods/{period_id}";
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(edge::metrics))
        .route("/api/v1/citizen/sign-in", post(citizens::sign_in))
        .route("/api/v1/citizen/verify", post(citizens::verify))
        .route(
            national::PATH,
            post(national::call_service).layer(DefaultBodyLimit::max(national::MAX_BODY)),
        )
        .route("/api/v1/filings", post(f::create_filing).get(f::list_filings))
        .route("/api/v1/filings/{filing_id}", get(f::get_filing))
        .route("/api/v1/filings/{filing_id}/revoke", post(f::revoke_filing))
        .route("/api/v1/coverage", get(f::check_coverage))
        .route(
            "/api/v1/chronic-filings",
            post(f::create_chronic_filing).get(f::list_chronic_filings),
        )
        .route("/api/v1/chronic-filings/check", get(f::check_chronic_filing))
        .route("/api/v1/chronic-filings/{filing_id}", get(f::get_chronic_filing))
        .route("/api/v1/chronic-filings/{filing_id}/revoke", post(f::revoke_chronic_filing))
        .route("/api/v1/chronic-diseases", get(f::list_chronic_diseases))
        .route("/api/v1/regions", get(f::list_regions))
        .route("/api/v1/region-rules/{admdvs}", get(f::get_region_rules).put(f::set_region_rules))
        .route("/api/v1/catalog/items/{code}", get(catalog::get_item))
        .route("/api/v1/catalog/coverage", get(catalog::get_coverage))
        .route("/api/v1/catalog/resolve", post(catalog::resolve))
        .route(
            "/api/v1/catalog/mappings",
            post(catalog::upload_mappings).get(catalog::list_mappings),
        )
        .route("/api/v1/catalog/mappings/revoke", post(catalog::revoke_mapping))
        .route("/api/v1/catalog/changes", get(catalog::list_changes))
        .route("/api/v1/persons", get(routing::query_person))
        .route("/api/v1/visits", post(routing::register_visit))
        .route("/api/v1/visits/{mdtrt_id}/fee-lines", post(routing::upload_lines))
        .route("/api/v1/visits/{mdtrt_id}/fee-lines/cancel", post(routing::cancel_lines))
        .route("/api/v1/visits/{mdtrt_id}/discharge", post(routing::discharge))
        .route("/api/v1/visits/{mdtrt_id}/cancel", post(routing::cancel_visit))
        .route("/api/v1/visits/{mdtrt_id}/presettle", post(routing::presettle))
        .route("/api/v1/visits/{mdtrt_id}/settle", post(routing::settle))
        .route("/api/v1/settlements/{setl_id}/cancel", post(routing::cancel_settlement))
        .route("/api/v1/reversals", post(routing::reverse))
        .route("/api/v1/settlement-events", get(routing::events))
        .route("/api/v1/clearing/periods", get(c::list_periods))
        .route(PERIOD, get(c::get_period))
        .route(&format!("{PERIOD}/close"), post(c::close_period))
        .route(&format!("{PERIOD}/net"), post(c::net_period))
        .route(&format!("{PERIOD}/confirm"), post(c::confirm_period))
        .route(&format!("{PERIOD}/withdraw"), post(c::withdraw_confirmation))
        .route(&format!("{PERIOD}/disputes"), post(c::create_dispute).get(c::list_disputes))
        .route(&format!("{PERIOD}/settle"), post(c::settle_period))
        .route(&format!("{PERIOD}/netting"), get(c::get_netting))
        .route(&format!("{PERIOD}/instructions"), get(c::list_instructions))
        .route(&format!("{PERIOD}/statements/provinces/{{admdvs}}"), get(c::province_statement))
        .route(&format!("{PERIOD}/statements/hospitals"), get(c::hospital_statements))
        .route(&format!("{PERIOD}/items"), get(c::list_items))
        .route(&format!("{PERIOD}/audit"), get(c::audit_period))
        .route("/api/v1/clearing/prepaid-funds", get(c::list_funds))
        .route("/api/v1/clearing/prepaid-funds/{admdvs}", get(c::get_fund))
        .route("/api/v1/clearing/prepaid-funds/{admdvs}/deposits", post(c::record_deposit))
        .route("/api/v1/clearing/reconcile/totals", post(c::reconcile_totals))
        .route("/api/v1/clearing/reconcile/details", post(c::reconcile_details))
        .route("/api/v1/clearing/ingest", get(c::ingest_status))
        .route("/api/v1/clearing/balances", get(c::balances))
        .merge(crate::pages::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .layer(middleware::from_fn_with_state(state.0.edge.clone(), edge::layer))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; the API is documented in the README")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

/// 200 only when every service the gateway needs answers its health check with SERVING.
async fn healthz(State(state): State<AppState>) -> Response {
    let mut services = Map::new();
    let mut healthy = true;
    for dependency in &state.0.dependencies {
        let mut client = dependency.health.clone();
        let request = HealthCheckRequest { service: dependency.service.to_owned() };
        let answer = tokio::time::timeout(Duration::from_secs(2), client.check(request)).await;
        let status = match answer {
            Ok(Ok(response)) => match response.into_inner().status() {
                ServingStatus::Serving => "serving".to_owned(),
                other => format!("{other:?}").to_lowercase(),
            },
            Ok(Err(status)) => format!("unreachable: {}", status.message()),
            Err(_) => "unreachable: no answer within 2 s".to_owned(),
        };
        healthy &= status == "serving";
        services.insert(dependency.name.to_owned(), Value::String(status));
    }
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body =
        json!({ "status": if healthy { "ok" } else { "unavailable" }, "services": services });
    (code, Json(body)).into_response()
}

/// How the gateway is reached: HTTPS with client certificates, or plain HTTP on loopback.
#[derive(Debug, Clone)]
pub enum Transport {
    Tls(Arc<rustls::ServerConfig>),
    /// Development only: nobody is authenticated.
    Plain,
}

impl Transport {
    /// HTTPS from the files of `tls_dir` (see `medclear certs`); without one, plain HTTP —
    /// refused on any address but loopback, and said loudly on loopback.
    pub fn choose(
        tls_dir: Option<&crate::tls::TlsDir>,
        addr: &std::net::SocketAddr,
    ) -> Result<Self, medclear_common::Error> {
        if let Some(dir) = tls_dir {
            return Ok(Self::Tls(crate::tls::server_config(dir)?));
        }
        if !crate::tls::plain_http_allowed(addr) {
            return Err(medclear_common::Error::Internal(format!(
                "refusing plain HTTP on {addr}: hospitals must authenticate with client \
                 certificates. Give a TLS directory (--tls-dir; `medclear certs` makes one), or \
                 listen on loopback for development"
            )));
        }
        let warning = format!(
            "PLAIN HTTP on {addr}, DEVELOPMENT ONLY: no client certificates, the institution \
             named in each request is trusted. Use --tls-dir for anything else."
        );
        tracing::warn!("{warning}");
        eprintln!("WARNING: {warning}");
        Ok(Self::Plain)
    }
}

/// Serves the gateway on `listener` over `transport` until `shutdown` completes.
pub async fn serve_over(
    transport: Transport,
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match transport {
        Transport::Tls(config) => {
            crate::tls::serve(listener, config, router(state), shutdown).await
        }
        Transport::Plain => serve(listener, state, shutdown).await,
    }
}

/// Serves the gateway on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    // As for gRPC: small answers must not wait on Nagle's algorithm.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

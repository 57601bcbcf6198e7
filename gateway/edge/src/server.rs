//! The gateway's HTTP server: the routes an audience needs ([`crate::routes`] for hospitals
//! and the JSON API; the pages crate adds its own), wrapped in what every request meets —
//! `/healthz`, `/metrics`, the edge's limits ([`crate::limits`]), JSON errors for unknown
//! paths — and served over HTTPS with client certificates or, for development, plain HTTP on
//! loopback.

use std::{future::Future, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    extract::{DefaultBodyLimit, State},
    http::StatusCode,
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

use crate::{error::ApiError, json, limits, national, state::AppState};

/// `routes` behind the edge: `/healthz`, `/metrics`, the limits layer, the body limit, and
/// JSON answers for unknown paths and methods. Each app has its own edge: its rate buckets
/// and the metrics `/metrics` shows. Every request runs with the services' token in scope, so
/// the gRPC calls it makes carry it.
pub fn app(state: AppState, routes: Router<AppState>) -> Router {
    // The national interface's clients read only its envelope, refusals of the edge included.
    let edge = limits::Edge::new(state.0.limits, Some((national::PATH, national::refusal)));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(limits::metrics).with_state(edge.clone()))
        .merge(routes)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(json::MAX_BODY))
        .layer(middleware::from_fn_with_state(edge, limits::layer))
        .layer(middleware::from_fn_with_state(state.clone(), service_token_scope))
        .with_state(state)
}

/// Runs the request with the services' token in scope ([`medclear_common::server`]).
async fn service_token_scope(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let token = state.0.service_token.clone();
    medclear_common::server::with_service_token(token, next.run(request)).await
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

/// Serves `routes` behind the edge on `listener` over `transport` until `shutdown` completes.
pub async fn serve_over(
    transport: Transport,
    listener: TcpListener,
    state: AppState,
    routes: Router<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    match transport {
        Transport::Tls(config) => {
            crate::tls::serve(listener, config, app(state, routes), shutdown).await
        }
        Transport::Plain => serve(listener, state, routes, shutdown).await,
    }
}

/// Serves `routes` behind the edge on `listener`, plain HTTP, until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    routes: Router<AppState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    // As for gRPC: small answers must not wait on Nagle's algorithm.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
    });
    let app = app(state, routes).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

/// The `main` of a binary that serves `routes` behind the edge (`medclear-gateway`,
/// `medclear-pages`): its flags are [`crate::GatewayArgs`], its telemetry named `name`.
pub async fn main(
    name: &'static str,
    about: &'static str,
    routes: Router<AppState>,
) -> std::process::ExitCode {
    use clap::{Args as _, FromArgMatches as _};
    let command = crate::GatewayArgs::augment_args(clap::Command::new(name));
    let matches = command.about(about).version(env!("CARGO_PKG_VERSION")).get_matches();
    let args = match crate::GatewayArgs::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(e) => e.exit(),
    };
    let outcome = async {
        let _telemetry = medclear_common::telemetry::init(name)?;
        run(&args, routes).await
    };
    medclear_common::server::exit(name, outcome.await)
}

/// Runs `routes` behind the edge as the flags say, until SIGINT or SIGTERM (then drains with
/// the grace period): the `main` of `medclear-gateway`, `medclear-pages` and `medclear
/// gateway`.
pub async fn run(
    args: &crate::GatewayArgs,
    routes: Router<AppState>,
) -> medclear_common::Result<()> {
    use medclear_common::{Error, server};
    let state = AppState::from_settings(&args.settings()?)?;
    let transport = Transport::choose(args.tls_dir().as_ref(), &args.http)?;
    let listener = TcpListener::bind(args.http)
        .await
        .map_err(|e| Error::Internal(format!("cannot listen on {}: {e}", args.http)))?;
    tracing::info!(http = %args.http, "gateway listening");
    let token = tokio_util::sync::CancellationToken::new();
    let signal = token.clone();
    tokio::spawn(async move {
        server::shutdown_signal().await;
        signal.cancel();
    });
    let serve = serve_over(transport, listener, state, routes, token.clone().cancelled_owned());
    server::with_grace(token, async move {
        serve.await.map_err(|e| Error::Internal(format!("gateway: {e}")))
    })
    .await
}

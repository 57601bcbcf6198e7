//! Serving a service: the caller binds the listener (tests bind `127.0.0.1:0`) and owns
//! shutdown; every service answers the standard gRPC health check. A service's `launch` calls
//! [`serve`]; its binary uses [`listen_addr_from_env`], [`bind`], [`cancel_on_signal`] and
//! [`with_grace`] around that `launch`.

use std::{future::Future, net::SocketAddr, time::Duration};

use tokio::net::TcpListener;
use tokio_stream::{StreamExt as _, wrappers::TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::ServingStatus;

use crate::{Error, Result};

/// How long in-flight calls may run on after a shutdown signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// Serves `routes` plus `grpc.health.v1.Health` on `listener` until `shutdown` completes, then
/// drains in-flight calls. `services` are the fully qualified names reported as SERVING (the
/// empty name, for the whole server, is always reported).
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    services: &[&str],
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter.set_service_status("", ServingStatus::Serving).await;
    for name in services {
        reporter.set_service_status(*name, ServingStatus::Serving).await;
    }
    let addr = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
    tracing::info!(%addr, ?services, "gRPC server listening");
    // The caller bound the listener, so tonic does not configure accepted sockets: without
    // TCP_NODELAY, small answers wait on Nagle's algorithm and delayed ACKs (milliseconds each).
    let incoming = TcpListenerStream::new(listener).map(|stream| {
        let stream = stream?;
        stream.set_nodelay(true)?;
        Ok::<_, std::io::Error>(stream)
    });
    tonic::transport::Server::builder()
        .trace_fn(crate::telemetry::grpc_span)
        .layer(tower::layer::layer_fn(|inner| RequestIdScope { inner }))
        .add_routes(routes)
        .add_service(health)
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| Error::Internal(format!("gRPC server on {addr}: {e}")))
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}

/// Runs `work` until it ends by itself, or until `token` is cancelled and then at most
/// [`GRACE`] more: the bound on draining after a shutdown signal.
pub async fn with_grace<F>(token: CancellationToken, work: F) -> Result<()>
where
    F: Future<Output = Result<()>>,
{
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        () = token.cancelled() => {}
    }
    match tokio::time::timeout(GRACE, work).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(grace = ?GRACE, "in-flight work did not finish within the grace period");
            Ok(())
        }
    }
}

/// The address a service binary listens on: `<SERVICE>_LISTEN_ADDR`, default
/// `0.0.0.0:<default_port>`. Called by `main` only; libraries are handed a bound listener.
pub fn listen_addr_from_env(service: &str, default_port: u16) -> Result<SocketAddr> {
    let var = format!("{}_LISTEN_ADDR", service.to_ascii_uppercase());
    crate::config::parse_or(&var, SocketAddr::from(([0, 0, 0, 0], default_port)))
}

/// Binds `addr`, with an error that names it.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| Error::Internal(format!("binding {addr}: {e}")))
}

/// A token cancelled on SIGINT or SIGTERM: a service binary's shutdown.
pub fn cancel_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let signal = token.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        signal.cancel();
    });
    token
}

/// Completes when `shutdown` does, cancelling `token` as it completes, so a service's background
/// tasks stop when its server starts draining.
pub async fn cancel_when(shutdown: impl Future<Output = ()>, token: CancellationToken) {
    shutdown.await;
    token.cancel();
}

/// The exit code of a process that ended with `result`, after saying why it failed.
pub fn exit(name: &str, result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// A gRPC channel to another service at `url` (e.g. `http://127.0.0.1:50051`): connected on
/// first use and again after failures, with a connect timeout and a per-call deadline.
pub fn channel(name: &str, url: &str) -> Result<tonic::transport::Channel> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|e| Error::Internal(format!("{name} endpoint {url:?}: {e}")))?;
    Ok(endpoint
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(15))
        .tcp_nodelay(true)
        .connect_lazy())
}

/// Serves each call with its `x-request-id` in [`crate::telemetry::REQUEST_ID`], so the calls
/// it makes to other services carry it on.
#[derive(Debug, Clone)]
struct RequestIdScope<S> {
    inner: S,
}

impl<S, B> tower::Service<tonic::codegen::http::Request<B>> for RequestIdScope<S>
where
    S: tower::Service<tonic::codegen::http::Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = std::result::Result<S::Response, S::Error>> + Send>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::result::Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: tonic::codegen::http::Request<B>) -> Self::Future {
        let id = crate::telemetry::request_id_of(request.headers());
        let call = self.inner.call(request);
        Box::pin(crate::telemetry::REQUEST_ID.scope(id, call))
    }
}

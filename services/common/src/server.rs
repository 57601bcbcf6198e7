//! Serving a service: the caller binds the listener (tests bind `127.0.0.1:0`) and owns
//! shutdown; every service answers the standard gRPC health check. A service's `launch` calls
//! [`serve`]; its binary uses [`listen_addr_from_env`], [`bind`], [`cancel_on_signal`] and
//! [`with_grace`] around that `launch`.
//!
//! Until the services authenticate each other with mutual TLS, they share a [`ServiceToken`]
//! (`MEDCLEAR_SERVICE_TOKEN`): [`serve`] refuses every call whose metadata does not carry it
//! in [`SERVICE_TOKEN_KEY`] (`Unauthenticated`, reason `service_token_required` or
//! `invalid_service_token`), except the health check, which load balancers and the gateway's
//! `/healthz` ask without credentials and which tells nothing but "serving". Clients send it
//! through [`crate::telemetry::TraceContext`] (every [`channel`] has it): the token of the
//! service serving the call being made from, else the one given to [`use_service_token`] (the
//! `medclear` CLI's commands, tests).

use std::{fmt, future::Future, net::SocketAddr, sync::OnceLock, time::Duration};

use tokio::net::TcpListener;
use tokio_stream::{StreamExt as _, wrappers::TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::{Status, service::Routes};
use tonic_health::ServingStatus;

use crate::{Error, Result, config::Secret};

/// How long in-flight calls may run on after a shutdown signal.
pub const GRACE: Duration = Duration::from_secs(10);

/// Serves `routes` plus `grpc.health.v1.Health` on `listener` until `shutdown` completes, then
/// drains in-flight calls. `services` are the fully qualified names reported as SERVING (the
/// empty name, for the whole server, is always reported). Every call but the health check must
/// carry `token` (see the module's text); the calls the service makes while serving one carry
/// it too.
pub async fn serve(
    listener: TcpListener,
    routes: Routes,
    services: &[&str],
    token: ServiceToken,
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
        .layer(tower::layer::layer_fn(move |inner| CallScope { inner, token: token.clone() }))
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
/// `127.0.0.1:<default_port>` — loopback, so a service is reachable from elsewhere only when
/// its deployment says so (the container images set `0.0.0.0`). Called by `main` only;
/// libraries are handed a bound listener.
pub fn listen_addr_from_env(service: &str, default_port: u16) -> Result<SocketAddr> {
    let var = format!("{}_LISTEN_ADDR", service.to_ascii_uppercase());
    crate::config::parse_or(&var, SocketAddr::from(([127, 0, 0, 1], default_port)))
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

/// A gRPC channel to another service at `url` (e.g. `http://127.0.0.1:50051`) whose calls carry
/// the trace context, the request id and the service token
/// ([`crate::telemetry::TraceContext`]); see [`connect_lazy`].
pub fn channel(name: &str, url: &str) -> Result<crate::telemetry::Traced> {
    Ok(tonic::service::interceptor::InterceptedService::new(
        connect_lazy(name, url)?,
        crate::telemetry::TraceContext,
    ))
}

/// [`channel`], connected now: a service that cannot be reached is an error here (naming it
/// and `url`), not at the first call.
pub async fn connect(name: &str, url: &str) -> Result<crate::telemetry::Traced> {
    let channel = endpoint(name, url)?
        .connect()
        .await
        .map_err(|e| Error::Internal(format!("cannot reach the {name} service at {url}: {e}")))?;
    Ok(tonic::service::interceptor::InterceptedService::new(
        channel,
        crate::telemetry::TraceContext,
    ))
}

/// The bare channel under [`channel`], for a client that adds
/// [`crate::telemetry::TraceContext`] itself (or asks only the health check): connected on
/// first use and again after failures, with a connect timeout and a per-call deadline.
pub fn connect_lazy(name: &str, url: &str) -> Result<tonic::transport::Channel> {
    Ok(endpoint(name, url)?.connect_lazy())
}

/// Where `name` is, with a connect timeout and a per-call deadline.
fn endpoint(name: &str, url: &str) -> Result<tonic::transport::Endpoint> {
    let endpoint = tonic::transport::Endpoint::from_shared(url.to_owned())
        .map_err(|e| Error::Internal(format!("{name} endpoint {url:?}: {e}")))?;
    Ok(endpoint
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(15))
        .tcp_nodelay(true))
}

// ---------------------------------------------------------------------------------------------
// The shared service token
// ---------------------------------------------------------------------------------------------

/// The metadata key a call carries the service token in.
pub const SERVICE_TOKEN_KEY: &str = "x-medclear-service-token";
/// The environment variable of the service token.
pub const SERVICE_TOKEN_VAR: &str = "MEDCLEAR_SERVICE_TOKEN";
/// The shortest token taken.
pub const SERVICE_TOKEN_MIN_LEN: usize = 32;

/// The token the services share until they authenticate each other with mutual TLS: at least
/// [`SERVICE_TOKEN_MIN_LEN`] visible ASCII characters (it travels as gRPC metadata). Never
/// shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceToken(Secret);

impl ServiceToken {
    /// A token from its text, refused (naming [`SERVICE_TOKEN_VAR`]) when too short or not
    /// visible ASCII.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text: String = text.into();
        let text = text.trim();
        if text.len() < SERVICE_TOKEN_MIN_LEN {
            return Err(Error::Internal(format!(
                "{SERVICE_TOKEN_VAR} must be at least {SERVICE_TOKEN_MIN_LEN} characters \
                 (it has {}); e.g. `openssl rand -hex 32`",
                text.chars().count()
            )));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Internal(format!(
                "{SERVICE_TOKEN_VAR} must be visible ASCII characters only (no spaces)"
            )));
        }
        Ok(Self(Secret::new(text)))
    }

    /// A token of 64 hex digits from `random` bytes (which the caller takes from the operating
    /// system's random source): what `medclear up` makes for each run.
    pub fn from_random(random: [u8; 32]) -> Self {
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        Self(Secret::new(hex))
    }

    /// `MEDCLEAR_SERVICE_TOKEN`, which every service and the gateway need: a process without
    /// it does not start.
    pub fn from_env() -> Result<Self> {
        match crate::config::var(SERVICE_TOKEN_VAR) {
            Some(text) => Self::new(text),
            None => Err(Error::Internal(format!(
                "set {SERVICE_TOKEN_VAR}: the token the services and the gateway share (at \
                 least {SERVICE_TOKEN_MIN_LEN} characters, the same for all of them; e.g. \
                 `openssl rand -hex 32`)"
            ))),
        }
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Whether `presented` is this token, in time that does not depend on where they differ.
    pub fn matches(&self, presented: &[u8]) -> bool {
        constant_time_eq(self.expose().as_bytes(), presented)
    }
}

impl fmt::Debug for ServiceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServiceToken(***)")
    }
}

/// Equality of two byte strings whose time depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

tokio::task_local! {
    /// The token of the service serving the call on this task (set by [`serve`], and by the
    /// gateway for each request): the calls made from it carry it on.
    static SERVICE_TOKEN: ServiceToken;
}

/// The token of calls made outside any served call (the CLI's commands, tests).
static PROCESS_TOKEN: OnceLock<ServiceToken> = OnceLock::new();

/// Makes `token` the one this process's clients send from outside a served call. Once per
/// process: another token afterwards is refused.
pub fn use_service_token(token: ServiceToken) -> Result<()> {
    let held = PROCESS_TOKEN.get_or_init(|| token.clone());
    if *held == token {
        Ok(())
    } else {
        Err(Error::Internal("this process already sends another service token".into()))
    }
}

/// The token a service takes calls with: the one its settings name, else the one this process's
/// clients send; neither is an error naming `MEDCLEAR_SERVICE_TOKEN` (the service does not
/// start).
pub fn service_token_of(configured: Option<ServiceToken>) -> Result<ServiceToken> {
    configured.or_else(|| PROCESS_TOKEN.get().cloned()).ok_or_else(|| {
        Error::Internal(format!(
            "no service token: set {SERVICE_TOKEN_VAR} (the token the services and the gateway \
             share, at least {SERVICE_TOKEN_MIN_LEN} characters)"
        ))
    })
}

/// Runs `work` with `token` as the token of the calls it makes (a service's background tasks,
/// the gateway's requests).
pub async fn with_service_token<F: Future>(token: ServiceToken, work: F) -> F::Output {
    SERVICE_TOKEN.scope(token, work).await
}

/// Puts the token of the current task (else of the process) into outgoing `metadata`; nothing
/// when there is none (the call is then refused by name).
pub fn insert_service_token(metadata: &mut tonic::metadata::MetadataMap) {
    let value = SERVICE_TOKEN
        .try_with(|token| tonic::metadata::AsciiMetadataValue::try_from(token.expose()))
        .ok()
        .or_else(|| {
            PROCESS_TOKEN
                .get()
                .map(|token| tonic::metadata::AsciiMetadataValue::try_from(token.expose()))
        });
    if let Some(Ok(mut value)) = value {
        value.set_sensitive(true);
        metadata.insert(SERVICE_TOKEN_KEY, value);
    }
}

/// Why a call's metadata does not authenticate it, if it does not.
fn refusal(token: &ServiceToken, headers: &tonic::codegen::http::HeaderMap) -> Option<Status> {
    let (reason, message) = match headers.get(SERVICE_TOKEN_KEY) {
        None => (
            "service_token_required",
            format!(
                "this service takes calls from medclear's own services and tools only: send \
                 the shared token ({SERVICE_TOKEN_VAR}) in {SERVICE_TOKEN_KEY} metadata"
            ),
        ),
        Some(presented) if token.matches(presented.as_bytes()) => return None,
        Some(_) => (
            "invalid_service_token",
            format!("the {SERVICE_TOKEN_KEY} metadata is not this service's {SERVICE_TOKEN_VAR}"),
        ),
    };
    let mut status = Status::unauthenticated(message);
    status
        .metadata_mut()
        .insert(crate::error::REASON_KEY, tonic::metadata::AsciiMetadataValue::from_static(reason));
    Some(status)
}

/// Checks each call's service token (the health check excepted), then serves it with its
/// `x-request-id` in [`crate::telemetry::REQUEST_ID`] and the service's token in scope, so the
/// calls it makes to other services carry both on.
#[derive(Debug, Clone)]
struct CallScope<S> {
    inner: S,
    token: ServiceToken,
}

impl<S, B> tower::Service<tonic::codegen::http::Request<B>> for CallScope<S>
where
    S: tower::Service<
            tonic::codegen::http::Request<B>,
            Response = tonic::codegen::http::Response<tonic::body::Body>,
        >,
    S::Error: Send + 'static,
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
        let health = request.uri().path().starts_with("/grpc.health.v1.Health/");
        if !health && let Some(status) = refusal(&self.token, request.headers()) {
            tracing::warn!(
                rpc = %request.uri().path(),
                reason = %crate::error::status_reason(&status),
                "refused a call without the service token"
            );
            return Box::pin(std::future::ready(Ok(status.into_http())));
        }
        let id = crate::telemetry::request_id_of(request.headers());
        let call = self.inner.call(request);
        let token = self.token.clone();
        let scoped = crate::telemetry::REQUEST_ID.scope(id, SERVICE_TOKEN.scope(token, call));
        // A call runs to its end even when its caller goes away (a cancelled or timed-out
        // client, a dropped connection): a handler dropped half-way through a transaction
        // could leave its pooled connection out of step with the server, and a write that
        // began is better finished — its msgid answers it on the retry — than cut. Spawned
        // when first polled, inside the call's span, which it carries.
        Box::pin(async move {
            let span = tracing::Span::current();
            match tokio::spawn(tracing::Instrument::instrument(scoped, span)).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::error!(error = %e, "a call's handler failed");
                    Ok(Status::internal("internal error; it has been logged").into_http())
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A call whose caller goes away half-way still runs to its end (its transaction is
    /// finished, not cut), and one refused for its token never reaches the handler.
    #[tokio::test]
    async fn a_call_runs_to_its_end_when_its_caller_goes_away() {
        use std::sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        };
        use tower::Service as _;
        let finished = Arc::new(AtomicBool::new(false));
        let done = finished.clone();
        let handler = tower::service_fn(move |_request: tonic::codegen::http::Request<()>| {
            let done = done.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                done.store(true, Ordering::SeqCst);
                Ok::<_, std::convert::Infallible>(tonic::codegen::http::Response::new(
                    tonic::body::Body::empty(),
                ))
            }
        });
        let token = ServiceToken::new("t".repeat(32)).unwrap();
        let mut scope = CallScope { inner: handler, token: token.clone() };
        let request = |with: &str| {
            tonic::codegen::http::Request::builder()
                .uri("/medclear.routing.v1.RoutingService/Settle")
                .header(SERVICE_TOKEN_KEY, with)
                .body(())
                .unwrap()
        };
        let mut call = scope.call(request(token.expose()));
        // The caller polls once (the call starts), then gives up.
        let started = tokio::time::timeout(Duration::from_millis(5), &mut call).await;
        assert!(started.is_err(), "still running");
        drop(call);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(finished.load(Ordering::SeqCst), "the handler ran to its end");

        finished.store(false, Ordering::SeqCst);
        let refused = scope.call(request(&"x".repeat(32))).await.unwrap();
        assert_ne!(refused.status(), tonic::codegen::http::StatusCode::INTERNAL_SERVER_ERROR);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!finished.load(Ordering::SeqCst), "a refused call never reaches its handler");
    }

    #[test]
    fn tokens_are_long_visible_and_never_shown() {
        assert!(ServiceToken::new("short").unwrap_err().to_string().contains(SERVICE_TOKEN_VAR));
        assert!(ServiceToken::new(format!("{} x", "a".repeat(32))).is_err());
        let token = ServiceToken::new("t".repeat(32)).unwrap();
        assert_eq!(format!("{token:?}"), "ServiceToken(***)");
        assert!(token.matches("t".repeat(32).as_bytes()));
        assert!(!token.matches("t".repeat(31).as_bytes()));
        assert!(!token.matches(format!("{}u", "t".repeat(31)).as_bytes()));
    }

    #[test]
    fn a_call_without_the_token_or_with_another_is_refused_by_name() {
        let token = ServiceToken::new("t".repeat(40)).unwrap();
        let mut headers = tonic::codegen::http::HeaderMap::new();
        let reason = |headers: &tonic::codegen::http::HeaderMap| {
            refusal(&token, headers).map(|s| {
                assert_eq!(s.code(), tonic::Code::Unauthenticated);
                crate::error::status_reason(&s)
            })
        };
        assert_eq!(reason(&headers).as_deref(), Some("service_token_required"));
        headers.insert(SERVICE_TOKEN_KEY, "u".repeat(40).parse().unwrap());
        assert_eq!(reason(&headers).as_deref(), Some("invalid_service_token"));
        headers.insert(SERVICE_TOKEN_KEY, "t".repeat(40).parse().unwrap());
        assert_eq!(reason(&headers), None);
    }
}

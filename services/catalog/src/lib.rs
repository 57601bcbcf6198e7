//! The catalogue unification service (目录), DESIGN.md §4.2: the national catalogue, each
//! treating region's coverage of it, hospitals' local-code mappings, and the resolution of fee
//! lines on the settlement hot path.
//!
//! * [`domain`]: code formats, classes, restrictions, effective dating — pure.
//! * [`import`]: rows in the documented CSV columns → validated domain values.
//! * [`index`]: the catalogue in memory, versioned; resolution reads only this.
//! * [`repo`]: every SQL statement.
//! * [`service`]: publishing versions (imports, 3301/3302) and answering queries.
//! * [`grpc`]: the wire edge.
//!
//! [`launch`] runs the service from its [`Settings`]: the one wiring shared by the
//! `medclear-catalog` binary, `medclear up` and the tests.

pub mod domain;
pub mod grpc;
pub mod import;
pub mod index;
pub mod repo;
pub mod service;

use std::{future::Future, sync::Arc, time::Duration};

use medclear_common::{
    Error, Result,
    clock::{Clock, SystemClock},
    config::{self, DbConfig},
    db,
    server::{self, ServiceToken},
};
use medclear_proto::catalog::v1::catalog_service_server::CatalogServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

pub use service::Catalog;

/// The service name reported by the gRPC health check.
pub const SERVICE_NAME: &str = "medclear.catalog.v1.CatalogService";

/// The largest gRPC message the service takes (an import row stream is many small messages).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// How often an instance picks up versions other instances publish, unless told otherwise.
pub const DEFAULT_FOLLOW_EVERY: Duration = Duration::from_millis(500);

/// Everything the catalogue service needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DbConfig,
    /// Where "today" comes from (coverage and mappings are effective-dated).
    pub clock: Arc<dyn Clock>,
    /// How often to pick up catalogue versions published by other instances sharing the
    /// database (one instance sees its own at once).
    pub follow_every: Duration,
    /// The token every call to this service must carry, and its calls to others do
    /// (`MEDCLEAR_SERVICE_TOKEN`; see [`server::ServiceToken`]). `None`: the one this process's
    /// own clients send ([`server::use_service_token`]); with neither, it does not start.
    pub service_token: Option<ServiceToken>,
}

impl Settings {
    /// Settings following other instances every [`DEFAULT_FOLLOW_EVERY`].
    pub fn new(db: DbConfig, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock, follow_every: DEFAULT_FOLLOW_EVERY, service_token: None }
    }

    /// From the environment — for `main` only: `CATALOG_DATABASE_URL` or `DATABASE_URL`
    /// (required), `CATALOG_DB_SCHEMA` (default `catalog`), `DB_MAX_CONNECTIONS` (default 10),
    /// `CATALOG_FOLLOW_MS` (default 500, at least 1), `MEDCLEAR_SERVICE_TOKEN` (required); the
    /// system clock.
    pub fn from_env() -> Result<Self> {
        let follow_ms: u64 = config::parse_or("CATALOG_FOLLOW_MS", 500)?;
        if follow_ms == 0 {
            return Err(Error::Internal("CATALOG_FOLLOW_MS must be at least 1".into()));
        }
        Ok(Self {
            follow_every: Duration::from_millis(follow_ms),
            service_token: Some(ServiceToken::from_env()?),
            ..Self::new(DbConfig::from_env("catalog")?, Arc::new(SystemClock))
        })
    }
}

/// Connects to the service's database and brings its schema up to date ([`launch`] does this
/// itself; tests and tools that look at the tables directly use it too).
pub async fn connect(config: &DbConfig) -> Result<PgPool> {
    db::connect(config, sqlx::migrate!("../../migrations/catalog")).await
}

/// Runs the catalogue service: connects to its database (running migrations), loads the
/// catalogue into memory, follows versions other instances publish, and serves gRPC with health
/// checking on `listener` until `shutdown` completes and in-flight calls have drained; then
/// stops following and closes the pool.
pub async fn launch(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    tracing::info!(?settings, "launching the catalogue service");
    let token = server::service_token_of(settings.service_token.clone())?;
    let pool = connect(&settings.db).await?;
    let result = run(pool.clone(), settings, token, listener, shutdown).await;
    pool.close().await;
    result
}

async fn run(
    pool: PgPool,
    settings: Settings,
    token: ServiceToken,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let catalog = Catalog::open(pool, settings.clock).await?;
    let stop = CancellationToken::new();
    let follower = tokio::spawn(catalog.clone().follow(settings.follow_every, stop.clone()));
    let shutdown = server::cancel_when(shutdown, stop.clone());
    let result = server::serve(listener, routes(catalog), &[SERVICE_NAME], token, shutdown).await;
    stop.cancel();
    if let Err(e) = follower.await {
        tracing::warn!(error = %e, "the catalogue follower panicked");
    }
    result
}

/// The gRPC routes of the service.
fn routes(catalog: Arc<Catalog>) -> Routes {
    Routes::new(
        CatalogServiceServer::new(grpc::CatalogGrpc(catalog))
            .max_decoding_message_size(MAX_MESSAGE),
    )
}

//! Interregional netting and clearing (清算), DESIGN.md §4.4.
//!
//! * [`domain`]: the rules, pure — periods, aggregates, netting, prepaid funds, the ledger's
//!   postings, reconciliation.
//! * [`repo`]: every SQL statement, one function each, composable into transactions.
//! * [`service`]: the use cases; one transaction each, operator actions with their audit line.
//! * [`ingest`]: following the routing instances' event streams, exactly once.
//! * [`grpc`]: the wire edge.
//!
//! [`launch`] runs the service from its [`Settings`]: the one wiring shared by the
//! `medclear-clearing` binary, `medclear up` and the tests.

pub mod domain;
pub mod grpc;
pub mod ingest;
pub mod repo;
pub mod service;

use std::{future::Future, sync::Arc};

use medclear_common::{
    Result,
    clock::{Clock, SystemClock},
    config::{self, DbConfig},
    db,
    server::{self, ServiceToken},
};
use medclear_proto::clearing::v1::clearing_service_server::ClearingServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

pub use service::{ClearingConfig, ClearingService};

/// The service name reported by the gRPC health check.
pub const SERVICE_NAME: &str = "medclear.clearing.v1.ClearingService";

/// Everything the clearing service needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DbConfig,
    /// Where "now" comes from (periods open and close by date).
    pub clock: Arc<dyn Clock>,
    /// How periods are cut and prepaid funds sized.
    pub config: ClearingConfig,
    /// The routing instances whose settlement events are consumed.
    pub sources: Vec<ingest::Source>,
    /// The token every call to this service must carry, and its calls to others do
    /// (`MEDCLEAR_SERVICE_TOKEN`; see [`server::ServiceToken`]). `None`: the one this process's
    /// own clients send ([`server::use_service_token`]); with neither, it does not start.
    pub service_token: Option<ServiceToken>,
}

impl Settings {
    /// Settings with the default periods and prepaid rules.
    pub fn new(db: DbConfig, clock: Arc<dyn Clock>, sources: Vec<ingest::Source>) -> Self {
        Self { db, clock, config: ClearingConfig::default(), sources, service_token: None }
    }

    /// From the environment — for `main` only: `CLEARING_DATABASE_URL` or `DATABASE_URL`
    /// (required), `CLEARING_DB_SCHEMA` (default `clearing`), `DB_MAX_CONNECTIONS` (default 10),
    /// `CLEARING_SOURCES` (`name=url,name=url`; default `routing=http://127.0.0.1:50053`), and
    /// `MEDCLEAR_SERVICE_TOKEN` (required), and what [`ClearingConfig::from_env`] reads; the
    /// system clock.
    pub fn from_env() -> Result<Self> {
        let db = DbConfig::from_env("clearing")?;
        let sources = ingest::parse_sources(
            &config::var("CLEARING_SOURCES").unwrap_or_else(|| "http://127.0.0.1:50053".into()),
        )?;
        Ok(Self {
            config: ClearingConfig::from_env()?,
            service_token: Some(ServiceToken::from_env()?),
            ..Self::new(db, Arc::new(SystemClock), sources)
        })
    }
}

/// Connects to the service's database and brings its schema up to date ([`launch`] does this
/// itself; tests, benchmarks and tools that use the tables directly use it too).
pub async fn connect(config: &DbConfig) -> Result<PgPool> {
    db::connect(config, sqlx::migrate!("../../migrations/clearing")).await
}

/// Runs the clearing service: connects to its database (running migrations), follows every
/// source's event stream, and serves gRPC with health checking on `listener` until `shutdown`
/// completes; then stops following, lets in-flight calls drain and closes the pool.
pub async fn launch(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    tracing::info!(?settings, "launching the clearing service");
    let token = server::service_token_of(settings.service_token)?;
    let pool = connect(&settings.db).await?;
    let service = ClearingService::new(pool.clone(), settings.clock, settings.config);
    let stop = CancellationToken::new();
    let followers: Vec<_> = settings
        .sources
        .into_iter()
        .map(|source| {
            tracing::info!(source = %source.name, endpoint = %source.endpoint, "consuming");
            // The follower's calls to routing carry the service token.
            let follow = ingest::follow(service.clone(), source, stop.clone());
            tokio::spawn(server::with_service_token(token.clone(), follow))
        })
        .collect();
    let routes = Routes::new(ClearingServiceServer::new(grpc::ClearingGrpc(service)));
    let shutdown = server::cancel_when(shutdown, stop.clone());
    let result = server::serve(listener, routes, &[SERVICE_NAME], token, shutdown).await;
    stop.cancel();
    for follower in followers {
        if let Err(e) = follower.await {
            tracing::warn!(error = %e, "an event stream follower panicked");
        }
    }
    pool.close().await;
    result
}

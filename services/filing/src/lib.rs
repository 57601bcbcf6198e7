//! The filing registration service (备案), DESIGN.md §4.1: who may be treated where, for which
//! chronic diseases, and the question the routing service asks — "is this person covered in
//! that region on that day, and how?".
//!
//! * [`domain`]: the rules, pure; a clock's date is passed in.
//! * [`repo`]: every SQL statement, one function each, composable into transactions.
//! * [`service`]: the use cases; one transaction each, with its audit line.
//! * [`convert`] and [`grpc`]: the wire edge; requests are validated once, there.
//!
//! [`launch`] runs the service from its [`Settings`]: the one wiring shared by the
//! `medclear-filing` binary, `medclear up` and the tests.

pub mod convert;
pub mod domain;
pub mod grpc;
pub mod repo;
pub mod service;

use std::{future::Future, sync::Arc};

use medclear_common::{
    Result,
    clock::{Clock, SystemClock},
    config::DbConfig,
    db,
    server::{self, ServiceToken},
};
use medclear_proto::filing::v1::filing_service_server::FilingServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use service::FilingService;

/// The service name reported by the gRPC health check.
pub const SERVICE_NAME: &str = "medclear.filing.v1.FilingService";

/// Everything the filing service needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DbConfig,
    /// Where "today" comes from (filings take effect and expire by date).
    pub clock: Arc<dyn Clock>,
    /// The token every call to this service must carry, and its calls to others do
    /// (`MEDCLEAR_SERVICE_TOKEN`; see [`server::ServiceToken`]). `None`: the one this process's
    /// own clients send ([`server::use_service_token`]); with neither, it does not start.
    pub service_token: Option<ServiceToken>,
}

impl Settings {
    pub fn new(db: DbConfig, clock: Arc<dyn Clock>) -> Self {
        Self { db, clock, service_token: None }
    }

    /// From the environment — for `main` only: `FILING_DATABASE_URL` or `DATABASE_URL`
    /// (required), `FILING_DB_SCHEMA` (default `filing`), `DB_MAX_CONNECTIONS` (default 10),
    /// `MEDCLEAR_SERVICE_TOKEN` (required); the system clock.
    pub fn from_env() -> Result<Self> {
        let service_token = Some(ServiceToken::from_env()?);
        Ok(Self {
            service_token,
            ..Self::new(DbConfig::from_env("filing")?, Arc::new(SystemClock))
        })
    }
}

/// Connects to the service's database and brings its schema up to date ([`launch`] does this
/// itself; tests and tools that look at the tables directly use it too).
pub async fn connect(config: &DbConfig) -> Result<PgPool> {
    db::connect(config, sqlx::migrate!("../../migrations/filing")).await
}

/// Runs the filing service: connects to its database (running migrations), serves gRPC with
/// health checking on `listener` until `shutdown` completes and in-flight calls have drained,
/// then closes the pool.
pub async fn launch(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    tracing::info!(?settings, "launching the filing service");
    let token = server::service_token_of(settings.service_token)?;
    let pool = connect(&settings.db).await?;
    let routes = routes(FilingService::new(pool.clone(), settings.clock));
    let result = server::serve(listener, routes, &[SERVICE_NAME], token, shutdown).await;
    pool.close().await;
    result
}

/// The gRPC routes of the service.
fn routes(service: FilingService) -> Routes {
    Routes::new(FilingServiceServer::new(grpc::FilingGrpc(service)))
}

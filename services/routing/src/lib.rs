//! Claim routing and settlement (结算), DESIGN.md §4.3 — so far its pure core:
//!
//! * [`policy`]: the home-region benefit policy format (documents the bureaus publish) and its
//!   validation.
//! * [`policies`]: the published versions in memory, looked up county → city → province →
//!   national default, kept up to date from the database ([`POLICY_REFRESH`]).
//! * [`publication`]: the bureaus' operations — validate, draft, publish, list — with who may
//!   do what, and the audit trail.
//! * [`preview`]: re-adjudication — a draft's effect on a past month, and stored settlements
//!   computed again under the version they recorded.
//! * [`calc`]: the settlement calculator — resolved lines, person, accumulators, policy,
//!   filing and visit in; the breakdown in the national field names out.
//! * [`persons`]: person rows (CSV columns, citizen-ID checksum) and a demo population.
//! * [`institutions`]: the registry of designated institutions (region, hospital level).
//! * [`repo`] and [`settlement`]: persons, and settling / cancelling exactly once — the
//!   settlement, its fund details, the accumulators, the account and a gap-free outbox event
//!   in one transaction.
//!
//! * [`lifecycle`]: a hospital's visit from registration to settlement; settling checks
//!   coverage with the filing service and resolves lines with the catalogue, over gRPC, and
//!   the store computes one settlement that pre-settling answers and settling keeps.
//! * [`settlement_list`]: the settlement lists (结算清单) hospitals upload for their
//!   settlements, checked against them and kept as sent, in versions.
//!
//! * [`model`]: the requests as validated domain types (fee lines, uploads, registrations,
//!   settle commands, msgids), each built once from its protocol message with `TryFrom`.
//! * [`grpc`]: the wire edge, thin: it converts, calls the lifecycle and converts back; and
//!   the event stream clearing consumes.
//!
//! * [`partition`]: the home provinces an instance owns; ids name the home province so the
//!   gateway routes every call to the owner.
//!
//! [`launch`] runs the service from its [`Settings`]: the one wiring shared by the
//! `medclear-routing` binary, `medclear up` and the tests.
//!
//! Still to come (see the notes): the settle-path benchmark.

pub mod calc;
pub mod grpc;
pub mod institutions;
pub mod lifecycle;
pub mod model;
pub mod partition;
pub mod persons;
pub mod policies;
pub mod policy;
pub mod preview;
pub mod publication;
pub mod repo;
pub mod settlement;
pub mod settlement_list;

use std::{future::Future, sync::Arc};

use medclear_common::{
    Result,
    clock::{Clock, SystemClock},
    config::{self, DbConfig},
    db,
    server::{self, ServiceToken, connect_lazy},
};
use medclear_proto::routing::v1::routing_service_server::RoutingServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::{
    lifecycle::Lifecycle, partition::Partition, policies::PolicyBook, publication::Publications,
    settlement::Settlements,
};

/// The service name reported by the gRPC health check.
pub const SERVICE_NAME: &str = "medclear.routing.v1.RoutingService";

/// How often an instance looks for policies published through another instance (a
/// publication through this one is in its book at once).
pub const POLICY_REFRESH: std::time::Duration = std::time::Duration::from_secs(2);

/// Everything the routing service needs to run. (Its policies are in its database.)
#[derive(Debug, Clone)]
pub struct Settings {
    pub db: DbConfig,
    /// Where "now" comes from (settlement times, accumulator years).
    pub clock: Arc<dyn Clock>,
    /// The filing service, asked whether a patient is covered: e.g. `http://127.0.0.1:50051`.
    pub filing_endpoint: String,
    /// The catalogue service, which resolves fee lines: e.g. `http://127.0.0.1:50052`.
    pub catalog_endpoint: String,
    /// The home provinces this instance settles.
    pub partition: Partition,
    /// The token every call to this service must carry, and its calls to others do
    /// (`MEDCLEAR_SERVICE_TOKEN`; see [`server::ServiceToken`]). `None`: the one this process's
    /// own clients send ([`server::use_service_token`]); with neither, it does not start.
    pub service_token: Option<ServiceToken>,
}

impl Settings {
    /// Settings of an instance that owns every province.
    pub fn new(
        db: DbConfig,
        clock: Arc<dyn Clock>,
        filing_endpoint: impl Into<String>,
        catalog_endpoint: impl Into<String>,
    ) -> Self {
        Self {
            db,
            clock,
            filing_endpoint: filing_endpoint.into(),
            catalog_endpoint: catalog_endpoint.into(),
            partition: Partition::all(),
            service_token: None,
        }
    }

    /// From the environment — for `main` only: `ROUTING_DATABASE_URL` or `DATABASE_URL`
    /// (required), `ROUTING_DB_SCHEMA` (default `routing`), `DB_MAX_CONNECTIONS` (default 10),
    /// `FILING_ENDPOINT` (default `http://127.0.0.1:50051`), `CATALOG_ENDPOINT` (default
    /// `http://127.0.0.1:50052`), `ROUTING_PROVINCES` (default `all`; e.g. `42,44`),
    /// `MEDCLEAR_SERVICE_TOKEN` (required); the system clock.
    pub fn from_env() -> Result<Self> {
        let db = DbConfig::from_env("routing")?;
        let filing =
            config::var("FILING_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50051".into());
        let catalog =
            config::var("CATALOG_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50052".into());
        let partition = Partition::parse(&config::var("ROUTING_PROVINCES").unwrap_or_default())?;
        Ok(Self {
            partition,
            service_token: Some(ServiceToken::from_env()?),
            ..Self::new(db, Arc::new(SystemClock), filing, catalog)
        })
    }
}

/// Connects to the routing database and brings its schema up to date ([`launch`] does this
/// itself; tests, benchmarks and tools that use the tables directly use it too).
pub async fn connect(config: &DbConfig) -> Result<PgPool> {
    db::connect(config, sqlx::migrate!("../../migrations/routing")).await
}

/// Runs the routing service: connects to its database (running migrations), settles with the
/// policies published in it for the provinces of its partition — asking the filing and catalogue services
/// over gRPC — and serves gRPC with health checking on `listener` until `shutdown` completes and
/// in-flight calls have drained; then closes the pool.
pub async fn launch(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    tracing::info!(?settings, provinces = %settings.partition.describe(), "launching the routing service");
    // Bad endpoints and policies are found before the database is touched. The lifecycle's
    // clients send the trace context and, from the calls this server serves, its token.
    let filing = connect_lazy("filing", &settings.filing_endpoint)?;
    let catalog = connect_lazy("catalog", &settings.catalog_endpoint)?;
    let token = server::service_token_of(settings.service_token)?;
    let pool = connect(&settings.db).await?;
    let book = publication::load(&pool).await?;
    let refresher = tokio::spawn(keep_up_to_date(pool.clone(), book.clone()));
    let publications = Publications::new(pool.clone(), book.clone(), settings.clock.clone());
    let store = Settlements::partitioned(pool.clone(), settings.clock, book, settings.partition);
    let lifecycle = Lifecycle::new(pool.clone(), store, filing, catalog);
    let routes = Routes::new(RoutingServiceServer::new(grpc::RoutingGrpc(lifecycle, publications)));
    let result = server::serve(listener, routes, &[SERVICE_NAME], token, shutdown).await;
    refresher.abort();
    pool.close().await;
    result
}

/// Adds what other instances publish to `book`, every [`POLICY_REFRESH`]; a failed look is
/// logged and tried again at the next.
async fn keep_up_to_date(pool: PgPool, book: PolicyBook) {
    loop {
        tokio::time::sleep(POLICY_REFRESH).await;
        if let Err(e) = publication::refresh(&pool, &book).await {
            tracing::warn!(error = %e, "could not look for newly published policies");
        }
    }
}

//! Interregional netting and clearing (清算), DESIGN.md §4.4.
//!
//! * [`domain`]: the rules, pure — periods, aggregates, netting, prepaid funds, the ledger's
//!   postings, reconciliation.
//! * [`repo`]: every SQL statement, one function each, composable into transactions.
//! * [`service`]: the use cases; one transaction each, operator actions with their audit line.
//! * [`ingest`]: following the routing instances' event streams, exactly once.
//! * [`grpc`]: the wire edge.

pub mod domain;
pub mod grpc;
pub mod ingest;
pub mod repo;
pub mod service;

use medclear_common::{Result, config::DbConfig, db, server};
use medclear_proto::clearing::v1::clearing_service_server::ClearingServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use service::{ClearingConfig, ClearingService};

/// The service name reported by the gRPC health check.
pub const SERVICE_NAME: &str = "medclear.clearing.v1.ClearingService";

/// Connects to the service's database and brings its schema up to date.
pub async fn connect(config: &DbConfig) -> Result<PgPool> {
    db::connect(config, sqlx::migrate!("../../migrations/clearing")).await
}

/// Serves the clearing service on `listener`, and follows every source's event stream, until
/// `stop` is cancelled.
pub async fn serve(
    listener: TcpListener,
    service: ClearingService,
    sources: Vec<ingest::Source>,
    stop: CancellationToken,
) -> Result<()> {
    let followers: Vec<_> = sources
        .into_iter()
        .map(|source| tokio::spawn(ingest::follow(service.clone(), source, stop.child_token())))
        .collect();
    let routes =
        tonic::service::Routes::new(ClearingServiceServer::new(grpc::ClearingGrpc(service)));
    let result =
        server::serve(listener, routes, &[SERVICE_NAME], stop.clone().cancelled_owned()).await;
    stop.cancel();
    for follower in followers {
        let _ = follower.await;
    }
    result
}

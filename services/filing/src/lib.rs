//! The filing registration service (备案), DESIGN.md §4.1: who may be treated where, for which
//! chronic diseases, and the question the routing service asks — "is this person covered in
//! that region on that day, and how?".
//!
//! * [`domain`]: the rules, pure; a clock's date is passed in.
//! * [`repo`]: every SQL statement, one function each, composable into transactions.
//! * [`service`]: the use cases; one transaction each, with its audit line.
//! * [`convert`] and [`grpc`]: the wire edge; requests are validated once, there.

pub mod convert;
pub mod domain;
pub mod grpc;
pub mod repo;
pub mod service;

use std::{future::Future, sync::Arc};

use medclear_common::{Result, clock::Clock, config::DbConfig, db, server};
use medclear_proto::filing::v1::filing_service_server::FilingServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use service::FilingService;

/// The service name reported by the gRPC health check.
pub const SERVICE_NAME: &str = "medclear.filing.v1.FilingService";

/// Connects to the service's database and brings its schema up to date.
pub async fn connect(config: &DbConfig) -> Result<PgPool> {
    db::connect(config, sqlx::migrate!("../../migrations/filing")).await
}

/// The gRPC routes of the service.
pub fn routes(service: FilingService) -> Routes {
    Routes::new(FilingServiceServer::new(grpc::FilingGrpc(service)))
}

/// Serves the filing service on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    pool: PgPool,
    clock: Arc<dyn Clock>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    let routes = routes(FilingService::new(pool, clock));
    server::serve(listener, routes, &[SERVICE_NAME], shutdown).await
}

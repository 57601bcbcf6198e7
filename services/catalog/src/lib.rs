//! The catalogue unification service (目录), DESIGN.md §4.2: the national catalogue, each
//! treating region's coverage of it, hospitals' local-code mappings, and the resolution of fee
//! lines on the settlement hot path.
//!
//! * [`domain`]: code formats, classes, restrictions, effective dating — pure.
//! * [`import`]: rows in the documented CSV columns → validated domain values.
//! * [`index`]: the catalogue in memory, versioned; resolution reads only this.
//! * [`repo`]: every SQL statement.
//! * [`service`]: publishing versions (imports, 3301/3302) and answering queries.
//! * [`grpc`]: the wire edge. [`demo`]: a deterministic synthetic catalogue.

pub mod demo;
pub mod domain;
pub mod grpc;
pub mod import;
pub mod index;
pub mod repo;
pub mod service;

use std::{future::Future, sync::Arc};

use medclear_common::{Result, config::DbConfig, db, server};
use medclear_proto::catalog::v1::catalog_service_server::CatalogServiceServer;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tonic::service::Routes;

pub use service::Catalog;

/// The service name reported by the gRPC health check.
pub const SERVICE_NAME: &str = "medclear.catalog.v1.CatalogService";

/// The largest gRPC message the service takes (an import row stream is many small messages).
const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// Connects to the service's database and brings its schema up to date.
pub async fn connect(config: &DbConfig) -> Result<PgPool> {
    db::connect(config, sqlx::migrate!("../../migrations/catalog")).await
}

/// The gRPC routes of the service.
pub fn routes(catalog: Arc<Catalog>) -> Routes {
    Routes::new(
        CatalogServiceServer::new(grpc::CatalogGrpc(catalog))
            .max_decoding_message_size(MAX_MESSAGE),
    )
}

/// Serves the catalogue on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    catalog: Arc<Catalog>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<()> {
    server::serve(listener, routes(catalog), &[SERVICE_NAME], shutdown).await
}

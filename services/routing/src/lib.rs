//! Claim routing and settlement (结算), DESIGN.md §4.3 — so far its pure core:
//!
//! * [`policy`]: the home-region benefit policy format and its validation.
//! * [`policies`]: the seed regions' policy files and a generated default for other regions.
//! * [`calc`]: the settlement calculator — resolved lines, person, accumulators, policy,
//!   filing and visit in; the breakdown in the national field names out.
//! * [`persons`]: person rows (CSV columns, citizen-ID checksum) and a demo population.
//! * [`institutions`]: the registry of designated institutions (region, hospital level).
//! * [`repo`] and [`settlement`]: persons, and settling / cancelling exactly once — the
//!   settlement, its fund details, the accumulators, the account and a gap-free outbox event
//!   in one transaction.
//!
//! * [`lifecycle`]: a hospital's visit from registration to settlement; settling checks
//!   coverage with the filing service and resolves lines with the catalogue, over gRPC.
//!
//! * [`grpc`]: the wire edge, including the event stream clearing consumes.
//!
//! * [`partition`]: the home provinces an instance owns; ids name the home province so the
//!   gateway routes every call to the owner.
//!
//! Still to come (see the notes): the settle-path benchmark.

pub mod calc;
pub mod grpc;
pub mod institutions;
pub mod lifecycle;
pub mod partition;
pub mod persons;
pub mod policies;
pub mod policy;
pub mod repo;
pub mod settlement;

/// Connects to the routing database and brings its schema up to date.
pub async fn connect(
    config: &medclear_common::config::DbConfig,
) -> medclear_common::Result<sqlx::PgPool> {
    medclear_common::db::connect(config, sqlx::migrate!("../../migrations/routing")).await
}

/// The service name reported by the gRPC health check.
pub const SERVICE_NAME: &str = "medclear.routing.v1.RoutingService";

/// Serves the routing service on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    lifecycle: lifecycle::Lifecycle,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> medclear_common::Result<()> {
    use medclear_proto::routing::v1::routing_service_server::RoutingServiceServer;
    let routes =
        tonic::service::Routes::new(RoutingServiceServer::new(grpc::RoutingGrpc(lifecycle)));
    medclear_common::server::serve(listener, routes, &[SERVICE_NAME], shutdown).await
}

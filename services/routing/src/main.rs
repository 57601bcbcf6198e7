//! `medclear-routing`: the routing and settlement service as its own process.
//!
//! Environment: `ROUTING_DATABASE_URL` or `DATABASE_URL` (required), `ROUTING_DB_SCHEMA`
//! (default `routing`), `ROUTING_LISTEN_ADDR` (default `0.0.0.0:50053`), `ROUTING_PROVINCES`
//! (default `all`; e.g. `42,44`: the home provinces this instance settles), `FILING_ENDPOINT`
//! (default `http://127.0.0.1:50051`), `CATALOG_ENDPOINT` (default `http://127.0.0.1:50052`),
//! `RUST_LOG`, `OTEL_EXPORTER_OTLP_ENDPOINT`.

use std::{process::ExitCode, sync::Arc};

use medclear_common::{
    clock::SystemClock,
    config,
    server::{self, channel},
    telemetry,
};
use medclear_routing::{
    lifecycle::Lifecycle, partition::Partition, policies::PolicyBook, settlement::Settlements,
};

#[tokio::main]
async fn main() -> ExitCode {
    server::exit("medclear-routing", run().await)
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-routing")?;
    let process = server::process("routing", 50053).await?;
    let pool = medclear_routing::connect(&process.db).await?;
    let filing = config::var("FILING_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50051".into());
    let catalog =
        config::var("CATALOG_ENDPOINT").unwrap_or_else(|| "http://127.0.0.1:50052".into());
    let partition = Partition::parse(&config::var("ROUTING_PROVINCES").unwrap_or_default())?;
    tracing::info!(provinces = %partition.describe(), "routing partition");
    let store = Settlements::partitioned(
        pool.clone(),
        Arc::new(SystemClock),
        PolicyBook::seeded()?,
        partition,
    );
    let lifecycle = Lifecycle::new(
        pool.clone(),
        store,
        channel("filing", &filing)?,
        channel("catalog", &catalog)?,
    );
    let shutdown = process.token.clone().cancelled_owned();
    let serve = medclear_routing::serve(process.listener, lifecycle, shutdown);
    let result = server::with_grace(process.token, serve).await;
    pool.close().await;
    result
}

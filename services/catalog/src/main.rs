//! `medclear-catalog`: the catalogue service as its own process.
//!
//! Environment: `CATALOG_DATABASE_URL` or `DATABASE_URL` (required), `CATALOG_DB_SCHEMA`
//! (default `catalog`), `CATALOG_LISTEN_ADDR` (default `0.0.0.0:50052`),
//! `CATALOG_FOLLOW_MS` (default 500: how often to pick up versions other replicas publish),
//! `RUST_LOG`, `OTEL_EXPORTER_OTLP_ENDPOINT`.

use std::{process::ExitCode, sync::Arc, time::Duration};

use medclear_common::{clock::SystemClock, config, server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    server::exit("medclear-catalog", run().await)
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-catalog")?;
    let process = server::process("catalog", 50052).await?;
    let pool = medclear_catalog::connect(&process.db).await?;
    let catalog = medclear_catalog::Catalog::open(pool.clone(), Arc::new(SystemClock)).await?;
    let every = Duration::from_millis(config::parse_or("CATALOG_FOLLOW_MS", 500)?);
    tokio::spawn(catalog.clone().follow(every, process.token.clone()));
    let shutdown = process.token.clone().cancelled_owned();
    let result = server::with_grace(
        process.token,
        medclear_catalog::serve(process.listener, catalog, shutdown),
    )
    .await;
    pool.close().await;
    result
}

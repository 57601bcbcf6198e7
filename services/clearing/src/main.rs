//! `medclear-clearing`: the clearing service as its own process.
//!
//! Environment: `CLEARING_DATABASE_URL` or `DATABASE_URL` (required), `CLEARING_DB_SCHEMA`
//! (default `clearing`), `CLEARING_LISTEN_ADDR` (default `0.0.0.0:50054`), `CLEARING_SOURCES`
//! (the routing instances to consume: `name=url,name=url`; default
//! `routing=http://127.0.0.1:50053`), `CLEARING_PERIOD` (`monthly`, `daily`, `<n>d`),
//! `CLEARING_PREPAID_WINDOW` (default 2), `CLEARING_PREPAID_ALERT` (default 0.70), `RUST_LOG`,
//! `OTEL_EXPORTER_OTLP_ENDPOINT`.

use std::{process::ExitCode, sync::Arc};

use medclear_clearing::{ClearingConfig, ClearingService, ingest};
use medclear_common::{clock::SystemClock, config, server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    server::exit("medclear-clearing", run().await)
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-clearing")?;
    let process = server::process("clearing", 50054).await?;
    let pool = medclear_clearing::connect(&process.db).await?;
    let sources = ingest::parse_sources(
        &config::var("CLEARING_SOURCES").unwrap_or_else(|| "http://127.0.0.1:50053".into()),
    )?;
    for source in &sources {
        tracing::info!(source = %source.name, endpoint = %source.endpoint, "consuming");
    }
    let service =
        ClearingService::new(pool.clone(), Arc::new(SystemClock), ClearingConfig::from_env()?);
    let serve =
        medclear_clearing::serve(process.listener, service, sources, process.token.child_token());
    let result = server::with_grace(process.token, serve).await;
    pool.close().await;
    result
}

//! `medclear-catalog`: the catalogue service as its own process.
//!
//! Environment: `CATALOG_DATABASE_URL` or `DATABASE_URL` (required), `MEDCLEAR_SERVICE_TOKEN`
//! (required: the token every caller must send, shared with the other services and the gateway),
//! `CATALOG_DB_SCHEMA` (default `catalog`), `DB_MAX_CONNECTIONS` (default 10),
//! `CATALOG_LISTEN_ADDR` (default `127.0.0.1:50052`, loopback; the container image sets
//! `0.0.0.0:50052`), `CATALOG_FOLLOW_MS` (default 500: how often to pick up versions other replicas
//! publish), `RUST_LOG`, `OTEL_EXPORTER_OTLP_ENDPOINT`. SIGINT or SIGTERM stops it, letting
//! in-flight calls finish within the grace period.

use std::process::ExitCode;

use medclear_catalog::Settings;
use medclear_common::{server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    server::exit("medclear-catalog", run().await)
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-catalog")?;
    let settings = Settings::from_env()?;
    let listener = server::bind(server::listen_addr_from_env("catalog", 50052)?).await?;
    let stop = server::cancel_on_signal();
    let launch = medclear_catalog::launch(settings, listener, stop.clone().cancelled_owned());
    server::with_grace(stop, launch).await
}

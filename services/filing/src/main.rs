//! `medclear-filing`: the filing registration service as its own process.
//!
//! Environment: `FILING_DATABASE_URL` or `DATABASE_URL` (required), `MEDCLEAR_SERVICE_TOKEN`
//! (required: the token every caller must send, shared with the other services and the gateway),
//! `FILING_DB_SCHEMA` (default `filing`), `DB_MAX_CONNECTIONS` (default 10), `FILING_LISTEN_ADDR`
//! (default `127.0.0.1:50051`, loopback; the container image sets `0.0.0.0:50051`), `RUST_LOG`,
//! `OTEL_EXPORTER_OTLP_ENDPOINT`. SIGINT or SIGTERM stops it, letting in-flight calls finish within
//! the grace period.

use std::process::ExitCode;

use medclear_common::{server, telemetry};
use medclear_filing::Settings;

#[tokio::main]
async fn main() -> ExitCode {
    server::exit("medclear-filing", run().await)
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-filing")?;
    let settings = Settings::from_env()?;
    let listener = server::bind(server::listen_addr_from_env("filing", 50051)?).await?;
    let stop = server::cancel_on_signal();
    let launch = medclear_filing::launch(settings, listener, stop.clone().cancelled_owned());
    server::with_grace(stop, launch).await
}

//! `medclear-clearing`: the clearing service as its own process.
//!
//! Environment: `CLEARING_DATABASE_URL` or `DATABASE_URL` (required), `MEDCLEAR_SERVICE_TOKEN`
//! (required: the token every caller must send and that it sends to the routing instances it
//! reads), `CLEARING_DB_SCHEMA` (default `clearing`), `DB_MAX_CONNECTIONS` (default 10),
//! `CLEARING_LISTEN_ADDR` (default `127.0.0.1:50054`, loopback; the container image sets
//! `0.0.0.0:50054`), `CLEARING_SOURCES` (the routing instances to consume: `name=url,name=url`;
//! default `routing=http://127.0.0.1:50053`), `CLEARING_PERIOD` (`monthly`, `daily`, `<n>d`;
//! default monthly), `CLEARING_PREPAID_WINDOW` (default 2), `CLEARING_PREPAID_ALERT` (default
//! 0.70), `RUST_LOG`, `OTEL_EXPORTER_OTLP_ENDPOINT`. SIGINT or SIGTERM stops it, letting in-flight
//! calls finish within the grace period.

use std::process::ExitCode;

use medclear_clearing::Settings;
use medclear_common::{server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    server::exit("medclear-clearing", run().await)
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-clearing")?;
    let settings = Settings::from_env()?;
    let listener = server::bind(server::listen_addr_from_env("clearing", 50054)?).await?;
    let stop = server::cancel_on_signal();
    let launch = medclear_clearing::launch(settings, listener, stop.clone().cancelled_owned());
    server::with_grace(stop, launch).await
}

//! `medclear-routing`: the routing and settlement service as its own process.
//!
//! Environment: `ROUTING_DATABASE_URL` or `DATABASE_URL` (required), `MEDCLEAR_SERVICE_TOKEN`
//! (required: the token every caller must send and that it sends to the filing and catalogue
//! services), `ROUTING_DB_SCHEMA` (default `routing`), `DB_MAX_CONNECTIONS` (default 10),
//! `ROUTING_LISTEN_ADDR` (default `127.0.0.1:50053`, loopback; the container image sets
//! `0.0.0.0:50053`), `ROUTING_PROVINCES` (default `all`; e.g. `42,44`: the home provinces this
//! instance settles), `FILING_ENDPOINT` (default `http://127.0.0.1:50051`), `CATALOG_ENDPOINT`
//! (default `http://127.0.0.1:50052`), `RUST_LOG`, `OTEL_EXPORTER_OTLP_ENDPOINT`. SIGINT or SIGTERM
//! stops it, letting in-flight calls finish within the grace period.

use std::process::ExitCode;

use medclear_common::{server, telemetry};
use medclear_routing::Settings;

#[tokio::main]
async fn main() -> ExitCode {
    server::exit("medclear-routing", run().await)
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-routing")?;
    let settings = Settings::from_env()?;
    let listener = server::bind(server::listen_addr_from_env("routing", 50053)?).await?;
    let stop = server::cancel_on_signal();
    let launch = medclear_routing::launch(settings, listener, stop.clone().cancelled_owned());
    server::with_grace(stop, launch).await
}

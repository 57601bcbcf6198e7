//! `medclear-filing`: the filing registration service as its own process.
//!
//! Environment: `FILING_DATABASE_URL` or `DATABASE_URL` (required), `FILING_DB_SCHEMA`
//! (default `filing`), `FILING_LISTEN_ADDR` (default `0.0.0.0:50051`), `RUST_LOG`,
//! `OTEL_EXPORTER_OTLP_ENDPOINT`.

use std::{process::ExitCode, sync::Arc};

use medclear_common::{clock::SystemClock, server, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    server::exit("medclear-filing", run().await)
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-filing")?;
    let process = server::process("filing", 50051).await?;
    let pool = medclear_filing::connect(&process.db).await?;
    let shutdown = process.token.clone().cancelled_owned();
    let serve =
        medclear_filing::serve(process.listener, pool.clone(), Arc::new(SystemClock), shutdown);
    let result = server::with_grace(process.token, serve).await;
    pool.close().await;
    result
}

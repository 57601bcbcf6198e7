//! `medclear-filing`: the filing registration service as its own process.
//!
//! Environment: `FILING_DATABASE_URL` or `DATABASE_URL` (required), `FILING_DB_SCHEMA`
//! (default `filing`), `FILING_LISTEN_ADDR` (default `0.0.0.0:50051`), `RUST_LOG`,
//! `OTEL_EXPORTER_OTLP_ENDPOINT`.

use std::{net::SocketAddr, process::ExitCode, sync::Arc};

use medclear_common::{clock::SystemClock, config, server, telemetry};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medclear-filing: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> medclear_common::Result<()> {
    let _telemetry = telemetry::init("medclear-filing")?;
    let db = config::DbConfig::from_env("filing")?;
    let addr: SocketAddr =
        config::parse_or("FILING_LISTEN_ADDR", SocketAddr::from(([0, 0, 0, 0], 50051)))?;
    let pool = medclear_filing::connect(&db).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| medclear_common::Error::Internal(format!("binding {addr}: {e}")))?;
    let token = CancellationToken::new();
    let signal = token.clone();
    tokio::spawn(async move {
        server::shutdown_signal().await;
        signal.cancel();
    });
    let shutdown = token.clone().cancelled_owned();
    let result = server::with_grace(
        token,
        medclear_filing::serve(listener, pool.clone(), Arc::new(SystemClock), shutdown),
    )
    .await;
    pool.close().await;
    result
}

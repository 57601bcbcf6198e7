//! `medclear-gateway`: the edge alone — the JSON API and the national interface — in front of
//! services running elsewhere. See `medclear-gateway --help`; every flag has an environment
//! variable (`GATEWAY_HTTP_ADDR`, `GATEWAY_TLS_DIR`, `FILING_ENDPOINT`, …), and the signing key
//! comes from `GATEWAY_SIGN_KEY`.

use std::process::ExitCode;

use clap::Parser;
use medclear_common::{server, telemetry};
use medclear_gateway::{GatewayArgs, routes, server::run};

/// The medclear edge: JSON API and national interface.
#[derive(Debug, Parser)]
#[command(name = "medclear-gateway", version, about)]
struct Cli {
    #[command(flatten)]
    gateway: GatewayArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = async {
        let _telemetry = telemetry::init("medclear-gateway")?;
        run(&cli.gateway, routes()).await
    };
    server::exit("medclear-gateway", outcome.await)
}

//! `medclear-pages`: the citizen and bureau pages behind the edge (`/healthz`, `/metrics`,
//! limits, HTTPS with client certificates), in front of services running elsewhere; it takes
//! the same flags and variables as `medclear-gateway` (see `medclear-pages --help`).

use std::process::ExitCode;

use clap::Parser;
use medclear_common::{server, telemetry};
use medclear_gateway::{GatewayArgs, server::run};

/// The medclear pages for citizens and bureaus.
#[derive(Debug, Parser)]
#[command(name = "medclear-pages", version, about)]
struct Cli {
    #[command(flatten)]
    gateway: GatewayArgs,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = async {
        let _telemetry = telemetry::init("medclear-pages")?;
        run(&cli.gateway, medclear_pages::routes()).await
    };
    server::exit("medclear-pages", outcome.await)
}

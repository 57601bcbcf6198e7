//! The `medclear` command.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
    time::Instant,
};

use clap::{Parser, Subcommand};
use medclear_common::{
    Result,
    clock::SystemClock,
    config,
    server::{self, SERVICE_TOKEN_VAR, ServiceToken},
    telemetry,
};
use medclear_gateway::{
    GatewayArgs,
    settings::{LimitArgs, sign_key_from_env},
    tls::{self, TlsDir},
};

use crate::{
    bench::{self, BenchCommand},
    catalog_cli::{self, CatalogCommand},
    clearing_cli::{self, ClearingArgs},
    demo,
    institutions_cli::{self, InstitutionsCommand},
    persons_cli::{self, PersonsCommand},
    policies_cli::{self, PoliciesArgs},
    simulate,
    up::{self, Databases, UpOptions},
};

/// medclear — inter-provincial direct settlement of basic medical insurance.
#[derive(Debug, Parser)]
#[command(name = "medclear", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every service and the gateway in one process (embedded PostgreSQL unless
    /// DATABASE_URL is set).
    Up {
        /// Where the embedded databases keep their data.
        #[arg(long, env = "MEDCLEAR_DATA_DIR", default_value = ".medclear")]
        data_dir: PathBuf,
        /// The gateway's HTTP address.
        #[arg(long, env = "MEDCLEAR_HTTP_ADDR", default_value = "127.0.0.1:8080")]
        http: SocketAddr,
        /// The address the services' gRPC servers listen on.
        #[arg(long, env = "MEDCLEAR_GRPC_HOST", default_value = "127.0.0.1")]
        grpc_host: IpAddr,
        /// The first service's gRPC port; the others take the next ones (0: any free port).
        #[arg(long, env = "MEDCLEAR_GRPC_PORT", default_value_t = 50051)]
        grpc_port: u16,
        /// Serve HTTPS with client certificates from this directory (`medclear certs`);
        /// without it, plain HTTP, on loopback only.
        #[arg(long, env = "MEDCLEAR_TLS_DIR")]
        tls_dir: Option<PathBuf>,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Hospitals' traffic through the national interface of a running system (`medclear up`),
    /// deterministic from a seed; prints throughput, latency per transaction code and refusals.
    Simulate(simulate::SimulateOptions),
    /// The first command to run: starts everything (embedded PostgreSQL unless DATABASE_URL is
    /// set), simulates a scaled-down month of hospitals' traffic, closes, nets and settles the
    /// period, prints the net positions, writes an HTML report and CSV statements into the
    /// data directory, and serves the pages until Ctrl-C (or exits with --exit).
    Demo(demo::DemoOptions),
    /// Development certificates: a CA, the gateway's server certificate, institutions'
    /// client certificates (PEM files in a directory).
    #[command(subcommand)]
    Certs(CertsCommand),
    /// Benchmarks that print their figures and the machine.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The person registry: import a CSV file or load the demo population.
    #[command(subcommand)]
    Persons(PersonsCommand),
    /// The registry of designated institutions: import a CSV file or the demo hospitals.
    #[command(subcommand)]
    Institutions(InstitutionsCommand),
    /// Catalogue files: import, generate or load the demo catalogue.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Clearing operations: close, net, confirm, withdraw, dispute, settle; status,
    /// statements, deposits, audit.
    Clearing(ClearingArgs),
    /// Home-region benefit policies: validate, draft, list, show, preview and publish
    /// documents; verify a month's settlements against the versions they recorded.
    Policies(PoliciesArgs),
    /// Run the gateway alone (the JSON API, the national interface and the pages), in front
    /// of services running elsewhere.
    Gateway(GatewayArgs),
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("medclear: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("medclear: {e}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// A new development CA: `ca.pem`, `ca.key`.
    Ca {
        #[arg(long, default_value = ".medclear/tls")]
        dir: PathBuf,
    },
    /// The gateway's server certificate (`server.pem`, `server.key`), for these names.
    Server {
        #[arg(long, default_value = ".medclear/tls")]
        dir: PathBuf,
        /// Host names and IP addresses the gateway is reached by.
        #[arg(long = "name", default_values_t = ["localhost".to_owned(), "127.0.0.1".to_owned()])]
        names: Vec<String>,
    },
    /// An institution's client certificate (`<code>.pem`, `<code>.key`), naming its
    /// fixmedins_code.
    Institution {
        fixmedins_code: String,
        #[arg(long, default_value = ".medclear/tls")]
        dir: PathBuf,
    },
    /// An operator's client certificate (`OP-<admdvs>.pem`, `.key`): a province's bureau
    /// (`420000`) or the national clearing (`000000`).
    Operator {
        admdvs: String,
        #[arg(long, default_value = ".medclear/tls")]
        dir: PathBuf,
    },
}

fn certs(command: CertsCommand) -> Result<()> {
    match command {
        CertsCommand::Ca { dir } => {
            let dir = TlsDir(dir);
            tls::issue_ca(&dir)?;
            println!("CA written: {} and {}", dir.ca_cert().display(), dir.ca_key().display());
        }
        CertsCommand::Server { dir, names } => {
            let dir = TlsDir(dir);
            tls::issue_server(&dir, &names)?;
            println!(
                "server certificate for {} written: {}",
                names.join(", "),
                dir.server_cert().display()
            );
        }
        CertsCommand::Institution { fixmedins_code: name, dir }
        | CertsCommand::Operator { admdvs: name, dir } => {
            let name = if name.starts_with(['H', 'P']) { name } else { format!("OP-{name}") };
            let dir = TlsDir(dir);
            tls::issue_client(&dir, &name)?;
            let (cert, key) = dir.institution(&name);
            println!("{name}: {} and {}", cert.display(), key.display());
        }
    }
    Ok(())
}

/// The services' token for a command that calls them over gRPC: `MEDCLEAR_SERVICE_TOKEN`, else
/// the one a `medclear up` on the data directory (`MEDCLEAR_DATA_DIR`, default `.medclear`)
/// left there.
fn use_cli_token() -> Result<()> {
    let data_dir = config::var("MEDCLEAR_DATA_DIR").unwrap_or_else(|| ".medclear".into());
    match up::cli_token(std::path::Path::new(&data_dir))? {
        Some(token) => server::use_service_token(token),
        None => Ok(()),
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Up { data_dir, http, grpc_host, grpc_port, tls_dir, limits } => {
            let _telemetry = telemetry::init("medclear")?;
            let started = Instant::now();
            // The services' token: the operator's, or a new random one for this run, left in
            // the data directory for the CLI's commands.
            let service_token = match config::var(SERVICE_TOKEN_VAR) {
                Some(_) => ServiceToken::from_env()?,
                None => up::process_token(),
            };
            server::use_service_token(service_token.clone())?;
            let token_file = up::write_token_file(&data_dir, &service_token)?;
            let options = UpOptions {
                data_dir,
                http,
                grpc_host,
                grpc_port,
                databases: Databases::from_env(),
                tls: tls_dir.map(TlsDir),
                limits: limits.limits(),
                sign_key: sign_key_from_env(),
                clearing: medclear_clearing::ClearingConfig::from_env()?,
                service_token,
            };
            let mut system = up::start(&options, Arc::new(SystemClock)).await?;
            up::cancel_on_signal(&system.shutdown_token());
            for service in &system.services {
                println!(
                    "  {:<8} gRPC  {}   data: {}",
                    service.name, service.addr, service.database
                );
            }
            println!("  gateway  HTTP  http://{}", system.http_addr);
            println!(
                "  services take calls with the token in {} ({SERVICE_TOKEN_VAR})",
                token_file.display()
            );
            println!(
                "medclear is ready in {:.1} s: try  curl http://{}/healthz   (Ctrl-C stops it)",
                started.elapsed().as_secs_f32(), // float-ok: a duration shown to people
                system.http_addr
            );
            let outcome = system.run_until_stopped().await;
            let stopped = system.shutdown().await;
            println!("medclear stopped");
            outcome.and(stopped)
        }
        Command::Catalog(command) => {
            use_cli_token()?;
            catalog_cli::run(command).await
        }
        Command::Persons(command) => {
            use_cli_token()?;
            persons_cli::run(command).await
        }
        Command::Institutions(command) => {
            use_cli_token()?;
            institutions_cli::run(command).await
        }
        Command::Certs(command) => certs(command),
        Command::Simulate(options) => {
            use_cli_token()?;
            simulate::run(options).await
        }
        Command::Demo(options) => {
            // The demo's own output is the point: the services log warnings and errors only.
            let _telemetry = telemetry::init_with("medclear-demo", "warn")?;
            demo::run(options).await.map(|_| ())
        }
        Command::Clearing(args) => {
            use_cli_token()?;
            clearing_cli::run(args).await
        }
        Command::Policies(args) => {
            use_cli_token()?;
            policies_cli::run(args).await
        }
        Command::Bench(command) => {
            // The figures are the output: the services log warnings and errors only.
            let _telemetry = telemetry::init_with("medclear-bench", "warn")?;
            bench::run(command).await
        }
        Command::Gateway(args) => {
            let _telemetry = telemetry::init("medclear-gateway")?;
            medclear_gateway::server::run(&args, up::gateway_routes()).await
        }
    }
}

/// What a service said no to, as a command-line error (`reason: field: message`); a service
/// that cannot be reached says so, with the likely cause.
pub(crate) fn refused<'a>(
    service: &'static str,
    endpoint: &'a str,
) -> impl Fn(tonic::Status) -> medclear_common::Error + 'a {
    use medclear_common::{
        Error,
        error::{Problem, ProblemKind, status_field, status_reason},
    };
    use tonic::Code;
    move |status| {
        let kind = match status.code() {
            Code::InvalidArgument | Code::OutOfRange => ProblemKind::InvalidArgument,
            Code::NotFound => ProblemKind::NotFound,
            Code::AlreadyExists => ProblemKind::AlreadyExists,
            Code::FailedPrecondition | Code::Aborted => ProblemKind::FailedPrecondition,
            Code::PermissionDenied => ProblemKind::PermissionDenied,
            Code::Unavailable => {
                return Error::Internal(format!(
                    "cannot reach the {service} service at {endpoint} (is `medclear up` running?)"
                ));
            }
            _ => return Error::Internal(format!("{service} service: {}", status.message())),
        };
        let field = status_field(&status);
        let message = match &field {
            Some(field) => format!("{field}: {}", status.message()),
            None => status.message().to_owned(),
        };
        Error::Problem(Problem {
            kind,
            reason: status_reason(&status).into(),
            field: field.map(Into::into),
            message,
        })
    }
}

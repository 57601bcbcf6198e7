//! `medclear up`: every service that exists and the gateway, in one process. Each service gets
//! its own port and talks gRPC, exactly as when deployed apart; each gets its own database —
//! a schema in the PostgreSQL named by `DATABASE_URL`, or without it an embedded PostgreSQL in
//! a folder under the data directory.

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};

use medclear_common::{
    Error, Result,
    clock::Clock,
    config,
    config::DbConfig,
    server::{SERVICE_TOKEN_VAR, ServiceToken},
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

use medclear_gateway::{
    AppState, Settings, Upstreams,
    limits::Limits,
    server::{self, Transport},
    tls::TlsDir,
};

/// How `medclear up` runs.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Where embedded databases keep their data (one folder per service).
    pub data_dir: PathBuf,
    /// The gateway's HTTP address.
    pub http: SocketAddr,
    /// The address services listen on.
    pub grpc_host: IpAddr,
    /// The first service's gRPC port; the next services take the following ones. 0: any free port.
    pub grpc_port: u16,
    pub databases: Databases,
    /// How the clearing service cuts periods and sizes prepaid funds.
    pub clearing: medclear_clearing::ClearingConfig,
    /// The gateway's certificates (HTTPS with client certificates); `None`: plain HTTP, on
    /// loopback only.
    pub tls: Option<TlsDir>,
    /// The gateway's limits.
    pub limits: Limits,
    /// The gateway's signing key (`GATEWAY_SIGN_KEY`); `None`: random for this process.
    pub sign_key: Option<config::Secret>,
    /// The token the services take calls with, given to every service and the gateway
    /// ([`process_token`] unless `MEDCLEAR_SERVICE_TOKEN` says otherwise).
    pub service_token: ServiceToken,
}

impl UpOptions {
    /// Everything on loopback, on free ports, plain HTTP, with the default limits and clearing
    /// rules, a signing key and a service token of this process ([`process_token`]): what the
    /// demo, the benchmarks and the tests run.
    pub fn loopback(data_dir: PathBuf, databases: Databases) -> Self {
        Self {
            data_dir,
            http: SocketAddr::from(([127, 0, 0, 1], 0)),
            grpc_host: IpAddr::from([127, 0, 0, 1]),
            grpc_port: 0,
            databases,
            tls: None,
            limits: Limits::default(),
            sign_key: None,
            clearing: medclear_clearing::ClearingConfig::default(),
            service_token: process_token(),
        }
    }
}

/// This process's random service token, made on first use from the operating system's random
/// source, and sent by the process's own clients (the demo's, the benchmarks', the tests'): a
/// new one each time `medclear` runs.
pub fn process_token() -> ServiceToken {
    static TOKEN: std::sync::OnceLock<ServiceToken> = std::sync::OnceLock::new();
    TOKEN
        .get_or_init(|| {
            let mut random = [0u8; 32];
            // Two version-4 UUIDs: 244 random bits (their version and variant bits are fixed).
            random[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            random[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
            let token = ServiceToken::from_random(random);
            if let Err(e) = medclear_common::server::use_service_token(token.clone()) {
                tracing::warn!(error = %e, "this process's clients keep the token they had");
            }
            token
        })
        .clone()
}

/// The file `medclear up` leaves the service token of its run in, so the CLI's commands
/// (`medclear catalog demo`, `medclear clearing …`) reach its services.
pub fn token_file(data_dir: &std::path::Path) -> PathBuf {
    data_dir.join("service-token")
}

/// Writes `token` into [`token_file`], readable by its owner only.
pub fn write_token_file(data_dir: &std::path::Path, token: &ServiceToken) -> Result<PathBuf> {
    use std::io::Write as _;
    let path = token_file(data_dir);
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::Internal(format!("creating {}: {e}", data_dir.display())))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file =
        options.open(&path).map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    file.write_all(token.expose().as_bytes())
        .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    Ok(path)
}

/// The service token of a CLI command that talks to the services over gRPC: from
/// `MEDCLEAR_SERVICE_TOKEN`, else from the file a `medclear up` on `data_dir` left; `None`
/// when there is neither (the services then refuse the calls, naming the variable).
pub fn cli_token(data_dir: &std::path::Path) -> Result<Option<ServiceToken>> {
    if config::var(SERVICE_TOKEN_VAR).is_some() {
        return ServiceToken::from_env().map(Some);
    }
    match std::fs::read_to_string(token_file(data_dir)) {
        Ok(text) => ServiceToken::new(text).map(Some),
        Err(_) => Ok(None),
    }
}

/// Where the services keep their data.
#[derive(Debug, Clone)]
pub enum Databases {
    /// One PostgreSQL server; each service owns a schema named after it.
    Server { url: String },
    /// An embedded PostgreSQL per service, in `<data_dir>/<service>`.
    Embedded,
}

impl Databases {
    /// `Server` when `DATABASE_URL` is set, else `Embedded`.
    pub fn from_env() -> Self {
        match config::var("DATABASE_URL") {
            Some(url) => Self::Server { url },
            None => Self::Embedded,
        }
    }
}

/// Where one service's data lives.
#[derive(Debug)]
pub(crate) enum Database {
    Server,
    #[cfg(feature = "embedded-db")]
    Embedded(Box<crate::embedded::EmbeddedDb>),
}

/// How one service starts: its database, its listener and the token that stops it → its
/// `launch`.
type Launch = Box<
    dyn FnOnce(
        DbConfig,
        TcpListener,
        CancellationToken,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>,
>;

/// A started service.
#[derive(Debug)]
pub struct RunningService {
    pub name: &'static str,
    pub addr: SocketAddr,
    /// Where its data is, for people.
    pub database: String,
    db: Database,
}

/// Everything `medclear up` started.
#[derive(Debug)]
pub struct System {
    pub http_addr: SocketAddr,
    /// Whether the gateway serves HTTPS.
    pub tls: bool,
    pub services: Vec<RunningService>,
    token: CancellationToken,
    tasks: Vec<(&'static str, JoinHandle<Result<()>>)>,
    /// Held while the system runs: one process per embedded data directory.
    _data_lock: Option<std::fs::File>,
}

/// Takes the data directory's lock, so a second `medclear up` on the same embedded databases
/// stops with a clear error instead of corrupting them.
pub(crate) fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::Internal(format!("creating {}: {e}", dir.display())))?;
    let path = dir.join("medclear.lock");
    let file = std::fs::File::create(&path)
        .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Internal(format!(
            "another medclear is using the data directory {}: stop it, or pass another --data-dir",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::Internal(format!("locking {}: {e}", path.display())))
        }
    }
}

pub(crate) async fn database(
    service: &'static str,
    options: &UpOptions,
) -> Result<(DbConfig, Database, String)> {
    match &options.databases {
        Databases::Server { url } => {
            let mut config = DbConfig::new(url.clone(), service);
            config.max_connections = config::parse_or("DB_MAX_CONNECTIONS", 10)?;
            let place = format!("{} (schema {service})", config::redact_url(url));
            Ok((config, Database::Server, place))
        }
        #[cfg(feature = "embedded-db")]
        Databases::Embedded => {
            let db = crate::embedded::EmbeddedDb::start(options.data_dir.join(service)).await?;
            let mut config = DbConfig::new(db.url(), service);
            config.embedded = true;
            let place = format!("embedded PostgreSQL in {}", db.dir().display());
            Ok((config, Database::Embedded(Box::new(db)), place))
        }
        #[cfg(not(feature = "embedded-db"))]
        Databases::Embedded => Err(Error::Internal(format!(
            "no database for {service}: set DATABASE_URL (this build has no embedded database)"
        ))),
    }
}

/// Creates database `name` on the server of `url`, first dropping one of that name (and its
/// connections) if `replace`; the new database's URL.
pub(crate) async fn create_database(url: &str, name: &str, replace: bool) -> Result<String> {
    use sqlx::Connection;
    if name.is_empty()
        || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(Error::Internal(format!(
            "database name {name:?}: lower-case letters, digits and _ only"
        )));
    }
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| Error::Internal(format!("DATABASE_URL: {e}")))?;
    let drop = replace.then(|| format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    for statement in drop.into_iter().chain([format!("CREATE DATABASE {name}")]) {
        sqlx::query(&statement)
            .execute(&mut conn)
            .await
            .map_err(|e| Error::Internal(format!("{statement}: {e}")))?;
    }
    conn.close().await.map_err(|e| Error::Internal(e.to_string()))?;
    with_database(url, name)
}

/// `url` naming database `name` instead of its own.
pub(crate) fn with_database(url: &str, name: &str) -> Result<String> {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority = base
        .find("://")
        .map(|i| i + 3)
        .ok_or_else(|| Error::Internal(format!("DATABASE_URL is not a URL: {url}")))?;
    let path =
        base.get(authority..).and_then(|rest| rest.find('/')).map_or(base.len(), |i| i + authority);
    let mut out = format!("{}/{name}", base.get(..path).unwrap_or(base));
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    Ok(out)
}

async fn bind(addr: SocketAddr, what: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Internal(format!("{what}: cannot listen on {addr}: {e}")))
}

/// The gRPC address of the `n`-th service (counting from 0).
fn service_addr(options: &UpOptions, n: u16) -> SocketAddr {
    let port = if options.grpc_port == 0 { 0 } else { options.grpc_port.saturating_add(n) };
    SocketAddr::new(options.grpc_host, port)
}

/// Cancels `token` on SIGINT or SIGTERM.
pub fn cancel_on_signal(token: &CancellationToken) {
    let token = token.clone();
    tokio::spawn(async move {
        medclear_common::server::shutdown_signal().await;
        token.cancel();
    });
}

/// What the all-in-one gateway serves: the edge's routes (JSON API, national interface) and
/// the pages.
pub fn gateway_routes() -> axum::Router<AppState> {
    medclear_gateway::routes().merge(medclear_pages::routes())
}

/// Starts everything and returns once the gateway answers and every service reports SERVING.
pub async fn start(options: &UpOptions, clock: Arc<dyn Clock>) -> Result<System> {
    let data_lock = match options.databases {
        Databases::Embedded => Some(lock_data_dir(&options.data_dir)?),
        Databases::Server { .. } => None,
    };
    let token = CancellationToken::new();
    let mut services = Vec::new();
    let mut tasks = Vec::new();

    // Each service through its own `launch`, as its binary runs it; the next service is told
    // where the ones before it listen.
    let mut launch = async |name: &'static str, n: u16, start: Launch| -> Result<String> {
        let (db_config, db, place) = database(name, options).await?;
        let listener = bind(service_addr(options, n), name).await?;
        let addr = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
        tasks.push((name, tokio::spawn(start(db_config, listener, token.clone()))));
        services.push(RunningService { name, addr, database: place, db });
        Ok(format!("http://{addr}"))
    };
    let token_of = || options.service_token.clone();
    let filing_url = launch("filing", 0, {
        let (clock, service_token) = (clock.clone(), token_of());
        Box::new(move |db, listener, stop| {
            let settings = medclear_filing::Settings {
                service_token: Some(service_token),
                ..medclear_filing::Settings::new(db, clock)
            };
            Box::pin(medclear_filing::launch(settings, listener, stop.cancelled_owned()))
        })
    })
    .await?;
    let catalog_url = launch("catalog", 1, {
        let (clock, service_token) = (clock.clone(), token_of());
        Box::new(move |db, listener, stop| {
            let settings = medclear_catalog::Settings {
                service_token: Some(service_token),
                ..medclear_catalog::Settings::new(db, clock)
            };
            Box::pin(medclear_catalog::launch(settings, listener, stop.cancelled_owned()))
        })
    })
    .await?;
    let routing_url = launch("routing", 2, {
        let (clock, filing, catalog) = (clock.clone(), filing_url.clone(), catalog_url.clone());
        let service_token = token_of();
        Box::new(move |db, listener, stop| {
            let settings = medclear_routing::Settings {
                service_token: Some(service_token),
                ..medclear_routing::Settings::new(db, clock, filing, catalog)
            };
            Box::pin(medclear_routing::launch(settings, listener, stop.cancelled_owned()))
        })
    })
    .await?;
    let clearing_url = launch("clearing", 3, {
        let (clock, config, service_token) = (clock.clone(), options.clearing, token_of());
        let sources = vec![medclear_clearing::ingest::Source {
            name: "routing".into(),
            endpoint: routing_url.clone(),
        }];
        Box::new(move |db, listener, stop| {
            let settings = medclear_clearing::Settings {
                config,
                service_token: Some(service_token),
                ..medclear_clearing::Settings::new(db, clock, sources)
            };
            Box::pin(medclear_clearing::launch(settings, listener, stop.cancelled_owned()))
        })
    })
    .await?;

    let upstreams = Upstreams {
        filing: filing_url,
        catalog: catalog_url,
        routing: routing_url,
        routing_partitions: Vec::new(),
        clearing: clearing_url,
        service_token: options.service_token.clone(),
    };
    let state = AppState::from_settings(&Settings {
        upstreams,
        limits: options.limits,
        sign_key: options.sign_key.clone(),
        med_types: medclear_gateway::settings::med_types_from(
            medclear_common::config::var("MEDCLEAR_MED_TYPES").as_deref().map(std::path::Path::new),
        )?,
    })?;
    let transport = Transport::choose(options.tls.as_ref(), &options.http)?;
    let tls = matches!(transport, Transport::Tls(_));
    let listener = bind(options.http, "gateway").await?;
    let http_addr = listener.local_addr().map_err(|e| Error::Internal(e.to_string()))?;
    let gateway = server::serve_over(
        transport,
        listener,
        state,
        gateway_routes(),
        token.clone().cancelled_owned(),
    );
    tasks.push((
        "gateway",
        tokio::spawn(
            async move { gateway.await.map_err(|e| Error::Internal(format!("gateway: {e}"))) },
        ),
    ));

    let mut system = System { http_addr, tls, services, token, tasks, _data_lock: data_lock };
    if let Err(e) = system.wait_ready().await {
        // Whatever did start is stopped, and its embedded database closed.
        if let Err(also) = system.shutdown().await {
            tracing::warn!(error = %also, "stopping after a failed start");
        }
        return Err(e);
    }
    Ok(system)
}

impl System {
    /// The gRPC address of a started service.
    pub fn service(&self, name: &str) -> Option<SocketAddr> {
        self.services.iter().find(|s| s.name == name).map(|s| s.addr)
    }
}

impl System {
    /// Polls the gateway's `/healthz` (which checks every service over gRPC) until it is 200.
    async fn wait_ready(&mut self) -> Result<()> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut last = String::new();
        while tokio::time::Instant::now() < deadline {
            // Over HTTPS, the gateway accepting connections is what is checked here; its
            // /healthz needs a TLS client.
            let probe = if self.tls {
                tokio::net::TcpStream::connect(self.http_addr)
                    .await
                    .map(|_| 200)
                    .map_err(|e| e.to_string())
            } else {
                healthz(self.http_addr).await
            };
            match probe {
                Ok(200) => return Ok(()),
                Ok(code) => last = format!("/healthz answered {code}"),
                Err(e) => last = e,
            }
            if let Some(i) = self.tasks.iter().position(|(_, task)| task.is_finished()) {
                let (name, task) = self.tasks.swap_remove(i);
                let why = match task.await {
                    Ok(Err(e)) => e.to_string(),
                    Ok(Ok(())) => "it returned".to_owned(),
                    Err(e) => format!("it panicked: {e}"),
                };
                return Err(Error::Internal(format!("{name} stopped during start-up: {why}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(Error::Internal(format!("not ready within 60 s: {last}")))
    }

    /// A token whose cancellation stops the system.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.token.clone()
    }

    /// Runs until the token is cancelled or a part stops by itself (which is an error).
    pub async fn run_until_stopped(&mut self) -> Result<()> {
        let token = self.token.clone();
        loop {
            tokio::select! {
                () = token.cancelled() => return Ok(()),
                () = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            if let Some((name, _)) = self.tasks.iter().find(|(_, task)| task.is_finished()) {
                let name = *name;
                self.token.cancel();
                return Err(Error::Internal(format!("{name} stopped unexpectedly")));
            }
        }
    }

    /// Stops the gateway and the services (in-flight calls get the grace period), then closes
    /// the databases.
    pub async fn shutdown(self) -> Result<()> {
        self.token.cancel();
        let mut first_error = None;
        for (name, task) in self.tasks {
            let outcome = tokio::time::timeout(medclear_common::server::GRACE, task).await;
            let error = match outcome {
                Ok(Ok(Ok(()))) => None,
                Ok(Ok(Err(e))) => Some(e),
                Ok(Err(e)) => Some(Error::Internal(format!("{name} panicked: {e}"))),
                Err(_) => {
                    Some(Error::Internal(format!("{name} did not stop within the grace period")))
                }
            };
            if let Some(e) = error {
                tracing::warn!(service = name, error = %e, "stopping");
                first_error.get_or_insert(e);
            }
        }
        // Each service closed its pool when its `launch` returned.
        for service in self.services {
            service.db.stop().await;
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Database {
    /// Stops an embedded database (a server's schema needs nothing).
    pub(crate) async fn stop(self) {
        match self {
            Self::Server => {}
            #[cfg(feature = "embedded-db")]
            Self::Embedded(db) => db.stop().await,
        }
    }
}

/// `GET /healthz` on the gateway, with a bare HTTP/1.1 exchange (no client library needed).
async fn healthz(addr: SocketAddr) -> std::result::Result<u16, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).await.map_err(|e| e.to_string())?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| "bad HTTP answer".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_database() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/medclear_demo",
            ),
            (
                "postgres://u:p@h/db?sslmode=disable",
                "postgres://u:p@h/medclear_demo?sslmode=disable",
            ),
            ("postgres://h:5432", "postgres://h:5432/medclear_demo"),
        ];
        for (url, expected) in cases {
            assert_eq!(
                with_database(url, "medclear_demo").ok().as_deref(),
                Some(expected),
                "{url}"
            );
        }
        assert!(with_database("not a url", "x").is_err());
    }
}

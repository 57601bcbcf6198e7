//! The gateway's settings: flags with environment fallbacks (clap), read by `main` (or the
//! `medclear` CLI) and passed down; nothing below reads the environment.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use medclear_common::{Error, Result, config, config::Secret, server::ServiceToken};

use crate::{limits::Limits, med_types::MedTypes, tls::TlsDir};

/// What [`crate::state::AppState`] needs: the services, the edge's limits, the signing key.
#[derive(Debug, Clone)]
pub struct Settings {
    pub upstreams: Upstreams,
    pub limits: Limits,
    /// `GATEWAY_SIGN_KEY`: signs sign-in numbers, citizens' tokens and page sessions; replicas
    /// must share it. `None`: a random key of this process.
    pub sign_key: Option<Secret>,
    /// The medical types hospitals may send, national and provincial.
    pub med_types: MedTypes,
}

/// Where the gateway finds the services it fronts.
#[derive(Debug, Clone)]
pub struct Upstreams {
    /// e.g. `http://127.0.0.1:50051`
    pub filing: String,
    /// e.g. `http://127.0.0.1:50052`
    pub catalog: String,
    /// e.g. `http://127.0.0.1:50053`: the routing instance for every home province not listed
    /// in `routing_partitions`.
    pub routing: String,
    /// Routing instances that own particular home provinces: (two-digit province, URL).
    pub routing_partitions: Vec<(String, String)>,
    /// e.g. `http://127.0.0.1:50054`
    pub clearing: String,
    /// The token the services take calls with (`MEDCLEAR_SERVICE_TOKEN`, from the environment
    /// only: never a flag, so it does not show in process lists).
    pub service_token: ServiceToken,
}

/// The edge's limits as flags.
#[derive(Debug, Clone, clap::Args)]
pub struct LimitArgs {
    /// Requests a second per client (0 turns the rate limit off).
    #[arg(long, env = "GATEWAY_RATE_PER_S", default_value_t = 2000)]
    pub rate_per_s: u32,
    /// Requests a client may make at once (default: twice the rate).
    #[arg(long, env = "GATEWAY_BURST")]
    pub burst: Option<u32>,
    /// How long a request may take, in milliseconds.
    #[arg(long, env = "GATEWAY_TIMEOUT_MS", default_value_t = 30_000)]
    pub timeout_ms: u64,
}

impl LimitArgs {
    pub fn limits(&self) -> Limits {
        Limits {
            rate_per_s: self.rate_per_s,
            burst: self.burst.unwrap_or(self.rate_per_s.saturating_mul(2)),
            timeout: Duration::from_millis(self.timeout_ms),
        }
    }
}

/// The gateway in front of services running elsewhere: `medclear-gateway`, `medclear-pages`
/// and `medclear gateway` take these.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayArgs {
    /// The HTTP address. All interfaces by default: this is the edge, and it serves plain
    /// HTTP on loopback only (anything else needs --tls-dir).
    #[arg(long, env = "GATEWAY_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http: SocketAddr,
    /// HTTPS with client certificates from this directory (`medclear certs`); required
    /// unless the address is loopback.
    #[arg(long, env = "GATEWAY_TLS_DIR")]
    pub tls_dir: Option<PathBuf>,
    /// The filing service's gRPC endpoint.
    #[arg(long, env = "FILING_ENDPOINT", default_value = "http://127.0.0.1:50051")]
    pub filing_endpoint: String,
    /// The catalogue service's gRPC endpoint.
    #[arg(long, env = "CATALOG_ENDPOINT", default_value = "http://127.0.0.1:50052")]
    pub catalog_endpoint: String,
    /// The routing service's gRPC endpoint.
    #[arg(long, env = "ROUTING_ENDPOINT", default_value = "http://127.0.0.1:50053")]
    pub routing_endpoint: String,
    /// The clearing service's gRPC endpoint.
    #[arg(long, env = "CLEARING_ENDPOINT", default_value = "http://127.0.0.1:50054")]
    pub clearing_endpoint: String,
    /// A routing instance that owns some home provinces: `42,44=http://host:50053`
    /// (repeatable; in ROUTING_PARTITIONS, `;` separates them).
    #[arg(long = "routing-partition", env = "ROUTING_PARTITIONS", value_delimiter = ';')]
    pub routing_partitions: Vec<String>,
    /// More provincial medical-type codes (`province,med_type,kind` CSV; see the README), on
    /// top of the national ones and those shipped in reference/med_types.csv.
    #[arg(long, env = "MEDCLEAR_MED_TYPES")]
    pub med_types: Option<PathBuf>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

impl GatewayArgs {
    /// The settings these flags give, with the signing key from `GATEWAY_SIGN_KEY` and the
    /// services' token from `MEDCLEAR_SERVICE_TOKEN` (required) — secrets: never flags, so they
    /// do not show in process lists.
    pub fn settings(&self) -> Result<Settings> {
        Ok(Settings {
            upstreams: Upstreams {
                filing: self.filing_endpoint.clone(),
                catalog: self.catalog_endpoint.clone(),
                routing: self.routing_endpoint.clone(),
                routing_partitions: parse_partitions(&self.routing_partitions)?,
                clearing: self.clearing_endpoint.clone(),
                service_token: ServiceToken::from_env()?,
            },
            limits: self.limits.limits(),
            sign_key: sign_key_from_env(),
            med_types: med_types_from(self.med_types.as_deref())?,
        })
    }

    pub fn tls_dir(&self) -> Option<TlsDir> {
        self.tls_dir.clone().map(TlsDir)
    }
}

/// The medical-type table: the defaults, with the rows of `file` when there is one.
pub fn med_types_from(file: Option<&std::path::Path>) -> Result<MedTypes> {
    file.map_or_else(|| Ok(MedTypes::default()), MedTypes::with_file)
}

/// `GATEWAY_SIGN_KEY`, when set.
pub fn sign_key_from_env() -> Option<Secret> {
    config::var("GATEWAY_SIGN_KEY").map(Secret::new)
}

/// `42,44=http://host:50053` → (42, url), (44, url).
fn parse_partitions(specs: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for spec in specs.iter().filter(|s| !s.trim().is_empty()) {
        let (provinces, url) = spec.split_once('=').ok_or_else(|| {
            Error::Internal(format!(
                "routing partition {spec:?}: write provinces=url, e.g. 42,44=http://host:50053"
            ))
        })?;
        for province in provinces.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let two = province
                .get(..2)
                .filter(|p| p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| {
                    Error::Internal(format!(
                        "routing partition {spec:?}: {province:?} is not a province"
                    ))
                })?;
            out.push((two.to_owned(), url.trim().to_owned()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_name_provinces_and_urls() {
        let parsed = parse_partitions(&["42, 44=http://h:1".into(), " ".into()]).unwrap();
        assert_eq!(
            parsed,
            [
                ("42".to_owned(), "http://h:1".to_owned()),
                ("44".to_owned(), "http://h:1".to_owned())
            ]
        );
        assert!(parse_partitions(&["42".into()]).is_err());
        assert!(parse_partitions(&["xx=http://h:1".into()]).is_err());
    }

    #[test]
    fn the_burst_defaults_to_twice_the_rate() {
        let args = LimitArgs { rate_per_s: 100, burst: None, timeout_ms: 5 };
        assert_eq!(args.limits().burst, 200);
        assert_eq!(args.limits().timeout, Duration::from_millis(5));
    }
}

//! Hospitals and operators authenticate with client certificates: the gateway serves HTTPS
//! (TLS 1.3 only, rustls with ring) and reads who a request comes from out of its client
//! certificate's subject common name (`CN=H44030000001`, `CN=OP-420000`), signed by the CA it
//! was given; [`crate::access`] decides what they may do.
//!
//! `medclear certs …` issues a development CA, the gateway's server certificate and client
//! certificates, as PEM files in a directory.

use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo},
    server::conn::auto,
    service::TowerToHyperService,
};
use medclear_common::{Error, Result};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::{
    RootCertStore, ServerConfig,
    pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject},
    server::WebPkiClientVerifier,
};
use tokio::net::TcpListener;
use tower::ServiceExt as _;

use crate::access::Principal;

fn tls_error(what: &str) -> impl Fn(rustls::Error) -> Error + '_ {
    move |e| Error::Internal(format!("{what}: {e}"))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Internal(format!("cannot read {}: {e}", path.display())))
}

fn write(path: &Path, contents: &str) -> Result<()> {
    std::fs::write(path, contents)
        .map_err(|e| Error::Internal(format!("cannot write {}: {e}", path.display())))
}

/// The files of a TLS directory, as `medclear certs` writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsDir(pub PathBuf);

impl TlsDir {
    pub fn ca_cert(&self) -> PathBuf {
        self.0.join("ca.pem")
    }
    pub fn ca_key(&self) -> PathBuf {
        self.0.join("ca.key")
    }
    pub fn server_cert(&self) -> PathBuf {
        self.0.join("server.pem")
    }
    pub fn server_key(&self) -> PathBuf {
        self.0.join("server.key")
    }
    /// A client's certificate and key (an institution's code, or `OP-…`).
    pub fn institution(&self, code: &str) -> (PathBuf, PathBuf) {
        (self.0.join(format!("{code}.pem")), self.0.join(format!("{code}.key")))
    }
}

fn cert_error(e: rcgen::Error) -> Error {
    Error::Internal(format!("issuing a certificate: {e}"))
}

/// Writes a new development CA (`ca.pem`, `ca.key`) into `dir`.
pub fn issue_ca(dir: &TlsDir) -> Result<()> {
    std::fs::create_dir_all(&dir.0)
        .map_err(|e| Error::Internal(format!("cannot create {}: {e}", dir.0.display())))?;
    let mut params = CertificateParams::new(Vec::new()).map_err(cert_error)?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, "medclear development CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().map_err(cert_error)?;
    let cert = params.self_signed(&key).map_err(cert_error)?;
    write(&dir.ca_cert(), &cert.pem())?;
    write(&dir.ca_key(), &key.serialize_pem())
}

/// Signs a certificate for `common_name` with the CA in `dir`; (certificate, key) PEM.
fn issue(
    dir: &TlsDir,
    common_name: &str,
    names: Vec<String>,
    usage: ExtendedKeyUsagePurpose,
) -> Result<(String, String)> {
    let ca_key_pem = String::from_utf8_lossy(&read(&dir.ca_key())?).into_owned();
    let ca_pem = String::from_utf8_lossy(&read(&dir.ca_cert())?).into_owned();
    let ca_key = KeyPair::from_pem(&ca_key_pem).map_err(cert_error)?;
    let ca = CertificateParams::from_ca_cert_pem(&ca_pem)
        .map_err(cert_error)?
        .self_signed(&ca_key)
        .map_err(cert_error)?;
    let mut params = CertificateParams::new(names).map_err(cert_error)?;
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params.extended_key_usages = vec![usage];
    let key = KeyPair::generate().map_err(cert_error)?;
    let cert = params.signed_by(&key, &ca, &ca_key).map_err(cert_error)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Writes the gateway's server certificate (`server.pem`, `server.key`) for these host names
/// and addresses, signed by the CA in `dir`.
pub fn issue_server(dir: &TlsDir, names: &[String]) -> Result<()> {
    let (cert, key) =
        issue(dir, "medclear gateway", names.to_vec(), ExtendedKeyUsagePurpose::ServerAuth)?;
    write(&dir.server_cert(), &cert)?;
    write(&dir.server_key(), &key)
}

/// Writes a client certificate (`<name>.pem`, `<name>.key`) for `common_name` — an
/// institution's `fixmedins_code`, or `OP-<province>` / `OP-000000` for operators — signed by
/// the CA in `dir`; the name is checked first.
pub fn issue_client(dir: &TlsDir, common_name: &str) -> Result<()> {
    if Principal::from_common_name(common_name).is_none() {
        return Err(Error::invalid(
            "common_name",
            "invalid_code",
            format!(
                "{common_name:?} names nobody: a fixmedins_code (H44030000001), OP-<province> \
                 (OP-420000) or OP-000000"
            ),
        ));
    }
    let (cert, key) = issue(dir, common_name, Vec::new(), ExtendedKeyUsagePurpose::ClientAuth)?;
    let (cert_path, key_path) = dir.institution(common_name);
    write(&cert_path, &cert)?;
    write(&key_path, &key)
}

/// The server configuration: the gateway's certificate, TLS 1.3 only, and client
/// certificates verified against the CA — asked for, not required, so that a request without
/// one is answered with a reason rather than a failed handshake.
pub fn server_config(dir: &TlsDir) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&read(&dir.ca_cert())?) {
        let cert = cert.map_err(|e| Error::Internal(format!("ca.pem: {e}")))?;
        roots.add(cert).map_err(tls_error("ca.pem"))?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| Error::Internal(format!("client verifier: {e}")))?;
    let chain = CertificateDer::pem_slice_iter(&read(&dir.server_cert())?)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Internal(format!("server.pem: {e}")))?;
    let key = PrivateKeyDer::from_pem_slice(&read(&dir.server_key())?)
        .map_err(|e| Error::Internal(format!("server.key: {e}")))?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(tls_error("TLS versions"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(tls_error("server certificate"))?;
    Ok(Arc::new(config))
}

/// Who a (verified) client certificate names, by its subject's common name.
pub fn principal_of(cert: &CertificateDer<'_>) -> Principal {
    x509_parser::parse_x509_certificate(cert.as_ref())
        .ok()
        .and_then(|(_, parsed)| {
            let cn = parsed.subject().iter_common_name().next()?.as_str().ok()?.to_owned();
            Principal::from_common_name(&cn)
        })
        .unwrap_or(Principal::Anonymous)
}

/// Whether plain HTTP may be served on `addr`: only on loopback.
pub fn plain_http_allowed(addr: &SocketAddr) -> bool {
    match addr.ip() {
        IpAddr::V4(ip) => ip.is_loopback(),
        IpAddr::V6(ip) => ip.is_loopback(),
    }
}

/// Serves `app` over HTTPS on `listener` until `shutdown` completes. Each connection's
/// requests carry its [`Principal`] as an extension, and its address as `ConnectInfo`.
pub async fn serve(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            () = &mut shutdown => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection");
                    continue;
                }
            },
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY");
        }
        let (acceptor, app) = (acceptor.clone(), app.clone());
        tokio::spawn(async move {
            // A handshake that fails (a certificate the CA did not sign, not TLS 1.3) ends
            // the connection: there is no HTTP to answer in.
            let tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                Err(e) => {
                    tracing::info!(%remote, error = %e, "TLS handshake refused");
                    return;
                }
            };
            let peer = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map_or(Principal::Anonymous, principal_of);
            let service = app.map_request(move |request: hyper::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(peer.clone());
                request.extensions_mut().insert(axum::extract::ConnectInfo(remote));
                request
            });
            let served = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
                .await;
            if let Err(e) = served {
                tracing::debug!(%remote, error = %e, "connection ended");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_name_their_institution_and_plain_http_is_for_loopback_only() {
        let dir = TlsDir(std::env::temp_dir().join(format!("medclear-tls-{}", std::process::id())));
        issue_ca(&dir).unwrap();
        issue_server(&dir, &["localhost".into()]).unwrap();
        issue_client(&dir, "H44030000001").unwrap();
        issue_client(&dir, "OP-420000").unwrap();
        assert!(issue_client(&dir, "not-a-code").is_err());
        let cert = |name: &str| {
            CertificateDer::from_pem_slice(&read(&dir.institution(name).0).unwrap()).unwrap()
        };
        assert_eq!(principal_of(&cert("H44030000001")), Principal::Hospital("H44030000001".into()));
        assert_eq!(principal_of(&cert("OP-420000")), Principal::ProvinceOperator("420000".into()));
        let server = CertificateDer::from_pem_slice(&read(&dir.server_cert()).unwrap()).unwrap();
        assert_eq!(principal_of(&server), Principal::Anonymous, "the server names nobody");
        assert!(server_config(&dir).is_ok());
        assert!(plain_http_allowed(&"127.0.0.1:8080".parse().unwrap()));
        assert!(plain_http_allowed(&"[::1]:8080".parse().unwrap()));
        assert!(!plain_http_allowed(&"0.0.0.0:8080".parse().unwrap()));
        std::fs::remove_dir_all(&dir.0).unwrap();
    }
}

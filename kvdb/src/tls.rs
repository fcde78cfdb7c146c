//! TLS (`rediss://`) settings: a custom CA and a client certificate, and building the `redis`
//! client from them. With the `tls` feature, rustls with the ring provider (which builds with
//! a C compiler alone; aws-lc-rs would also need CMake).

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::options::SessionOptions;
use crate::settings::ConnectionSettings;

/// A PEM document: given as bytes, or a file read when the session is created.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Pem {
    Bytes(Vec<u8>),
    File(PathBuf),
}

impl Pem {
    /// The document's bytes (reads the file); `option` names the option in errors.
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    fn load(&self, option: &'static str) -> Result<Vec<u8>> {
        match self {
            Pem::Bytes(b) => Ok(b.clone()),
            Pem::File(path) => std::fs::read(path).map_err(|e| Error::InvalidOption {
                option,
                reason: format!("cannot read {}: {e}", path.display()),
            }),
        }
    }
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::Bytes(b) => write!(f, "<{} bytes of PEM>", b.len()),
            Pem::File(p) => write!(f, "{}", p.display()),
        }
    }
}

/// What a TLS session trusts and shows, beyond the URL's `rediss://`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct TlsSettings {
    /// The CA certificates (PEM) the server's certificate must chain to, instead of the
    /// system's roots.
    pub(crate) ca: Option<Pem>,
    /// A client certificate chain and its private key (PEM), for servers that ask for one.
    pub(crate) client: Option<(Pem, Pem)>,
}

impl TlsSettings {
    pub(crate) fn is_set(&self) -> bool {
        self.ca.is_some() || self.client.is_some()
    }
}

/// Never shows a private key, nor the bytes of a certificate.
impl fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSettings")
            .field("ca", &self.ca)
            .field("client_cert", &self.client.as_ref().map(|(c, _)| c))
            .field("client_key", &self.client.as_ref().map(|_| "***"))
            .finish()
    }
}

/// The TLS options of [`SessionOptions`] (with the `tls` feature they take effect).
impl SessionOptions {
    /// Trusts the CA certificates in `pem` (PEM text, one or more certificates) for a
    /// `rediss://` server, instead of the system's roots. Needs the `tls` feature.
    pub fn tls_ca_cert(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.tls.ca = Some(Pem::Bytes(pem.into()));
        self
    }

    /// [`tls_ca_cert`](Self::tls_ca_cert) from a PEM file, read by `get_session`.
    pub fn tls_ca_cert_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.tls.ca = Some(Pem::File(path.into()));
        self
    }

    /// Shows this client certificate chain (PEM) and proves it with `key_pem` (a PEM private
    /// key) to a `rediss://` server that asks for one (`tls-auth-clients`). The key never
    /// appears in `Debug`. Needs the `tls` feature.
    pub fn tls_client_cert(
        mut self,
        cert_pem: impl Into<Vec<u8>>,
        key_pem: impl Into<Vec<u8>>,
    ) -> Self {
        self.tls.client = Some((Pem::Bytes(cert_pem.into()), Pem::Bytes(key_pem.into())));
        self
    }

    /// [`tls_client_cert`](Self::tls_client_cert) from PEM files, read by `get_session`.
    pub fn tls_client_cert_files(
        mut self,
        cert_path: impl Into<std::path::PathBuf>,
        key_path: impl Into<std::path::PathBuf>,
    ) -> Self {
        self.tls.client = Some((Pem::File(cert_path.into()), Pem::File(key_path.into())));
        self
    }
}

/// The `redis` client for `settings`: with the TLS settings applied for a `rediss://` URL.
pub(crate) fn client(settings: &ConnectionSettings) -> Result<redis::Client> {
    node_client(settings.connection_info(), settings)
}

/// A `redis` client for one node of `settings` (a server, a cluster node), with its TLS
/// settings if `info` is a TLS address.
pub(crate) fn node_client(
    info: redis::ConnectionInfo,
    settings: &ConnectionSettings,
) -> Result<redis::Client> {
    match info.addr() {
        redis::ConnectionAddr::TcpTls { .. } => tls_client(info, &settings.tls),
        _ => Ok(redis::Client::open(info)?),
    }
}

#[cfg(feature = "tls")]
fn tls_client(info: redis::ConnectionInfo, tls: &TlsSettings) -> Result<redis::Client> {
    match certificates(tls)? {
        None => Ok(redis::Client::open(info)?),
        Some(certs) => {
            redis::Client::build_with_tls(info, certs).map_err(|e| Error::InvalidOption {
                option: "tls",
                reason: e.to_string(),
            })
        }
    }
}

/// The CA and client certificate of `tls`, read and checked, for the `redis` crate's TLS
/// clients (single server, cluster, sentinel); `None` when neither is set (the system's
/// roots are trusted). Installs rustls's crypto provider.
#[cfg(feature = "tls")]
pub(crate) fn certificates(tls: &TlsSettings) -> Result<Option<redis::TlsCertificates>> {
    // rustls needs a process-wide crypto provider; install ring's unless the application
    // installed one already (then this fails, harmlessly).
    let _ = rustls::crypto::ring::default_provider().install_default();
    if !tls.is_set() {
        return Ok(None);
    }
    let root_cert = match &tls.ca {
        Some(pem) => Some(check_certificates(pem.load("tls_ca_cert")?, "tls_ca_cert")?),
        None => None,
    };
    let client_tls = match &tls.client {
        Some((cert, key)) => Some(redis::ClientTlsConfig {
            client_cert: check_certificates(cert.load("tls_client_cert")?, "tls_client_cert")?,
            client_key: key.load("tls_client_cert")?,
        }),
        None => None,
    };
    Ok(Some(redis::TlsCertificates {
        client_tls,
        root_cert,
    }))
}

/// The rustls configuration of a `rediss://` session (for the connections kvdb opens itself):
/// the given CA or the system's roots, and the client certificate if any; `None` without TLS.
#[cfg(feature = "tls")]
pub(crate) fn rustls_config(
    settings: &ConnectionSettings,
) -> Result<Option<std::sync::Arc<rustls::ClientConfig>>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    if !settings.addr.tls() {
        return Ok(None);
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let invalid = |option: &'static str, reason: String| Error::InvalidOption { option, reason };
    let chain = |pem: Vec<u8>, option: &'static str| -> Result<Vec<CertificateDer<'static>>> {
        CertificateDer::pem_slice_iter(&check_certificates(pem, option)?)
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| invalid(option, format!("cannot read the certificates: {e}")))
    };
    let mut roots = rustls::RootCertStore::empty();
    match &settings.tls.ca {
        Some(pem) => {
            for cert in chain(pem.load("tls_ca_cert")?, "tls_ca_cert")? {
                roots
                    .add(cert)
                    .map_err(|e| invalid("tls_ca_cert", e.to_string()))?;
            }
        }
        None => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system certificate rustls cannot use is skipped, as the `redis` crate does.
                let _ = roots.add(cert);
            }
        }
    }
    let builder = rustls::ClientConfig::builder().with_root_certificates(roots);
    let config = match &settings.tls.client {
        Some((cert, key)) => {
            let key = PrivateKeyDer::from_pem_slice(&key.load("tls_client_cert")?)
                .map_err(|e| invalid("tls_client_cert", format!("cannot read the key: {e}")))?;
            builder
                .with_client_auth_cert(
                    chain(cert.load("tls_client_cert")?, "tls_client_cert")?,
                    key,
                )
                .map_err(|e| invalid("tls_client_cert", e.to_string()))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Some(std::sync::Arc::new(config)))
}

/// Checks that `pem` holds at least one certificate (an empty trust store would refuse every
/// server with a less helpful message).
#[cfg(feature = "tls")]
fn check_certificates(pem: Vec<u8>, option: &'static str) -> Result<Vec<u8>> {
    let needle = b"-----BEGIN CERTIFICATE-----";
    if pem.windows(needle.len()).any(|w| w == needle) {
        Ok(pem)
    } else {
        Err(Error::InvalidOption {
            option,
            reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
        })
    }
}

#[cfg(not(feature = "tls"))]
fn tls_client(_: redis::ConnectionInfo, _: &TlsSettings) -> Result<redis::Client> {
    Err(no_tls())
}

#[cfg(not(feature = "tls"))]
pub(crate) fn no_tls() -> Error {
    Error::InvalidOption {
        option: "url",
        reason: "TLS (rediss://) needs kvdb's `tls` cargo feature".into(),
    }
}

/// Whether a connection failed in the TLS handshake (a certificate not trusted, or one the
/// server asked for and did not get) or met data that is not Redis: retrying will not fix it.
pub(crate) fn is_handshake_failure(e: &redis::RedisError) -> bool {
    type Shared = std::sync::Arc<dyn std::error::Error + Send + Sync>;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        // redis-rs keeps the underlying error in an `Arc`, which hides its type from
        // `downcast_ref`: look inside.
        let inner: &(dyn std::error::Error + 'static) = match s.downcast_ref::<Shared>() {
            Some(shared) => &**shared,
            None => s,
        };
        if is_tls_error(inner) {
            return true;
        }
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::InvalidData {
                return true;
            }
            if let Some(wrapped) = io.get_ref()
                && is_tls_error(wrapped)
            {
                return true;
            }
        }
        source = inner.source();
    }
    false
}

#[cfg(feature = "tls")]
fn is_tls_error(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<rustls::Error>().is_some()
}

#[cfg(not(feature = "tls"))]
fn is_tls_error(_: &(dyn std::error::Error + 'static)) -> bool {
    false
}

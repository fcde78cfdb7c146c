//! Connection building: from the pure [`ConnectionSettings`] to the `redis` crate's types
//! (connection infos, clients, TLS certificates, rustls configurations). The one place that
//! maps settings to `redis`: the sync and async transports, the cluster and the sentinel
//! clients all build theirs here.

use crate::error::Result;
use crate::settings::{Addr, ConnectionSettings, Node, Protocol};
#[cfg(feature = "tls")]
use crate::{
    error::Error,
    settings::{Pem, TlsSettings},
};

/// The `redis` crate's name for a protocol version.
pub(crate) fn protocol(p: Protocol) -> redis::ProtocolVersion {
    match p {
        Protocol::Resp2 => redis::ProtocolVersion::RESP2,
        Protocol::Resp3 => redis::ProtocolVersion::RESP3,
    }
}

/// The database, protocol and credentials for a data node (not a sentinel).
pub(crate) fn redis_info(settings: &ConnectionSettings) -> redis::RedisConnectionInfo {
    let mut redis_info = redis::RedisConnectionInfo::default()
        .set_db(settings.db)
        .set_protocol(protocol(settings.protocol));
    if let Some(u) = &settings.username {
        redis_info = redis_info.set_username(u);
    }
    if let Some(p) = &settings.password {
        redis_info = redis_info.set_password(&p.0);
    }
    redis_info
}

/// The `redis` crate's connection info.
pub(crate) fn connection_info(settings: &ConnectionSettings) -> redis::ConnectionInfo {
    let addr = match &settings.addr {
        Addr::Tcp {
            host,
            port,
            tls: false,
        } => redis::ConnectionAddr::Tcp(host.clone(), *port),
        Addr::Tcp {
            host,
            port,
            tls: true,
        } => redis::ConnectionAddr::TcpTls {
            host: host.clone(),
            port: *port,
            insecure: false,
            tls_params: None,
        },
        Addr::Unix(p) => redis::ConnectionAddr::Unix(p.clone()),
        // Multi-node modes: the first node, for the rare caller that wants one address
        // (the cluster and sentinel transports use `nodes` instead).
        Addr::Cluster { nodes, tls }
        | Addr::Sentinel {
            sentinels: nodes,
            tls,
            ..
        } => match nodes.first() {
            Some(n) => node_addr(n, *tls),
            None => redis::ConnectionAddr::Tcp("localhost".into(), 6379),
        },
    };
    node_info(addr, redis_info(settings))
}

/// The connection info of each cluster seed node (with the data nodes' credentials).
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub(crate) fn node_infos(settings: &ConnectionSettings) -> Vec<redis::ConnectionInfo> {
    match &settings.addr {
        Addr::Cluster { nodes, tls } => nodes
            .iter()
            .map(|n| node_info(node_addr(n, *tls), redis_info(settings)))
            .collect(),
        _ => vec![connection_info(settings)],
    }
}

/// A node's address, with TLS (verified; the certificates come with the client) or without.
pub(crate) fn node_addr(n: &Node, tls: bool) -> redis::ConnectionAddr {
    if tls {
        redis::ConnectionAddr::TcpTls {
            host: n.host.clone(),
            port: n.port,
            insecure: false,
            tls_params: None,
        }
    } else {
        redis::ConnectionAddr::Tcp(n.host.clone(), n.port)
    }
}

fn node_info(
    addr: redis::ConnectionAddr,
    redis_info: redis::RedisConnectionInfo,
) -> redis::ConnectionInfo {
    use redis::IntoConnectionInfo;
    #[allow(clippy::expect_used)]
    addr.into_connection_info()
        .expect("a ConnectionAddr always converts")
        .set_redis_settings(redis_info)
}

/// The async cluster connection's configuration: the connect timeout, and the response
/// timeout given (`Some`) or the session's.
#[cfg(all(feature = "cluster", feature = "async"))]
pub(crate) fn cluster_config(
    settings: &ConnectionSettings,
    response_timeout: Option<Option<std::time::Duration>>,
) -> redis::cluster::ClusterConfig {
    let config =
        redis::cluster::ClusterConfig::new().set_connection_timeout(settings.connect_timeout);
    // No response timeout (wait for ever): a year stands for it.
    match response_timeout.unwrap_or(settings.response_timeout) {
        Some(t) => config.set_response_timeout(t),
        None => config.set_response_timeout(std::time::Duration::from_secs(365 * 24 * 3600)),
    }
}

/// The `redis` client for `settings`: with the TLS settings applied for a `rediss://` URL.
pub(crate) fn client(settings: &ConnectionSettings) -> Result<redis::Client> {
    node_client(connection_info(settings), settings)
}

/// A `redis` client for one node of `settings` (a server, a cluster node), with its TLS
/// settings if `info` is a TLS address.
#[cfg_attr(not(feature = "tls"), allow(unused_variables))]
pub(crate) fn node_client(
    info: redis::ConnectionInfo,
    settings: &ConnectionSettings,
) -> Result<redis::Client> {
    match info.addr() {
        // Without the `tls` feature a TLS address never gets here: `get_session` refuses it.
        #[cfg(feature = "tls")]
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
        Some(pem) => Some(check_certificates(
            load(pem, "tls_ca_cert")?,
            "tls_ca_cert",
        )?),
        None => None,
    };
    let client_tls = match &tls.client {
        Some((cert, key)) => Some(redis::ClientTlsConfig {
            client_cert: check_certificates(load(cert, "tls_client_cert")?, "tls_client_cert")?,
            client_key: load(key, "tls_client_cert")?,
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
            for cert in chain(load(pem, "tls_ca_cert")?, "tls_ca_cert")? {
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
            let key = PrivateKeyDer::from_pem_slice(&load(key, "tls_client_cert")?)
                .map_err(|e| invalid("tls_client_cert", format!("cannot read the key: {e}")))?;
            builder
                .with_client_auth_cert(
                    chain(load(cert, "tls_client_cert")?, "tls_client_cert")?,
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

#[cfg(feature = "tls")]
/// A PEM document's bytes (reads the file); `option` names the option in errors.
fn load(pem: &Pem, option: &'static str) -> Result<Vec<u8>> {
    match pem {
        Pem::Bytes(b) => Ok(b.clone()),
        Pem::File(path) => std::fs::read(path).map_err(|e| Error::InvalidOption {
            option,
            reason: format!("cannot read {}: {e}", path.display()),
        }),
    }
}

//! Connection settings: what a session connects to, as plain data, and the pool
//! fingerprint. Pure: no I/O, no `redis` types (those are built by `transport/connect.rs`);
//! URLs are parsed in `url.rs`.
//!
//! Two sessions share a connection pool exactly when their [`ConnectionSettings`] are equal.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

mod url;

pub(crate) use url::{
    SENTINEL_PORT, check_db, parse_db, parse_nodes, parse_port, parse_url, redact,
};

/// Where a session connects.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Addr {
    /// TCP, optionally with TLS.
    Tcp { host: String, port: u16, tls: bool },
    /// A Unix domain socket.
    Unix(PathBuf),
    /// A Redis Cluster, reached through these seed nodes (sorted, no duplicates); with TLS to
    /// every node (`rediss+cluster://`).
    Cluster { nodes: Vec<Node>, tls: bool },
    /// The primary that these sentinels (sorted, no duplicates) name for `master`; with TLS
    /// to the sentinels and the data nodes (`rediss+sentinel://`).
    Sentinel {
        sentinels: Vec<Node>,
        master: String,
        tls: bool,
    },
}

impl Addr {
    /// Whether connections use TLS.
    pub(crate) fn tls(&self) -> bool {
        match self {
            Addr::Tcp { tls, .. } | Addr::Cluster { tls, .. } | Addr::Sentinel { tls, .. } => *tls,
            Addr::Unix(_) => false,
        }
    }

    /// Turns TLS on or off (for [`SessionOptions::tls`](crate::SessionOptions::tls));
    /// `false` for a unix socket, which has none.
    pub(crate) fn set_tls(&mut self, on: bool) -> bool {
        match self {
            Addr::Tcp { tls, .. } | Addr::Cluster { tls, .. } | Addr::Sentinel { tls, .. } => {
                *tls = on;
                true
            }
            Addr::Unix(_) => !on,
        }
    }
}

/// A `host:port` of a cluster seed node or a sentinel.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Node {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// RESP protocol version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// RESP2, the default.
    #[default]
    Resp2,
    /// RESP3 (`?protocol=resp3`).
    Resp3,
}

/// A password that never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Everything that decides which connection pool a session uses: the fingerprint.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ConnectionSettings {
    pub(crate) addr: Addr,
    pub(crate) db: i64,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Secret>,
    /// Sentinel only: the credentials the sentinels themselves ask for (the data nodes'
    /// are `username`/`password`).
    pub(crate) sentinel_username: Option<String>,
    pub(crate) sentinel_password: Option<Secret>,
    pub(crate) protocol: Protocol,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Option<Duration>,
    pub(crate) pool_size: u32,
    pub(crate) pool_timeout: Duration,
    pub(crate) client_name: Option<String>,
    /// CA and client certificates of a `rediss://` connection.
    pub(crate) tls: TlsSettings,
    /// Cluster and sentinel: read-only operations may be served by replicas.
    pub(crate) read_from_replicas: bool,
    /// How failed requests are retried.
    pub(crate) retry: crate::Retry,
}

/// Shows the URL with the password replaced by `***`.
impl fmt::Display for ConnectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match &self.addr {
            Addr::Tcp { tls: false, .. } => "redis",
            Addr::Tcp { tls: true, .. } => "rediss",
            Addr::Unix(_) => "redis+unix",
            Addr::Cluster { tls: false, .. } => "redis+cluster",
            Addr::Cluster { tls: true, .. } => "rediss+cluster",
            Addr::Sentinel { tls: false, .. } => "redis+sentinel",
            Addr::Sentinel { tls: true, .. } => "rediss+sentinel",
        };
        write!(f, "{scheme}://")?;
        match (&self.username, &self.password) {
            (Some(u), Some(_)) => write!(f, "{u}:***@")?,
            (Some(u), None) => write!(f, "{u}@")?,
            (None, Some(_)) => write!(f, ":***@")?,
            (None, None) => {}
        }
        match &self.addr {
            Addr::Tcp { host, port, .. } if host.contains(':') => write!(f, "[{host}]:{port}")?,
            Addr::Tcp { host, port, .. } => write!(f, "{host}:{port}")?,
            Addr::Unix(p) => write!(f, "{}", p.display())?,
            Addr::Cluster { nodes, .. }
            | Addr::Sentinel {
                sentinels: nodes, ..
            } => write_nodes(f, nodes)?,
        }
        match &self.addr {
            Addr::Unix(_) => write!(f, "?db={}", self.db),
            Addr::Tcp { .. } | Addr::Cluster { .. } => write!(f, "/{}", self.db),
            Addr::Sentinel { master, .. } => {
                write!(f, "/{master}/{}", self.db)?;
                let mut sep = '?';
                if let Some(u) = &self.sentinel_username {
                    write!(f, "{sep}sentinel_username={u}")?;
                    sep = '&';
                }
                if self.sentinel_password.is_some() {
                    write!(f, "{sep}sentinel_password=***")?;
                }
                Ok(())
            }
        }
    }
}

fn write_nodes(f: &mut fmt::Formatter<'_>, nodes: &[Node]) -> fmt::Result {
    for (i, n) in nodes.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{n}")?;
    }
    Ok(())
}

/// Every setting (passwords as `***`), from the one list `differences` reads too.
impl fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ConnectionSettings");
        for s in self.settings() {
            d.field(s.name, &format_args!("{}", s.shown));
        }
        d.finish()
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp { host, port, tls } => write!(f, "Tcp({host}:{port}, tls={tls})"),
            Addr::Unix(p) => write!(f, "Unix({})", p.display()),
            Addr::Cluster { nodes, tls } => {
                f.write_str("Cluster(")?;
                write_nodes(f, nodes)?;
                write!(f, ", tls={tls})")
            }
            Addr::Sentinel {
                sentinels,
                master,
                tls,
            } => {
                write!(f, "Sentinel({master} via ")?;
                write_nodes(f, sentinels)?;
                write!(f, ", tls={tls})")
            }
        }
    }
}

/// A PEM document: given as bytes, or a file read when the session is created.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Pem {
    Bytes(Vec<u8>),
    File(PathBuf),
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

//! Pool health for operators: what each connection pool knows about its deployment (mode,
//! nodes, the primary it reaches), read without I/O by [`KVDBClient::health`], or after a
//! round trip per pool by [`KVDBClient::check_health`].
//!
//! [`KVDBClient::health`]: crate::KVDBClient::health
//! [`KVDBClient::check_health`]: crate::KVDBClient::check_health

use std::sync::Mutex;
use std::time::Duration;

use crate::settings::{Addr, ConnectionSettings};
#[cfg(feature = "cluster")]
use crate::transport::cluster::Primaries;

/// The kind of deployment a pool talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mode {
    /// One server (TCP or a unix socket).
    Single,
    /// A Redis Cluster.
    Cluster,
    /// A primary found through sentinels.
    Sentinel,
}

/// What one connection pool knows about its deployment: see
/// [`KVDBClient::health`](crate::KVDBClient::health).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolHealth {
    /// The pool's URL, passwords shown as `***`.
    pub url: String,
    /// Single server, cluster or sentinel.
    pub mode: Mode,
    /// Whether connections use TLS.
    pub tls: bool,
    /// The registered sessions that use this pool, sorted.
    pub sessions: Vec<String>,
    /// The nodes known: the server; for a cluster, its primaries as last read from
    /// `CLUSTER SLOTS` (the seed nodes until then); for a sentinel session, the sentinels.
    pub nodes: Vec<String>,
    /// Sentinel sessions: the primary the latest connection reached (`None` before the
    /// first connection).
    pub primary: Option<String>,
    /// Sentinel sessions with replica reads: the replica the latest replica connection
    /// reached.
    pub replica: Option<String>,
    /// Blocking connections open in the sync pool, and how many of them are idle.
    pub connections: u32,
    /// See [`connections`](Self::connections).
    pub idle_connections: u32,
    /// [`check_health`](crate::KVDBClient::check_health) only: how long a `PING` through
    /// the pool took, or why it failed (redacted); `None` from
    /// [`health`](crate::KVDBClient::health).
    pub check: Option<Result<Duration, String>>,
}

/// What the transports of one pool have seen, shared by its sync and async sides.
#[derive(Default)]
pub(crate) struct Observed {
    primary: Mutex<Option<String>>,
    replica: Mutex<Option<String>>,
    /// Cluster: the primaries from the latest `CLUSTER SLOTS`.
    #[cfg(feature = "cluster")]
    pub(crate) primaries: Primaries,
}

impl Observed {
    /// Notes the address a new connection of a sentinel session reached.
    #[cfg_attr(not(feature = "sentinel"), allow(dead_code))]
    pub(crate) fn reached(&self, replica: bool, info: &redis::ConnectionInfo) {
        let addr = match info.addr() {
            redis::ConnectionAddr::Tcp(h, p)
            | redis::ConnectionAddr::TcpTls {
                host: h, port: p, ..
            } => crate::settings::Node {
                host: h.clone(),
                port: *p,
            }
            .to_string(),
            other => other.to_string(),
        };
        let slot = if replica {
            &self.replica
        } else {
            &self.primary
        };
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(addr);
    }

    /// The pool's health, from `settings` and what was seen; no I/O.
    pub(crate) fn health(&self, settings: &ConnectionSettings) -> PoolHealth {
        let read = |m: &Mutex<Option<String>>| m.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let (mode, nodes) = match &settings.addr {
            Addr::Tcp { host, port, .. } => (
                Mode::Single,
                vec![
                    crate::settings::Node {
                        host: host.clone(),
                        port: *port,
                    }
                    .to_string(),
                ],
            ),
            Addr::Unix(p) => (Mode::Single, vec![p.display().to_string()]),
            Addr::Cluster { nodes, .. } => (Mode::Cluster, {
                #[cfg(feature = "cluster")]
                let seen = self.primaries.list();
                #[cfg(not(feature = "cluster"))]
                let seen: Vec<(String, u16)> = Vec::new();
                if seen.is_empty() {
                    nodes.iter().map(ToString::to_string).collect()
                } else {
                    seen.into_iter()
                        .map(|(host, port)| crate::settings::Node { host, port }.to_string())
                        .collect()
                }
            }),
            Addr::Sentinel { sentinels, .. } => (
                Mode::Sentinel,
                sentinels.iter().map(ToString::to_string).collect(),
            ),
        };
        PoolHealth {
            url: settings.to_string(),
            mode,
            tls: settings.addr.tls(),
            sessions: Vec::new(),
            nodes,
            primary: read(&self.primary),
            replica: read(&self.replica),
            connections: 0,
            idle_connections: 0,
            check: None,
        }
    }
}

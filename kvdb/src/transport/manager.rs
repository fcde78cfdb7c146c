//! The sync pool's connector: where a server's blocking connections go ([`Target`]: a fixed
//! address, or the server the sentinels name) and how they are opened ([`Manager`], with the
//! session's timeouts, client name and TLS). The pool itself is in [`sync`](super::sync).

use std::sync::Arc;

use super::checkout::Connector;
use super::conn::Conn;
use super::observe;
use crate::error::Result;
use crate::health::Observed;
use crate::settings::ConnectionSettings;

/// Who a server connection goes to: a fixed address, or the primary (or a replica) that
/// sentinels name at connection time (so that new connections follow a failover).
// One per pool, never moved afterwards: the variants' sizes (a client with TLS parameters
// is large) do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
pub(crate) enum Target {
    Fixed(redis::Client),
    #[cfg(feature = "sentinel")]
    Sentinel(super::sentinel::SyncLookup),
}

impl Target {
    /// The target of a pool's primary connections.
    pub(crate) fn new(settings: &ConnectionSettings, observed: &Arc<Observed>) -> Result<Self> {
        match &settings.addr {
            #[cfg(feature = "sentinel")]
            crate::settings::Addr::Sentinel { .. } => Ok(Target::Sentinel(
                super::sentinel::SyncLookup::primary(settings, observed)?,
            )),
            _ => {
                let _ = observed;
                Ok(Target::Fixed(crate::transport::connect::client(settings)?))
            }
        }
    }

    /// The target of a sentinel session's replica reads: a replica the sentinels name, or
    /// the primary when they know none. `None` without replica reads.
    #[cfg_attr(not(feature = "sentinel"), allow(unused_variables))]
    pub(crate) fn replicas(&self, settings: &ConnectionSettings) -> Result<Option<Self>> {
        match self {
            #[cfg(feature = "sentinel")]
            Target::Sentinel(lookup) if settings.read_from_replicas => {
                Ok(Some(Target::Sentinel(lookup.replicas(settings)?)))
            }
            _ => Ok(None),
        }
    }

    /// The client for the server to connect to now.
    pub(crate) fn client(&self) -> redis::RedisResult<redis::Client> {
        match self {
            Target::Fixed(c) => Ok(c.clone()),
            #[cfg(feature = "sentinel")]
            Target::Sentinel(lookup) => lookup.client(),
        }
    }
}

/// Opens blocking connections with the session's timeouts and client name.
#[derive(Clone)]
pub(crate) struct Manager {
    target: Target,
    settings: ConnectionSettings,
    /// The TLS configuration of a `rediss://` session.
    #[cfg(feature = "tls")]
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Manager {
    pub(super) fn new(target: Target, settings: &ConnectionSettings) -> Result<Self> {
        Ok(Manager {
            target,
            settings: settings.clone(),
            #[cfg(feature = "tls")]
            tls: crate::transport::connect::rustls_config(settings)?,
        })
    }

    /// A pooled connection: a [`Wire`](super::wire::Wire), whose socket can be checked
    /// while it is idle.
    fn connect(&self) -> redis::RedisResult<Conn> {
        let client = self.target.client()?;
        let wire = super::wire::Wire::connect(&super::wire::Recipe {
            info: client.get_connection_info(),
            connect_timeout: self.settings.connect_timeout,
            client_name: self.settings.client_name.as_deref(),
            #[cfg(feature = "tls")]
            tls: self.tls.clone(),
        })?;
        wire.set_read_timeout(self.settings.response_timeout)?;
        wire.set_write_timeout(self.settings.response_timeout)?;
        observe::connected(&self.settings);
        Ok(Conn::new(wire))
    }

    /// A connection of the `redis` crate, for pub/sub.
    pub(super) fn subscriber_connection(&self) -> redis::RedisResult<redis::Connection> {
        let mut conn = self
            .target
            .client()?
            .get_connection_with_timeout(self.settings.connect_timeout)?;
        conn.set_read_timeout(self.settings.response_timeout)?;
        conn.set_write_timeout(self.settings.response_timeout)?;
        if let Some(name) = &self.settings.client_name {
            redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(name)
                .exec(&mut conn)?;
        }
        Ok(conn)
    }
}

impl Connector for Manager {
    type Conn = Conn;

    fn connect(&self) -> redis::RedisResult<Conn> {
        Manager::connect(self)
    }

    fn is_usable(&self, conn: &mut Conn) -> bool {
        let usable = conn.is_usable();
        if !usable && !conn.is_broken() {
            // Not one the pool already knew was broken: the server closed it while idle.
            observe::stale(&self.settings);
        }
        usable
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.is_broken()
    }
}

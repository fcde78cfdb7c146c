//! Sentinel sessions (feature `sentinel`): the primary is looked up through the sentinels
//! each time a connection is opened, so that connections opened after a failover reach the
//! new primary. Connections to a former primary fail (it is down) or answer `READONLY` (it
//! came back as a replica); either way they are dropped, and the next one is opened through
//! the sentinels again. No failover logic of kvdb's own: the sentinels decide.
//!
//! The sentinels get their own credentials (`sentinel_username`/`sentinel_password`), the
//! data nodes theirs; with TLS (`rediss+sentinel://`) both are reached over TLS with the same
//! certificates.

use std::sync::Arc;

use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};

use crate::error::Result;
use crate::health::Observed;
use crate::settings::{Addr, ConnectionSettings};
use crate::transport::connect::{self, node_addr};

/// Which server of the sentinels' set a client connects to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// The primary (checked with `ROLE`).
    Primary,
    /// One of its replicas, chosen at random among those the sentinels see up.
    Replica,
}

/// A client that asks the sentinels of `settings` for the server of `role` whenever a
/// connection is made.
fn client(settings: &ConnectionSettings, role: Role) -> Result<SentinelClient> {
    let Addr::Sentinel {
        sentinels,
        master,
        tls,
    } = &settings.addr
    else {
        return Err(crate::Error::Internal(
            "a sentinel client for a session that is not a sentinel session".into(),
        ));
    };
    let server_type = match role {
        Role::Primary => SentinelServerType::Master,
        Role::Replica => SentinelServerType::Replica,
    };
    let protocol = connect::protocol(settings.protocol);
    let mut b = SentinelClientBuilder::new(
        sentinels.iter().map(|n| node_addr(n, *tls)),
        master,
        server_type,
    )?
    .set_client_to_redis_db(settings.db)
    .set_client_to_redis_protocol(protocol)
    .set_client_to_sentinel_protocol(protocol);
    if let Some(u) = &settings.username {
        b = b.set_client_to_redis_username(u);
    }
    if let Some(p) = &settings.password {
        b = b.set_client_to_redis_password(&p.0);
    }
    if let Some(u) = &settings.sentinel_username {
        b = b.set_client_to_sentinel_username(u);
    }
    if let Some(p) = &settings.sentinel_password {
        b = b.set_client_to_sentinel_password(&p.0);
    }
    // Without the `tls` feature, `get_session` refuses a TLS address.
    #[cfg(feature = "tls")]
    if *tls {
        b = with_tls(b, settings)?;
    }
    Ok(b.build()?)
}

/// TLS (verified) to the sentinels and the data nodes, with the session's certificates.
#[cfg(feature = "tls")]
fn with_tls(
    b: SentinelClientBuilder,
    settings: &ConnectionSettings,
) -> Result<SentinelClientBuilder> {
    let b = b
        .set_client_to_sentinel_tls_mode(redis::TlsMode::Secure)
        .set_client_to_redis_tls_mode(redis::TlsMode::Secure);
    Ok(match connect::certificates(&settings.tls)? {
        Some(certs) => b
            .set_client_to_sentinel_certificates(certs.clone())
            .set_client_to_redis_certificates(certs),
        None => b,
    })
}

/// Whether a replica lookup found no replica, so the primary serves the reads instead.
fn no_replica(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::NoValidReplicasFoundBySentinel
}

/// Finds the server of one role through the sentinels, for the sync pool: a new client each
/// time a connection is opened.
#[derive(Clone)]
pub(crate) struct SyncLookup {
    role: Role,
    client: Arc<std::sync::Mutex<SentinelClient>>,
    /// For replicas: the primary's lookup, used when the sentinels know no replica.
    primary: Option<Arc<std::sync::Mutex<SentinelClient>>>,
    observed: Arc<Observed>,
}

impl SyncLookup {
    /// The lookup of the primary.
    pub(crate) fn primary(settings: &ConnectionSettings, observed: &Arc<Observed>) -> Result<Self> {
        Ok(SyncLookup {
            role: Role::Primary,
            client: Arc::new(std::sync::Mutex::new(client(settings, Role::Primary)?)),
            primary: None,
            observed: observed.clone(),
        })
    }

    /// The lookup of a replica, falling back on this (primary) lookup.
    pub(crate) fn replicas(&self, settings: &ConnectionSettings) -> Result<Self> {
        Ok(SyncLookup {
            role: Role::Replica,
            client: Arc::new(std::sync::Mutex::new(client(settings, Role::Replica)?)),
            primary: Some(self.client.clone()),
            observed: self.observed.clone(),
        })
    }

    /// The client for the server to connect to now (noted for the pool's health).
    pub(crate) fn client(&self) -> redis::RedisResult<redis::Client> {
        let get = |c: &std::sync::Mutex<SentinelClient>| {
            c.lock().unwrap_or_else(|p| p.into_inner()).get_client()
        };
        let (found, role) = match (get(&self.client), &self.primary) {
            (Err(e), Some(primary)) if no_replica(&e) => (get(primary)?, Role::Primary),
            (found, _) => (found?, self.role),
        };
        self.observed
            .reached(role == Role::Replica, found.get_connection_info());
        Ok(found)
    }
}

/// [`SyncLookup`] for the async pool.
#[cfg(feature = "async")]
pub(crate) struct AsyncLookup {
    role: Role,
    client: Arc<tokio::sync::Mutex<SentinelClient>>,
    primary: Option<Arc<tokio::sync::Mutex<SentinelClient>>>,
    observed: Arc<Observed>,
}

#[cfg(feature = "async")]
impl AsyncLookup {
    /// The lookup of the primary.
    pub(crate) fn primary(settings: &ConnectionSettings, observed: &Arc<Observed>) -> Result<Self> {
        Ok(AsyncLookup {
            role: Role::Primary,
            client: Arc::new(tokio::sync::Mutex::new(client(settings, Role::Primary)?)),
            primary: None,
            observed: observed.clone(),
        })
    }

    /// The lookup of a replica, falling back on this (primary) lookup.
    pub(crate) fn replicas(&self, settings: &ConnectionSettings) -> Result<Self> {
        Ok(AsyncLookup {
            role: Role::Replica,
            client: Arc::new(tokio::sync::Mutex::new(client(settings, Role::Replica)?)),
            primary: Some(self.client.clone()),
            observed: self.observed.clone(),
        })
    }

    /// The client for the server to connect to now (noted for the pool's health).
    pub(crate) async fn client(&self) -> redis::RedisResult<redis::Client> {
        let found = self.client.lock().await.async_get_client().await;
        let (found, role) = match (found, &self.primary) {
            (Err(e), Some(primary)) if no_replica(&e) => (
                primary.lock().await.async_get_client().await?,
                Role::Primary,
            ),
            (found, _) => (found?, self.role),
        };
        self.observed
            .reached(role == Role::Replica, found.get_connection_info());
        Ok(found)
    }
}

/// Whether a reply says `READONLY` (the server is a replica now).
#[cfg(feature = "async")]
pub(crate) fn says_read_only(v: &redis::Value) -> bool {
    match v {
        redis::Value::ServerError(e) => e.kind() == Some(redis::ServerErrorKind::ReadOnly),
        redis::Value::Array(items) => items.iter().any(says_read_only),
        _ => false,
    }
}

//! Redis Cluster sessions (feature `cluster`), through the `redis` crate's cluster clients.
//!
//! The `redis` crate finds the node of each key (and follows `MOVED`/`ASK` redirections and
//! failovers); [`plan`] decides, for each request, whether it goes as is, is split into
//! single-slot commands sent as one batch, or is refused as atomic over several slots. The
//! sync side ([`sync`]) is a pool of `redis::cluster::ClusterConnection`s; the async
//! side is `redis::cluster_async::ClusterConnection` (multiplexed, reconnecting), driven from
//! [`crate::transport::aio`].

#[cfg(feature = "async")]
pub(crate) mod aio;
pub(crate) mod plan;
pub(crate) mod sync;

use std::sync::{Arc, Mutex};

use redis::cluster::{ClusterClient, ClusterClientBuilder};

use crate::error::Result;
use crate::settings::{ConnectionSettings, Protocol};

/// The cluster client for `settings`: seed nodes, credentials, timeouts, replica reads.
pub(crate) fn client(settings: &ConnectionSettings) -> Result<ClusterClient> {
    let mut b = ClusterClientBuilder::new(settings.node_infos())
        .connection_timeout(settings.connect_timeout)
        .use_protocol(match settings.protocol {
            Protocol::Resp2 => redis::ProtocolVersion::RESP2,
            Protocol::Resp3 => redis::ProtocolVersion::RESP3,
        });
    if let Some(t) = settings.response_timeout {
        b = b.response_timeout(t);
    }
    if let Some(u) = &settings.username {
        b = b.username(u);
    }
    if let Some(p) = &settings.password {
        b = b.password(&p.0);
    }
    if settings.read_from_replicas {
        b = b.read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy);
    }
    Ok(b.build()?)
}

/// The cluster's primaries (sorted), as last read from `CLUSTER SLOTS`: what a `SCAN`
/// cursor's node index refers to. Shared by the connections of a pool.
#[derive(Clone, Default)]
pub(crate) struct Primaries(Arc<Mutex<Vec<(String, u16)>>>);

impl Primaries {
    /// The primary at `node`, and how many there are; `fresh` (the `CLUSTER SLOTS` reply)
    /// replaces the list when given.
    pub(crate) fn get(
        &self,
        node: usize,
        fresh: Option<&redis::Value>,
    ) -> redis::RedisResult<((String, u16), usize)> {
        let mut list = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(reply) = fresh {
            *list = plan::primaries(reply);
        }
        match list.get(node) {
            Some(p) => Ok((p.clone(), list.len())),
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Client,
                "cluster SCAN",
                format!(
                    "the cursor names primary #{node}, but the cluster has {} primaries now; \
                     start the scan again",
                    list.len()
                ),
            ))),
        }
    }

    /// Whether the list must be read (a new scan, or never read).
    pub(crate) fn needs_refresh(&self, node: usize, cmd: &redis::Cmd) -> bool {
        let new_scan =
            node == 0 && matches!(cmd.args_iter().nth(1), Some(redis::Arg::Simple(b"0")));
        new_scan || self.0.lock().map(|l| l.is_empty()).unwrap_or(true)
    }
}

/// `CLUSTER SLOTS`.
pub(crate) fn cluster_slots() -> redis::Cmd {
    let mut cmd = redis::cmd("CLUSTER");
    cmd.arg("SLOTS");
    cmd
}

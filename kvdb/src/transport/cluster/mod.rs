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
#[cfg_attr(not(feature = "async"), allow(dead_code))]
pub(crate) mod by_node;
pub(crate) mod plan;
pub(crate) mod sync;

use std::sync::{Arc, Mutex};

use redis::cluster::{ClusterClient, ClusterClientBuilder};

use crate::error::Result;
use crate::settings::ConnectionSettings;
use crate::transport::connect;

/// How long the async cluster connection waits between two tries of a request whose node
/// cannot be reached (ms): from `MIN` up to `MAX`, growing.
///
/// The `redis` crate (1.8) waits at least 1.28 s (`DEFAULT_MIN_RETRY_WAIT_TIME`) before
/// trying a request again when the node of its slot cannot be reached, as when a primary has
/// died: a request then reached the promoted replica up to 1.28 s after its promotion (we
/// measured 0.4-1.2 s). Waits this short let it find the new primary within a quarter of a
/// second (the retry also refreshes the slot map), for as long as the response timeout allows
/// (see `retries`). The waits have been configurable since redis-rs PR #859; the default is
/// unchanged upstream.
const RETRY_WAIT_MS: (u64, u64) = (20, 250);

/// The async cluster client's number of tries for a request: enough to keep trying every
/// [`RETRY_WAIT_MS`] for the whole response timeout (30 s when there is none; the
/// connection's overall timeout, equal to the response timeout, ends a request first).
fn retries(settings: &ConnectionSettings) -> u32 {
    let budget = settings
        .response_timeout
        .unwrap_or(std::time::Duration::from_secs(30));
    u32::try_from(budget.as_millis() / 100)
        .unwrap_or(u32::MAX)
        .clamp(16, 10_000)
}

/// The cluster client for `settings`: seed nodes, credentials, timeouts, replica reads; for
/// the async side (`for_async`), prompt retries while a failover is under way.
pub(crate) fn client(settings: &ConnectionSettings, for_async: bool) -> Result<ClusterClient> {
    Ok(builder(settings, for_async)?.build()?)
}

fn builder(settings: &ConnectionSettings, for_async: bool) -> Result<ClusterClientBuilder> {
    let mut b = ClusterClientBuilder::new(connect::node_infos(settings))
        .connection_timeout(settings.connect_timeout)
        .use_protocol(connect::protocol(settings.protocol));
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
    // Without the `tls` feature, `get_session` refuses a TLS address.
    #[cfg(feature = "tls")]
    if settings.addr.tls() {
        b = with_tls(b, settings)?;
    }
    if for_async {
        b = b
            .min_retry_wait(RETRY_WAIT_MS.0)
            .max_retry_wait(RETRY_WAIT_MS.1)
            .retries(retries(settings));
    }
    Ok(b)
}

/// The async client for batches sent one pipeline per node: no retries. The `redis` crate
/// follows a redirection inside a pipeline by sending the whole pipeline to the new node,
/// where the other nodes' commands are redirected back (measured: a ping-pong until the
/// retries run out); without retries the batch fails at the first redirection or error and
/// its commands are sent again one by one on the session's own connection.
#[cfg(feature = "async")]
pub(crate) fn batch_client(settings: &ConnectionSettings) -> Result<ClusterClient> {
    Ok(builder(settings, false)?.retries(0).build()?)
}

/// TLS to every node (verified), with the session's CA and client certificate if given.
#[cfg(feature = "tls")]
fn with_tls(
    b: ClusterClientBuilder,
    settings: &ConnectionSettings,
) -> Result<ClusterClientBuilder> {
    let b = b.tls(redis::TlsMode::Secure);
    Ok(match connect::certificates(&settings.tls)? {
        Some(certs) => b.certs(certs),
        None => b,
    })
}

/// The cluster's primaries (sorted), as last read from `CLUSTER SLOTS`: what a `SCAN`
/// cursor's node index refers to; and which one serves each slot, for batches sent one
/// pipeline per node. Shared by the connections of a pool.
#[derive(Clone, Default)]
pub(crate) struct Primaries(
    Arc<Mutex<Vec<(String, u16)>>>,
    Arc<Mutex<Option<Arc<by_node::SlotTable>>>>,
);

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

    /// The primaries as last read (empty if never read).
    pub(crate) fn list(&self) -> Vec<(String, u16)> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The slot table as last read, unless it was never read or is known to be stale.
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    pub(crate) fn slot_table(&self) -> Option<Arc<by_node::SlotTable>> {
        self.1.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the slot table (and the primaries) from a `CLUSTER SLOTS` reply.
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    pub(crate) fn set_slots(&self, reply: &redis::Value) -> Arc<by_node::SlotTable> {
        let table = Arc::new(by_node::SlotTable::from_reply(reply));
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = plan::primaries(reply);
        *self.1.lock().unwrap_or_else(|p| p.into_inner()) =
            (!table.is_empty()).then(|| table.clone());
        table
    }

    /// Marks the slot table stale (a node redirected a command): read again before the next
    /// batch.
    #[cfg_attr(not(feature = "async"), allow(dead_code))]
    pub(crate) fn forget_slots(&self) {
        *self.1.lock().unwrap_or_else(|p| p.into_inner()) = None;
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

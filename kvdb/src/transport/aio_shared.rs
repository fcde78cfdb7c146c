//! What an async pool shares between calls: one connection per live tokio runtime
//! ([`Entries`]), a server's lazily opened shared connection ([`SharedSlot`]), where its
//! connections go ([`Target`], [`Server`], [`Backend`]), and the [`Channel`] a request is sent
//! on. The pool itself, and its retry loop, are in [`aio`](super::aio).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use redis::Value;

use super::aio_wire::Live;
use super::observe;
use super::{Op, Request, complete};
use crate::error::{Error, Result};

/// A runtime's shared connection to a server: opened lazily, replaced once it failed.
#[derive(Clone, Default)]
pub(crate) struct SharedSlot(Arc<SlotState>);

#[derive(Default)]
struct SlotState {
    /// The open connection: taken under a short lock by every request.
    conn: Mutex<Option<Live>>,
    /// Held while a connection is being opened, so that one caller opens it and the others
    /// wait for it; keeps the latest failed attempt, whose error callers that queued behind
    /// it get instead of each trying (and waiting the connect timeout) in turn.
    opening: tokio::sync::Mutex<Option<(Instant, redis::RedisError)>>,
}

/// The shared connection of one runtime.
struct Entry<C> {
    runtime: tokio::runtime::Id,
    alive: Arc<AtomicBool>,
    conn: C,
}

/// Sets `alive` to false when dropped, i.e. when its runtime drops the task holding it.
struct AliveGuard(Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// One shared connection per live runtime.
pub(super) struct Entries<C>(Mutex<Vec<Entry<C>>>);

impl<C: Clone> Entries<C> {
    pub(super) fn new() -> Self {
        Entries(Mutex::new(Vec::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry<C>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current runtime's connection, if it has one.
    pub(super) fn get(&self) -> Result<Option<C>> {
        let id = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::NoRuntime)?
            .id();
        let mut entries = self.lock();
        entries.retain(|e| e.alive.load(Ordering::Acquire));
        Ok(entries
            .iter()
            .find(|e| e.runtime == id)
            .map(|e| e.conn.clone()))
    }

    /// Keeps `conn` as the current runtime's connection (unless another task got there
    /// first: then that one), for as long as the runtime lives.
    pub(super) fn put(&self, conn: C) -> Result<C> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let id = handle.id();
        let mut entries = self.lock();
        if let Some(e) = entries.iter().find(|e| e.runtime == id) {
            return Ok(e.conn.clone());
        }
        let alive = Arc::new(AtomicBool::new(true));
        let guard = AliveGuard(alive.clone());
        handle.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        entries.push(Entry {
            runtime: id,
            alive,
            conn: conn.clone(),
        });
        Ok(conn)
    }

    /// Forgets the current runtime's connection (the next call makes a new one).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(super) fn forget(&self) {
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let id = handle.id();
            self.lock().retain(|e| e.runtime != id);
        }
    }
}

/// Who a server connection goes to: a fixed address, or the primary (or a replica) the
/// sentinels name.
// One or two per pool, never moved afterwards: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
pub(super) enum Target {
    Fixed(redis::Client),
    #[cfg(feature = "sentinel")]
    Sentinel(super::sentinel::AsyncLookup),
}

impl Target {
    pub(super) async fn client(&self) -> Result<redis::Client> {
        match self {
            Target::Fixed(c) => Ok(c.clone()),
            #[cfg(feature = "sentinel")]
            // Boxed as a `dyn Future`: redis's sentinel lookup future is deeply nested, and
            // inside every op's future (and the user's async code around it) the auto-trait
            // checks exceed rustc's recursion limit in the user's crate. One allocation per
            // connect, not per op.
            Target::Sentinel(lookup) => {
                let lookup: std::pin::Pin<
                    Box<dyn Future<Output = redis::RedisResult<redis::Client>> + Send + '_>,
                > = Box::pin(lookup.client());
                Ok(lookup.await?)
            }
        }
    }
}

/// The shared connections to one server (per runtime) and where they go.
pub(super) struct Server {
    pub(super) target: Target,
    pub(super) entries: Entries<SharedSlot>,
}

/// The connections of an async pool.
pub(super) enum Backend {
    Server {
        primary: Server,
        /// Sentinel replica reads: connections to a replica, for read-only operations.
        replica: Option<Server>,
    },
    #[cfg(feature = "cluster")]
    Cluster {
        client: redis::cluster::ClusterClient,
        /// The same cluster, without retries: for batches sent one pipeline per node, which
        /// fall back to `client`'s connection on any failure (`cluster::aio`).
        batch_client: Box<redis::cluster::ClusterClient>,
        /// Per runtime: the connection and the batch connection.
        entries: Entries<(
            redis::cluster_async::ClusterConnection,
            redis::cluster_async::ClusterConnection,
        )>,
        primaries: super::cluster::Primaries,
    },
}

/// A connection to send requests on: a server's shared or dedicated connection, or a
/// cluster connection.
pub(crate) enum Channel {
    Shared {
        live: Live,
        slot: SharedSlot,
    },
    Dedicated(Live),
    #[cfg(feature = "cluster")]
    Cluster {
        conn: redis::cluster_async::ClusterConnection,
        /// The batch connection (none on a dedicated channel).
        batch: Option<redis::cluster_async::ClusterConnection>,
        primaries: super::cluster::Primaries,
    },
}

impl Channel {
    /// Runs one round trip on this connection (none if the op is answered locally).
    pub(crate) async fn run<O: Op>(&mut self, mut op: O) -> Result<O::Output> {
        if let Some(out) = super::run_locally(&mut op) {
            return out;
        }
        let reply = self.send(&op.request()).await?;
        complete(reply, op)
    }

    /// Sends `request`; the outer `Err` is for a request refused before sending.
    pub(super) async fn send(
        &mut self,
        request: &Request<'_>,
    ) -> Result<redis::RedisResult<Value>> {
        match self {
            Channel::Shared { live, slot } => {
                let reply = live.send(request).await;
                if let Err(e) = &reply
                    && (e.is_io_error() || e.is_connection_dropped() || live.is_closed())
                    && !e.is_timeout()
                {
                    slot.forget(live);
                }
                Ok(reply)
            }
            Channel::Dedicated(c) => Ok(c.send(request).await),
            #[cfg(feature = "cluster")]
            Channel::Cluster {
                conn,
                batch,
                primaries,
            } => {
                // Boxed: a cluster request's state (redirections, batches by node) is ~1.7 KB,
                // which would otherwise be laid out in the future of every request, cluster
                // or not, of a build with the `cluster` feature.
                Box::pin(super::cluster::aio::send(
                    conn,
                    batch.as_ref(),
                    primaries,
                    request,
                ))
                .await
            }
        }
    }
}

impl SharedSlot {
    /// The open connection, if it is not known to be closed.
    pub(super) fn current(&self, server: &str) -> Option<Live> {
        let mut conn = self.0.conn.lock().unwrap_or_else(|p| p.into_inner());
        match &*conn {
            Some(live) if !live.is_closed() => Some(live.clone()),
            // The server closed it while it was idle: nothing was sent on it yet.
            Some(_) => {
                *conn = None;
                observe::stale(&server);
                None
            }
            None => None,
        }
    }

    /// The open connection, or a new one from `open` (`server` names it in events).
    pub(super) async fn live<F, Fut>(&self, server: &str, open: F) -> redis::RedisResult<Live>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<Live>>,
    {
        if let Some(live) = self.current(server) {
            return Ok(live);
        }
        let asked = Instant::now();
        let mut failed = self.0.opening.lock().await;
        if let Some(live) = self.current(server) {
            return Ok(live);
        }
        if let Some((at, e)) = &*failed
            && *at >= asked
        {
            return Err(e.clone());
        }
        match open().await {
            Ok(live) => {
                *failed = None;
                *self.0.conn.lock().unwrap_or_else(|p| p.into_inner()) = Some(live.clone());
                Ok(live)
            }
            Err(e) => {
                *failed = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    /// Forgets `live` if it is still the slot's connection (the next call opens another).
    pub(super) fn forget(&self, live: &Live) {
        live.mark_closed();
        let mut conn = self.0.conn.lock().unwrap_or_else(|p| p.into_inner());
        if conn.as_ref().is_some_and(|c| c.same(live)) {
            *conn = None;
        }
    }
}

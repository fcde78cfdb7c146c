//! The synchronous transport: a bounded pool of blocking connections ([`checkout`](super::checkout)),
//! no runtime.

use std::time::Instant;

use redis::Value;

use super::checkout::{CheckoutError, ConnPool, Connector, Pooled};
pub(crate) use super::conn::{Link, run_on_link};
use super::manager::{Manager, Target};
use super::observe::{self, OpInfo};
use super::{Blocking, Conversation, Cursor, Op, Pages, Request, Step, finish, with_key};
use std::sync::Arc;

use crate::error::{Error, KeyContext, Result};
use crate::health::Observed;
use crate::retry::{Failure, Safety};
use crate::settings::ConnectionSettings;

/// The connections of a sync pool: to one server (possibly found through sentinels), or to
/// a cluster.
// One per pool, built once and never moved afterwards: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Server {
        pool: ConnPool<Manager>,
        /// Opens connections outside the pool (pub/sub).
        manager: Manager,
        /// Sentinel replica reads: connections to a replica, for read-only operations.
        replicas: Option<ConnPool<Manager>>,
    },
    #[cfg(feature = "cluster")]
    Cluster {
        pool: ConnPool<super::cluster::sync::ClusterManager>,
        manager: super::cluster::sync::ClusterManager,
    },
}

/// Runs `$body` with `$pool` bound to the backend's connection pool, whatever its kind.
macro_rules! with_pool {
    ($self:ident, |$pool:ident| $body:expr) => {
        match &$self.backend {
            Backend::Server { pool: $pool, .. } => $body,
            #[cfg(feature = "cluster")]
            Backend::Cluster { pool: $pool, .. } => $body,
        }
    };
}

/// A pool of blocking connections to one server or one cluster.
pub(crate) struct SyncPool {
    backend: Backend,
    settings: ConnectionSettings,
    server: String,
}

impl SyncPool {
    /// Builds the pool without connecting.
    pub(crate) fn new(settings: &ConnectionSettings, observed: &Arc<Observed>) -> Result<Self> {
        let pool = |connector| ConnPool::new(connector, settings.pool_size, settings.pool_timeout);
        let backend = match &settings.addr {
            #[cfg(feature = "cluster")]
            crate::settings::Addr::Cluster { .. } => {
                let manager = super::cluster::sync::ClusterManager::new(settings, observed)?;
                Backend::Cluster {
                    pool: ConnPool::new(manager.clone(), settings.pool_size, settings.pool_timeout),
                    manager,
                }
            }
            _ => {
                let target = Target::new(settings, observed)?;
                let replicas = match target.replicas(settings)? {
                    Some(target) => Some(pool(Manager::new(target, settings)?)),
                    None => None,
                };
                let manager = Manager::new(target, settings)?;
                Backend::Server {
                    pool: pool(manager.clone()),
                    manager,
                    replicas,
                }
            }
        };
        Ok(SyncPool {
            backend,
            settings: settings.clone(),
            server: settings.to_string(),
        })
    }

    /// A pooled connection: an idle one that still looks usable, a new one, or one freed
    /// within the pool timeout. A connection that cannot be opened fails at once
    /// ([`Error::Connect`]); only a pool whose connections all stay busy waits the pool
    /// timeout ([`Error::Pool`]).
    fn checkout<'p, M: Connector>(&self, pool: &'p ConnPool<M>) -> Result<Pooled<'p, M>> {
        let started = Instant::now();
        let got = pool.get();
        if got.is_ok() {
            observe::checkout(&self.server, started.elapsed());
        }
        got.map_err(|e| match e {
            CheckoutError::Connect(source) => Error::Connect {
                server: self.server.clone(),
                source,
            },
            CheckoutError::Exhausted { size, waited } => Error::Pool {
                server: self.server.clone(),
                reason: format!(
                    "all {size} connections stayed busy for {waited:?} (the pool timeout); \
                     raise SessionOptions::pool_size or pool_timeout, or find what holds them"
                ),
            },
        })
    }

    /// Takes a pooled connection and gives it back: what each call does around its request
    /// (the idle check included). For `benches/checkout.rs`.
    #[cfg(feature = "testing")]
    pub(crate) fn checkout_and_return(&self) -> Result<()> {
        with_pool!(self, |pool| self.checkout(pool).map(drop))
    }

    /// Runs `attempt` until it succeeds or the session's [`Retry`](crate::Retry) policy says
    /// stop: the one retry loop of the sync transport. `safety` is what the operation declares
    /// about being sent twice.
    fn retrying<T, M: Connector>(
        &self,
        pool: &ConnPool<M>,
        safety: Safety,
        mut attempt: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let policy = &self.settings.retry;
        let mut n = 1;
        loop {
            let e = match attempt() {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if Failure::of(&e) == Failure::Lost {
                pool.connection_lost();
            }
            let budget = self.settings.response_timeout;
            match policy.next_wait(n, safety, &e, started.elapsed(), budget) {
                Some(wait) => {
                    observe::retry(&self.server, n + 1, wait, &e);
                    std::thread::sleep(wait)
                }
                None => return Err(e),
            }
            n += 1;
        }
    }

    /// The replica pool, for a read-only operation of a session with replica reads.
    fn replicas(&self, read_only: bool) -> Option<&ConnPool<Manager>> {
        match &self.backend {
            Backend::Server {
                replicas: Some(pool),
                ..
            } if read_only => Some(pool),
            _ => None,
        }
    }

    /// The pool's state: open and idle connections (of the primary pool).
    pub(crate) fn state(&self) -> super::checkout::PoolState {
        with_pool!(self, |pool| pool.state())
    }

    /// A `PING` (every primary, for a cluster) and, for a cluster, a `CLUSTER SLOTS` that
    /// refreshes the primaries known: for [`KVDBClient::check_health`](crate::KVDBClient).
    pub(crate) fn check(&self) -> Result<()> {
        // Not a session operation: sent without a span or metrics.
        let ping = super::Command::new(redis::cmd("PING"), |_| Ok(()));
        with_pool!(self, |pool| self.run_on(pool, ping, Safety::Read))?;
        #[cfg(feature = "cluster")]
        if let Backend::Cluster { manager, .. } = &self.backend {
            let slots = super::Command::new(super::cluster::cluster_slots(), Ok);
            let reply = with_pool!(self, |pool| self.run_on(pool, slots, Safety::Read))?;
            manager
                .primaries()
                .get(0, Some(&reply))
                .map_err(Error::from)?;
        }
        Ok(())
    }

    /// Runs one round trip.
    pub(crate) fn run<O: Op>(&self, op: O, info: OpInfo<'_>) -> Result<O::Output> {
        let safety = info.safety();
        observe::sync_op(info, &self.server, op, |mut op| {
            if let Some(out) = super::run_locally(&mut op) {
                return out;
            }
            if let Some(pool) = self.replicas(op.read_only()) {
                return self.run_on(pool, op, safety);
            }
            with_pool!(self, |pool| self.run_on(pool, op, safety))
        })
    }

    fn run_on<M, O>(&self, pool: &ConnPool<M>, mut op: O, safety: Safety) -> Result<O::Output>
    where
        M: Connector,
        M::Conn: Link,
        O: Op,
    {
        let safety = op.safety().unwrap_or(safety);
        let reply = self.retrying(pool, safety, || {
            let mut conn = self.checkout(pool)?;
            let reply = conn.send(&op.request())?;
            drop(conn);
            finish(reply, &op.request())
        })?;
        op.decode(reply)
            .map_err(|e| with_key(e, op.request().key()))
    }

    /// Runs a transaction (driven by the caller on a [`reserve`](Self::reserve)d connection)
    /// inside one span; the outer `Err` is kvdb's failure, the inner one the body's.
    pub(crate) fn scoped<T, E>(
        &self,
        info: OpInfo<'_>,
        keys: usize,
        run: impl FnOnce() -> Result<std::result::Result<T, E>>,
    ) -> Result<std::result::Result<T, E>> {
        observe::sync_scoped(info, &self.server, keys, run)
    }

    /// A pooled connection kept for several requests (a transaction's WATCH state lives on
    /// it); it goes back to the pool when dropped. Like a conversation's, only getting the
    /// connection is retried.
    pub(crate) fn reserve(&self) -> Result<Box<dyn Link + '_>> {
        with_pool!(self, |pool| Ok(Box::new(self.retrying(
            pool,
            Safety::Once,
            || self.checkout(pool)
        )?)))
    }

    /// Runs a command that makes the server wait, on a pooled connection whose read timeout
    /// is lengthened by the wait for this one request.
    pub(crate) fn blocking<O: Op>(
        &self,
        Blocking { op, wait }: Blocking<O>,
        info: OpInfo<'_>,
    ) -> Result<O::Output> {
        let safety = info.safety();
        observe::sync_op(info, &self.server, op, |mut op| {
            if let Some(out) = super::run_locally(&mut op) {
                return out;
            }
            with_pool!(self, |pool| self.blocking_on(
                pool,
                Blocking { op, wait },
                safety
            ))
        })
    }

    fn blocking_on<M, O>(
        &self,
        pool: &ConnPool<M>,
        blocking: Blocking<O>,
        safety: Safety,
    ) -> Result<O::Output>
    where
        M: Connector,
        M::Conn: Link,
        O: Op,
    {
        let usual = self.settings.response_timeout;
        let timeout = blocking.response_timeout(usual);
        let mut op = blocking.op;
        let safety = op.safety().unwrap_or(safety);
        let reply = self.retrying(pool, safety, || {
            let mut conn = self.checkout(pool)?;
            conn.set_read_timeout(timeout)?;
            let reply = conn.send(&op.request());
            // Failing to restore the usual timeout means the socket is gone: the pool then
            // drops the connection (`has_broken`) instead of reusing it.
            let _ = conn.set_read_timeout(usual);
            drop(conn);
            finish(reply?, &op.request())
        })?;
        op.decode(reply)
            .map_err(|e| with_key(e, op.request().key()))
    }

    /// Reads a paged sequence; one round trip per page, as the iterator advances.
    pub(crate) fn pages<'a, P: Pages>(&'a self, pages: P, info: OpInfo<'a>) -> PageIter<'a, P> {
        PageIter {
            pool: self,
            cursor: Cursor::new(pages),
            info,
        }
    }

    /// Opens a connection of its own, outside the pool, for a subscription
    /// (`transport::pubsub::sync`).
    pub(crate) fn open_pubsub(&self) -> Result<redis::Connection> {
        Ok(match &self.backend {
            Backend::Server { manager, .. } => manager.subscriber_connection()?,
            #[cfg(feature = "cluster")]
            Backend::Cluster { manager, .. } => manager.node_connection()?,
        })
    }

    /// Runs a multi-step conversation on one pooled connection.
    ///
    /// Only getting the connection is retried: a conversation that failed half-way is not
    /// started again, unless it is restartable (a read-only script).
    pub(crate) fn converse<C: Conversation>(&self, conv: C, info: OpInfo<'_>) -> Result<C::Output> {
        let safety = info.safety();
        observe::sync_conversation(info, &self.server, conv, |conv| {
            if let Some(pool) = self.replicas(conv.read_only()) {
                return self.converse_restarting(pool, conv, safety);
            }
            with_pool!(self, |pool| self.converse_restarting(pool, conv, safety))
        })
    }

    /// Runs a conversation on `pool`: started again as a whole after a lost connection when
    /// it is restartable, else only getting its connection is retried (under `safety`).
    fn converse_restarting<M, C>(
        &self,
        pool: &ConnPool<M>,
        mut conv: C,
        safety: Safety,
    ) -> Result<C::Output>
    where
        M: Connector,
        M::Conn: Link,
        C: Conversation,
    {
        match conv.restartable() {
            // Every step only reads (or is idempotent): after a lost connection, the whole
            // conversation is started again, as a single request would be resent.
            Some(whole) => self.retrying(pool, whole, || {
                conv.rewind();
                self.converse_on(pool, &mut conv, None)
            }),
            None => self.converse_on(pool, conv, Some(safety)),
        }
    }

    /// Runs a conversation that `make` builds afresh for each attempt: the whole conversation
    /// is started again after a lost connection when the safety in `info` allows it (a page of a paged
    /// read, whose every step only reads). `make` always has one to give; `None` would be an
    /// internal error.
    pub(crate) fn converse_anew<C: Conversation>(
        &self,
        info: OpInfo<'_>,
        mut make: impl FnMut() -> Option<C>,
    ) -> Result<C::Output> {
        // The first conversation says whether a replica may serve them all (a read-only page).
        let first = make();
        if let Some(pool) = self.replicas(first.as_ref().is_some_and(|c| c.read_only())) {
            return self.converse_anew_on(pool, info, first, make);
        }
        with_pool!(self, |pool| self
            .converse_anew_on(pool, info, first, &mut make))
    }

    fn converse_anew_on<M, C>(
        &self,
        pool: &ConnPool<M>,
        info: OpInfo<'_>,
        mut first: Option<C>,
        mut make: impl FnMut() -> Option<C>,
    ) -> Result<C::Output>
    where
        M: Connector,
        M::Conn: Link,
        C: Conversation,
    {
        self.retrying(pool, info.safety(), || {
            match first.take().or_else(&mut make) {
                Some(conv) => observe::sync_conversation(info, &self.server, conv, |conv| {
                    self.converse_on(pool, conv, None)
                }),
                None => Err(Error::Internal("a page without a cursor".into())),
            }
        })
    }

    fn converse_on<M, C>(
        &self,
        pool: &ConnPool<M>,
        mut conv: C,
        // `Some`: getting the connection is retried under this safety; `None`: the caller
        // retries the whole conversation.
        safety: Option<Safety>,
    ) -> Result<C::Output>
    where
        M: Connector,
        M::Conn: Link,
        C: Conversation,
    {
        // Checked out at the first request: a conversation may finish without one (e.g.
        // `get_models` of no keys).
        let mut held = None;
        let mut reply = None;
        loop {
            let step = conv.step(reply.take())?;
            let request = match &step {
                Step::Send(cmd) => Some(Request::Cmd(cmd)),
                Step::SendPipe(pipe) => Some(Request::Pipe(pipe)),
                Step::Sleep(_) | Step::Done(_) => None,
            };
            if let Some(request) = request {
                let conn = match &mut held {
                    Some(conn) => conn,
                    None => held.insert(match safety {
                        Some(safety) => self.retrying(pool, safety, || self.checkout(pool))?,
                        None => self.checkout(pool)?,
                    }),
                };
                let r = conn.send(&request)?;
                reply = Some(check_connection(r, || request.key())?);
                continue;
            }
            match step {
                Step::Sleep(d) => std::thread::sleep(d),
                Step::Done(out) => return Ok(out),
                Step::Send(_) | Step::SendPipe(_) => {}
            }
        }
    }
}

/// The sync side of a paged read: an iterator that sends a page request when its buffer is
/// empty.
pub(crate) struct PageIter<'a, P: Pages> {
    pool: &'a SyncPool,
    cursor: Cursor<P>,
    info: OpInfo<'a>,
}

impl<P: Pages> Iterator for PageIter<'_, P> {
    type Item = Result<P::Item>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.cursor.pop() {
                return Some(item);
            }
            let page = self.cursor.next_page()?;
            // A page only reads: after a lost connection it is asked for again.
            let (cursor, mut first) = (&self.cursor, Some(page));
            let read = self
                .pool
                .converse_anew(self.info.with_safety(Safety::Read), || {
                    first.take().or_else(|| cursor.next_page())
                });
            if let Some(e) = self.cursor.absorb(read) {
                return Some(Err(e));
            }
        }
    }
}

/// Connection-level failures end a conversation; server errors are handed back to it.
pub(crate) fn check_connection(
    r: redis::RedisResult<Value>,
    key: impl FnOnce() -> Option<String>,
) -> Result<redis::RedisResult<Value>> {
    match r {
        Err(e) if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() => {
            Err(Error::Redis {
                key: KeyContext::new(key()),
                source: e,
            })
        }
        other => Ok(other),
    }
}

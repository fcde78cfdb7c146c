//! The synchronous transport: a bounded pool of blocking connections (r2d2), no runtime.

use std::time::{Duration, Instant};

use redis::{ConnectionLike, Value};

use super::conn::Conn;
use super::observe::{self, OpInfo};
use super::{Blocking, Conversation, Cursor, Op, Pages, Request, Step, complete, finish, with_key};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::health::Observed;
use crate::settings::ConnectionSettings;

/// A checked-out blocking connection: to one server, or to a cluster.
pub(crate) trait Link {
    /// Sends `request`. The outer `Err` is for a request refused before anything is sent
    /// (e.g. [`Error::CrossSlot`]); the inner result is the server's answer or the
    /// connection's failure.
    fn send(&mut self, request: &Request<'_>) -> Result<redis::RedisResult<Value>>;
    /// Sets the socket read timeout(s).
    fn set_read_timeout(&mut self, t: Option<Duration>) -> redis::RedisResult<()>;
}

impl<M: r2d2::ManageConnection> Link for r2d2::PooledConnection<M>
where
    M::Connection: Link,
{
    fn send(&mut self, request: &Request<'_>) -> Result<redis::RedisResult<Value>> {
        (**self).send(request)
    }

    fn set_read_timeout(&mut self, t: Option<Duration>) -> redis::RedisResult<()> {
        (**self).set_read_timeout(t)
    }
}

/// Runs one round trip on a connection the caller holds (none if the op is answered locally).
pub(crate) fn run_on_link<O: Op>(conn: &mut dyn Link, mut op: O) -> Result<O::Output> {
    if let Some(out) = super::run_locally(&mut op) {
        return out;
    }
    let reply = conn.send(&op.request())?;
    complete(reply, op)
}

impl Link for Conn {
    fn send(&mut self, request: &Request<'_>) -> Result<redis::RedisResult<Value>> {
        Ok(match request {
            Request::Cmd(cmd) => self.req_command(cmd),
            Request::Pipe(pipe) => pipe.query::<Value>(self),
        })
    }

    fn set_read_timeout(&mut self, t: Option<Duration>) -> redis::RedisResult<()> {
        Conn::set_read_timeout(self, t)
    }
}

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
                Ok(Target::Fixed(crate::tls::client(settings)?))
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
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = redis::RedisError;

    fn connect(&self) -> redis::RedisResult<Conn> {
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
        Ok(Conn::new(conn))
    }

    fn is_valid(&self, conn: &mut Conn) -> redis::RedisResult<()> {
        redis::cmd("PING").exec(conn)
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.is_broken()
    }
}

/// The connections of a sync pool: to one server (possibly found through sentinels), or to
/// a cluster.
// One per pool, built once and never moved afterwards: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Server {
        pool: r2d2::Pool<Manager>,
        /// Opens connections outside the pool (pub/sub).
        manager: Manager,
        /// Sentinel replica reads: connections to a replica, for read-only operations.
        replicas: Option<r2d2::Pool<Manager>>,
    },
    #[cfg(feature = "cluster")]
    Cluster {
        pool: r2d2::Pool<super::cluster::sync::ClusterManager>,
        manager: super::cluster::sync::ClusterManager,
    },
}

/// Runs `$body` with `$pool` bound to the backend's r2d2 pool, whatever its kind.
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
    last_error: std::sync::Arc<LastErrorShared>,
}

/// The latest connection attempt, if it failed: when, and its error.
type LastErrorShared = std::sync::Mutex<Option<(Instant, redis::RedisError)>>;

/// Records each failed connection attempt, so that a checkout can say why it failed, and
/// fail at once when the server refuses connections.
#[derive(Debug)]
struct ErrorSink(std::sync::Arc<LastErrorShared>);

impl r2d2::HandleError<redis::RedisError> for ErrorSink {
    fn handle_error(&self, error: redis::RedisError) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((Instant::now(), error));
        }
    }
}

/// Forgets the failed attempt when a connection is made, so that the slot only ever holds
/// the latest attempt's error.
#[derive(Debug)]
struct AcquireSink(std::sync::Arc<LastErrorShared>);

impl r2d2::HandleEvent for AcquireSink {
    fn handle_acquire(&self, _: r2d2::event::AcquireEvent) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = None;
        }
    }
}

/// Whether a failed connection attempt was refused for a reason that retrying will not fix:
/// credentials, access control, a bad database index or client name (the server's `ERR`), a
/// TLS handshake failure (a certificate not trusted or not given).
fn is_refusal(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    crate::error::is_auth(e)
        || matches!(
            e.kind(),
            ErrorKind::InvalidClientConfig
                | ErrorKind::Server(ServerErrorKind::NoPerm | ServerErrorKind::ResponseError)
        )
        || crate::tls::is_handshake_failure(e)
}

/// The first wait for a pooled connection before looking for a refusal; each next wait is
/// twice as long (so a checkout that waits the whole pool timeout looks a handful of times).
const FIRST_WAIT: Duration = Duration::from_millis(20);

fn build<M: r2d2::ManageConnection<Error = redis::RedisError>>(
    settings: &ConnectionSettings,
    manager: M,
    last_error: &std::sync::Arc<LastErrorShared>,
) -> r2d2::Pool<M> {
    r2d2::Pool::builder()
        .max_size(settings.pool_size)
        .min_idle(Some(0))
        .connection_timeout(settings.pool_timeout)
        // A PING before every checkout would double the round trips; broken connections
        // are detected by `has_broken` and on use instead.
        .test_on_check_out(false)
        .error_handler(Box::new(ErrorSink(last_error.clone())))
        .event_handler(Box::new(AcquireSink(last_error.clone())))
        .build_unchecked(manager)
}

impl SyncPool {
    /// Builds the pool without connecting.
    pub(crate) fn new(settings: &ConnectionSettings, observed: &Arc<Observed>) -> Result<Self> {
        let last_error = std::sync::Arc::new(LastErrorShared::default());
        let backend = match &settings.addr {
            #[cfg(feature = "cluster")]
            crate::settings::Addr::Cluster { .. } => {
                let manager = super::cluster::sync::ClusterManager::new(settings, observed)?;
                Backend::Cluster {
                    pool: build(settings, manager.clone(), &last_error),
                    manager,
                }
            }
            _ => {
                let target = Target::new(settings, observed)?;
                let replicas = target.replicas(settings)?.map(|target| {
                    let manager = Manager {
                        target,
                        settings: settings.clone(),
                    };
                    build(settings, manager, &last_error)
                });
                let manager = Manager {
                    target,
                    settings: settings.clone(),
                };
                Backend::Server {
                    pool: build(settings, manager.clone(), &last_error),
                    manager,
                    replicas,
                }
            }
        };
        Ok(SyncPool {
            backend,
            settings: settings.clone(),
            server: settings.to_string(),
            last_error,
        })
    }

    /// A pooled connection: an idle one, a new one, or one freed within the pool timeout.
    /// Fails at once if the server refuses new connections ([`Error::Connect`]).
    fn checkout<M: r2d2::ManageConnection>(
        &self,
        pool: &r2d2::Pool<M>,
    ) -> Result<r2d2::PooledConnection<M>> {
        let started = Instant::now();
        let deadline = started + pool.connection_timeout();
        let mut wait = FIRST_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = match pool.get_timeout(wait.min(left)) {
                Ok(conn) => {
                    observe::checkout(&self.server, started.elapsed());
                    return Ok(conn);
                }
                Err(e) => e,
            };
            let last = self
                .last_error
                .lock()
                .ok()
                .and_then(|slot| slot.as_ref().map(|(at, e)| (*at, e.clone())));
            // The latest attempt, if recent: each checkout that finds no idle connection
            // also starts one.
            if let Some((at, source)) = &last
                && *at + pool.connection_timeout() >= started
                && is_refusal(source)
            {
                return Err(Error::Connect {
                    server: self.server.clone(),
                    source: source.clone(),
                });
            }
            if Instant::now() >= deadline {
                return Err(Error::Pool {
                    server: self.server.clone(),
                    reason: match last {
                        Some((_, last)) => format!("{e}; last connection error: {last}"),
                        None => format!("{e} (all {} connections busy)", pool.max_size()),
                    },
                });
            }
            wait = wait.saturating_mul(2);
        }
    }

    /// The replica pool, for a read-only operation of a session with replica reads.
    fn replicas(&self, read_only: bool) -> Option<&r2d2::Pool<Manager>> {
        match &self.backend {
            Backend::Server {
                replicas: Some(pool),
                ..
            } if read_only => Some(pool),
            _ => None,
        }
    }

    /// The pool's state: open and idle connections (of the primary pool).
    pub(crate) fn state(&self) -> r2d2::State {
        with_pool!(self, |pool| pool.state())
    }

    /// A `PING` (every primary, for a cluster) and, for a cluster, a `CLUSTER SLOTS` that
    /// refreshes the primaries known: for [`KVDBClient::check_health`](crate::KVDBClient).
    pub(crate) fn check(&self) -> Result<()> {
        // Not a session operation: sent without a span or metrics.
        let ping = super::Command::new(redis::cmd("PING"), |_| Ok(()));
        with_pool!(self, |pool| self.run_on(pool, ping))?;
        #[cfg(feature = "cluster")]
        if let Backend::Cluster { manager, .. } = &self.backend {
            let slots = super::Command::new(super::cluster::cluster_slots(), Ok);
            let reply = with_pool!(self, |pool| self.run_on(pool, slots))?;
            manager
                .primaries()
                .get(0, Some(&reply))
                .map_err(Error::from)?;
        }
        Ok(())
    }

    /// Runs one round trip.
    pub(crate) fn run<O: Op>(&self, op: O, info: OpInfo<'_>) -> Result<O::Output> {
        observe::sync_op(info, &self.server, op, |mut op| {
            if let Some(out) = super::run_locally(&mut op) {
                return out;
            }
            if let Some(pool) = self.replicas(op.read_only()) {
                return self.run_on(pool, op);
            }
            with_pool!(self, |pool| self.run_on(pool, op))
        })
    }

    fn run_on<M, O>(&self, pool: &r2d2::Pool<M>, op: O) -> Result<O::Output>
    where
        M: r2d2::ManageConnection,
        M::Connection: Link,
        O: Op,
    {
        let mut conn = self.checkout(pool)?;
        let reply = conn.send(&op.request())?;
        drop(conn);
        complete(reply, op)
    }

    /// A pooled connection kept for several requests (a transaction's WATCH state lives on
    /// it); it goes back to the pool when dropped.
    pub(crate) fn reserve(&self) -> Result<Box<dyn Link>> {
        with_pool!(self, |pool| Ok(Box::new(self.checkout(pool)?)))
    }

    /// Runs a command that makes the server wait, on a pooled connection whose read timeout
    /// is lengthened by the wait for this one request.
    pub(crate) fn blocking<O: Op>(
        &self,
        Blocking { op, wait }: Blocking<O>,
        info: OpInfo<'_>,
    ) -> Result<O::Output> {
        observe::sync_op(info, &self.server, op, |mut op| {
            if let Some(out) = super::run_locally(&mut op) {
                return out;
            }
            with_pool!(self, |pool| self.blocking_on(pool, Blocking { op, wait }))
        })
    }

    fn blocking_on<M, O>(&self, pool: &r2d2::Pool<M>, blocking: Blocking<O>) -> Result<O::Output>
    where
        M: r2d2::ManageConnection,
        M::Connection: Link,
        O: Op,
    {
        let usual = self.settings.response_timeout;
        let mut conn = self.checkout(pool)?;
        conn.set_read_timeout(blocking.response_timeout(usual))?;
        let mut op = blocking.op;
        let reply = conn.send(&op.request());
        // Failing to restore the usual timeout means the socket is gone: the pool then
        // drops the connection (`has_broken`) instead of reusing it.
        let _ = conn.set_read_timeout(usual);
        drop(conn);
        let reply = finish(reply?, &op.request())?;
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
        use r2d2::ManageConnection;
        Ok(match &self.backend {
            Backend::Server { manager, .. } => manager.connect()?.inner,
            #[cfg(feature = "cluster")]
            Backend::Cluster { manager, .. } => manager.node_connection()?,
        })
    }

    /// Runs a multi-step conversation on one pooled connection.
    pub(crate) fn converse<C: Conversation>(&self, conv: C, info: OpInfo<'_>) -> Result<C::Output> {
        observe::sync_conversation(info, &self.server, conv, |conv| {
            if let Some(pool) = self.replicas(conv.read_only()) {
                return self.converse_on(pool, conv);
            }
            with_pool!(self, |pool| self.converse_on(pool, conv))
        })
    }

    fn converse_on<M, C>(&self, pool: &r2d2::Pool<M>, mut conv: C) -> Result<C::Output>
    where
        M: r2d2::ManageConnection,
        M::Connection: Link,
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
                    None => held.insert(self.checkout(pool)?),
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
            if let Some(e) = self.cursor.absorb(self.pool.converse(page, self.info)) {
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
                key: crate::error::KeyContext(key()),
                source: e,
            })
        }
        other => Ok(other),
    }
}

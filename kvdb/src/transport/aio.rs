//! The async transport (feature `async`): one auto-reconnecting multiplexed connection
//! (`redis::aio::ConnectionManager`, or for a cluster `redis::cluster_async::ClusterConnection`)
//! per pool and per tokio runtime.
//!
//! A multiplexed connection is driven by a task on the runtime that created it; when that
//! runtime shuts down (every `#[tokio::test]` has its own), the connection dies with it. So the
//! pool keeps one connection per live runtime and forgets a runtime's connection when the
//! runtime is gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::Value;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};

use super::observe::{self, OpInfo};
use super::sync::check_connection;
use super::{Blocking, Conversation, Cursor, Op, Pages, Request, Step, complete};
use crate::error::{Error, Result};
use crate::health::Observed;
use crate::settings::ConnectionSettings;

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
struct Entries<C>(Mutex<Vec<Entry<C>>>);

impl<C: Clone> Entries<C> {
    fn new() -> Self {
        Entries(Mutex::new(Vec::new()))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Entry<C>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current runtime's connection, if it has one.
    fn get(&self) -> Result<Option<C>> {
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
    fn put(&self, conn: C) -> Result<C> {
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
    #[cfg_attr(not(any(feature = "sentinel", feature = "cluster")), allow(dead_code))]
    fn forget(&self) {
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
enum Target {
    Fixed(redis::Client),
    #[cfg(feature = "sentinel")]
    Sentinel(super::sentinel::AsyncLookup),
}

impl Target {
    async fn client(&self) -> Result<redis::Client> {
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
struct Server {
    target: Target,
    entries: Entries<ConnectionManager>,
}

/// The connections of an async pool.
enum Backend {
    Server {
        primary: Server,
        /// Sentinel replica reads: connections to a replica, for read-only operations.
        replica: Option<Server>,
    },
    #[cfg(feature = "cluster")]
    Cluster {
        client: redis::cluster::ClusterClient,
        entries: Entries<redis::cluster_async::ClusterConnection>,
        primaries: super::cluster::Primaries,
    },
}

/// A connection to send requests on: a server's shared or dedicated connection, or a
/// cluster connection.
pub(crate) enum Link {
    Shared(ConnectionManager),
    Dedicated(redis::aio::MultiplexedConnection),
    #[cfg(feature = "cluster")]
    Cluster {
        conn: redis::cluster_async::ClusterConnection,
        primaries: super::cluster::Primaries,
    },
}

impl Link {
    /// Runs one round trip on this connection (none if the op is answered locally).
    pub(crate) async fn run<O: Op>(&mut self, mut op: O) -> Result<O::Output> {
        if let Some(out) = super::run_locally(&mut op) {
            return out;
        }
        let reply = self.send(&op.request()).await?;
        complete(reply, op)
    }

    /// Sends `request`; the outer `Err` is for a request refused before sending.
    async fn send(&mut self, request: &Request<'_>) -> Result<redis::RedisResult<Value>> {
        match self {
            Link::Shared(c) => Ok(send(c, request).await),
            Link::Dedicated(c) => Ok(send(c, request).await),
            #[cfg(feature = "cluster")]
            Link::Cluster { conn, primaries } => {
                super::cluster::aio::send(conn, primaries, request).await
            }
        }
    }
}

/// The async side of a pool.
pub(crate) struct AsyncPool {
    settings: ConnectionSettings,
    /// The server, redacted, for spans and metrics.
    server: String,
    backend: Backend,
}

impl AsyncPool {
    /// Builds the pool without connecting.
    pub(crate) fn new(settings: &ConnectionSettings, observed: &Arc<Observed>) -> Result<Self> {
        let server = |target| Server {
            target,
            entries: Entries::new(),
        };
        let backend = match &settings.addr {
            #[cfg(feature = "cluster")]
            crate::settings::Addr::Cluster { .. } => Backend::Cluster {
                client: super::cluster::client(settings, true)?,
                entries: Entries::new(),
                primaries: observed.primaries.clone(),
            },
            #[cfg(feature = "sentinel")]
            crate::settings::Addr::Sentinel { .. } => {
                let primary = super::sentinel::AsyncLookup::primary(settings, observed)?;
                let replica = match settings.read_from_replicas {
                    true => Some(server(Target::Sentinel(primary.replicas(settings)?))),
                    false => None,
                };
                Backend::Server {
                    primary: server(Target::Sentinel(primary)),
                    replica,
                }
            }
            _ => {
                let _ = observed;
                Backend::Server {
                    primary: server(Target::Fixed(crate::tls::client(settings)?)),
                    replica: None,
                }
            }
        };
        Ok(AsyncPool {
            settings: settings.clone(),
            server: settings.to_string(),
            backend,
        })
    }

    /// The server whose connection serves a request: the replica for a read-only operation
    /// of a session with replica reads, else the primary.
    fn server(&self, read_only: bool) -> Option<&Server> {
        match &self.backend {
            Backend::Server {
                replica: Some(replica),
                ..
            } if read_only => Some(replica),
            Backend::Server { primary, .. } => Some(primary),
            #[cfg(feature = "cluster")]
            Backend::Cluster { .. } => None,
        }
    }

    /// The shared connection for the current runtime (created lazily).
    async fn shared(&self, read_only: bool) -> Result<Link> {
        match &self.backend {
            Backend::Server { .. } => {
                let Some(Server { target, entries }) = self.server(read_only) else {
                    return Err(Error::Unsupported("internal: no server connection".into()));
                };
                if let Some(c) = entries.get()? {
                    return Ok(Link::Shared(c));
                }
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(self.settings.connect_timeout))
                    .set_response_timeout(self.settings.response_timeout)
                    .set_number_of_retries(2);
                let manager =
                    ConnectionManager::new_lazy_with_config(target.client().await?, config)?;
                Ok(Link::Shared(entries.put(manager)?))
            }
            #[cfg(feature = "cluster")]
            Backend::Cluster {
                client,
                entries,
                primaries,
            } => {
                let conn = match entries.get()? {
                    Some(c) => c,
                    None => entries.put(
                        client.get_pending_async_connection_with_config(self.cluster_config(None)),
                    )?,
                };
                Ok(Link::Cluster {
                    conn,
                    primaries: primaries.clone(),
                })
            }
        }
    }

    #[cfg(feature = "cluster")]
    fn cluster_config(
        &self,
        response_timeout: Option<Option<Duration>>,
    ) -> redis::cluster::ClusterConfig {
        let config = redis::cluster::ClusterConfig::new()
            .set_connection_timeout(self.settings.connect_timeout);
        // No response timeout (wait for ever): a year stands for it.
        match response_timeout.unwrap_or(self.settings.response_timeout) {
            Some(t) => config.set_response_timeout(t),
            None => config.set_response_timeout(Duration::from_secs(365 * 24 * 3600)),
        }
    }

    /// After a failed request on the shared connection: a sentinel session whose server is
    /// gone or is a replica now forgets its connection, so that the next request asks the
    /// sentinels where the primary is; a cluster session whose connection timed out or was
    /// cut forgets it too (the `redis` crate's async cluster connection can stay stuck after a
    /// failover: every later request timed out in our failover test), so that the next
    /// request starts a fresh one, with a fresh slot map.
    // Only sentinel and cluster sessions react; a build with neither has nothing to do.
    #[cfg_attr(
        not(any(feature = "sentinel", feature = "cluster")),
        allow(unused_variables)
    )]
    fn after_failure(&self, read_only: bool, reply: &redis::RedisResult<Value>) {
        let lost = |e: &redis::RedisError| {
            e.is_io_error()
                || e.is_connection_dropped()
                || e.is_connection_refusal()
                || e.is_timeout()
        };
        match (&self.backend, self.server(read_only)) {
            #[cfg(feature = "sentinel")]
            (
                Backend::Server { .. },
                Some(Server {
                    target: Target::Sentinel(_),
                    entries,
                }),
            ) => {
                let gone = match reply {
                    Err(e) => {
                        lost(e)
                            || e.kind()
                                == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
                    }
                    Ok(v) => says_read_only(v),
                };
                if gone {
                    entries.forget();
                }
            }
            #[cfg(feature = "cluster")]
            (Backend::Cluster { entries, .. }, _) => {
                if matches!(reply, Err(e) if lost(e)) {
                    entries.forget();
                }
            }
            _ => {}
        }
    }

    /// A new connection of its own, for WATCH transactions and blocking commands.
    async fn dedicated(&self, response_timeout: Option<Duration>) -> Result<Link> {
        match &self.backend {
            Backend::Server {
                primary: Server { target, .. },
                ..
            } => {
                let config = redis::AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(self.settings.connect_timeout))
                    .set_response_timeout(response_timeout);
                Ok(Link::Dedicated(
                    target
                        .client()
                        .await?
                        .get_multiplexed_async_connection_with_config(&config)
                        .await?,
                ))
            }
            #[cfg(feature = "cluster")]
            Backend::Cluster {
                client, primaries, ..
            } => Ok(Link::Cluster {
                conn: client
                    .get_async_connection_with_config(self.cluster_config(Some(response_timeout)))
                    .await?,
                primaries: primaries.clone(),
            }),
        }
    }

    /// A new pub/sub connection, with nothing subscribed yet (`transport::pubsub::aio`);
    /// fails after the connect timeout.
    pub(crate) async fn open_pubsub(&self) -> Result<redis::aio::PubSub> {
        match tokio::time::timeout(self.settings.connect_timeout, self.connect_pubsub()).await {
            Ok(r) => r,
            Err(_) => Err(Error::from(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out connecting for a subscription",
            )))),
        }
    }

    async fn connect_pubsub(&self) -> Result<redis::aio::PubSub> {
        let pubsub = match &self.backend {
            Backend::Server {
                primary: Server { target, .. },
                ..
            } => target.client().await?.get_async_pubsub().await?,
            // A cluster broadcasts (non-sharded) pub/sub messages to every node: any one will do.
            #[cfg(feature = "cluster")]
            Backend::Cluster { .. } => {
                let mut last = None;
                let mut found = None;
                for info in self.settings.node_infos() {
                    match crate::tls::node_client(info, &self.settings)?
                        .get_async_pubsub()
                        .await
                    {
                        Ok(p) => {
                            found = Some(p);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match (found, last) {
                    (Some(p), _) => p,
                    (None, Some(e)) => return Err(e.into()),
                    (None, None) => {
                        return Err(Error::Unsupported("no cluster node is known".into()));
                    }
                }
            }
        };
        Ok(pubsub)
    }

    /// Runs a command that makes the server wait, on a connection of its own (so that the
    /// shared connection is not held up) whose response timeout allows for the wait.
    pub(crate) async fn blocking<O: Op>(
        &self,
        Blocking { op, wait }: Blocking<O>,
        info: OpInfo<'_>,
    ) -> Result<O::Output> {
        let timeout = Blocking { op: (), wait }.response_timeout(self.settings.response_timeout);
        observe::aio_op(info, &self.server, op, |op| self.blocking_on(op, timeout)).await
    }

    async fn blocking_on<O: Op>(&self, mut op: O, timeout: Option<Duration>) -> Result<O::Output> {
        if let Some(out) = super::run_locally(&mut op) {
            return out;
        }
        let mut conn = self.dedicated(timeout).await?;
        conn.run(op).await
    }

    /// A connection of its own, kept for several requests (a transaction's WATCH state lives
    /// on it); closed when dropped.
    pub(crate) async fn reserve(&self) -> Result<Link> {
        self.dedicated(self.settings.response_timeout).await
    }

    /// Reads a paged sequence as a stream; one round trip per page, as the stream is polled.
    pub(crate) fn pages<'a, P>(
        &'a self,
        pages: P,
        info: OpInfo<'a>,
    ) -> impl futures_core::Stream<Item = Result<P::Item>> + Send + 'a
    where
        P: Pages + Send + 'static,
        P::Item: Send,
        P::Page: Send,
    {
        futures_util::stream::unfold(Cursor::new(pages), move |mut cursor| async move {
            loop {
                if let Some(item) = cursor.pop() {
                    return Some((item, cursor));
                }
                let page = cursor.next_page()?;
                if let Some(e) = cursor.absorb(self.converse(page, info).await) {
                    return Some((Err(e), cursor));
                }
            }
        })
    }

    /// Runs one round trip on the shared connection.
    pub(crate) async fn run<O: Op>(&self, op: O, info: OpInfo<'_>) -> Result<O::Output> {
        observe::aio_op(info, &self.server, op, |op| self.run_shared(op)).await
    }

    async fn run_shared<O: Op>(&self, mut op: O) -> Result<O::Output> {
        if let Some(out) = super::run_locally(&mut op) {
            return out;
        }
        let read_only = op.read_only();
        let mut conn = self.shared(read_only).await?;
        let reply = conn.send(&op.request()).await?;
        self.after_failure(read_only, &reply);
        complete(reply, op)
    }

    /// Runs a multi-step conversation, on a dedicated connection if it needs one.
    pub(crate) async fn converse<C: Conversation>(
        &self,
        conv: C,
        info: OpInfo<'_>,
    ) -> Result<C::Output> {
        observe::aio_conversation(info, &self.server, conv, |conv| self.converse_on(conv)).await
    }

    async fn converse_on<C: Conversation>(&self, conv: C) -> Result<C::Output> {
        if conv.needs_dedicated_connection() {
            let conn = self.dedicated(self.settings.response_timeout).await?;
            self.drive(conn, conv).await
        } else {
            let conn = self.shared(conv.read_only()).await?;
            self.drive(conn, conv).await
        }
    }

    async fn drive<V: Conversation>(&self, mut conn: Link, mut conv: V) -> Result<V::Output> {
        let read_only = conv.read_only();
        let mut reply = None;
        loop {
            match conv.step(reply.take())? {
                Step::Send(cmd) => {
                    let request = Request::Cmd(&cmd);
                    let r = conn.send(&request).await?;
                    self.after_failure(read_only, &r);
                    reply = Some(check_connection(r, || request.key())?);
                }
                Step::SendPipe(pipe) => {
                    let r = conn.send(&Request::Pipe(&pipe)).await?;
                    self.after_failure(read_only, &r);
                    reply = Some(check_connection(r, || None)?);
                }
                Step::Sleep(d) => tokio::time::sleep(d).await,
                Step::Done(out) => return Ok(out),
            }
        }
    }
}

/// Whether a reply says `READONLY` (the server is a replica now).
#[cfg(feature = "sentinel")]
fn says_read_only(v: &Value) -> bool {
    match v {
        Value::ServerError(e) => e.kind() == Some(redis::ServerErrorKind::ReadOnly),
        Value::Array(items) => items.iter().any(says_read_only),
        _ => false,
    }
}

async fn send<C: ConnectionLike>(conn: &mut C, request: &Request<'_>) -> redis::RedisResult<Value> {
    match request {
        Request::Cmd(cmd) => conn.req_packed_command(cmd).await,
        Request::Pipe(pipe) => pipe.query_async::<Value>(conn).await,
    }
}

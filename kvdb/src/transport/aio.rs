//! The async transport (feature `async`): one multiplexed connection (for a cluster,
//! `redis::cluster_async::ClusterConnection`) per pool and per tokio runtime.
//!
//! A server's shared connection is opened on first use and opened again, by the next call,
//! once it has failed: when a request on it fails at the connection level, or when its driver
//! ended because the server closed it (checked before each request, without a round trip; see
//! [`aio_wire`](super::aio_wire)). Every request in flight on a connection that fails gets the connection error; each
//! caller's retry loop ([`AsyncPool::retrying`]) then sends it again on the new connection if
//! its operation is safe to send twice.
//!
//! A multiplexed connection is driven by a task on the runtime that created it; when that
//! runtime shuts down (every `#[tokio::test]` has its own), the connection dies with it. So the
//! pool keeps one connection per live runtime and forgets a runtime's connection when the
//! runtime is gone.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::Value;

pub(crate) use super::aio_shared::Channel;
use super::aio_shared::{Backend, Entries, Server, SharedSlot, Target};
use super::aio_wire::Live;
#[cfg(feature = "cluster")]
use super::connect;
use super::observe::{self, OpInfo};
use super::sync::check_connection;
use super::{Conversation, Cursor, Op, Pages, Request, Step, finish, with_key};
use crate::error::{Error, Result};
use crate::health::Observed;
use crate::retry::Safety;
use crate::settings::ConnectionSettings;

/// One attempt of a single round trip, its type erased (`dyn Future + Send`): the futures of
/// deeply nested callers (the cache driver inside `#[cached]` functions spawned on tokio)
/// then stay within the compiler's trait-solving depth when it checks that they are `Send`.
type Attempt<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value>> + Send + 'a>>;

/// The async side of a pool.
pub(crate) struct AsyncPool {
    pub(super) settings: ConnectionSettings,
    pub(super) backend: Backend,
    /// The server, redacted: for errors, spans and metrics.
    pub(super) server: String,
    /// The TLS configuration of a `rediss://` session.
    #[cfg(feature = "tls")]
    tls: Option<Arc<rustls::ClientConfig>>,
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
                batch_client: Box::new(super::cluster::batch_client(settings)?),
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
                    primary: server(Target::Fixed(crate::transport::connect::client(settings)?)),
                    replica: None,
                }
            }
        };
        Ok(AsyncPool {
            settings: settings.clone(),
            server: settings.to_string(),
            #[cfg(feature = "tls")]
            tls: crate::transport::connect::rustls_config(settings)?,
            backend,
        })
    }

    /// Opens a server connection with the session's connect timeout and client name.
    pub(super) async fn open(
        &self,
        target: &Target,
        response_timeout: Option<Duration>,
    ) -> redis::RedisResult<Live> {
        let client = target.client().await.map_err(|e| match e {
            Error::Redis { source, .. } | Error::Connect { source, .. } => source,
            other => redis::RedisError::from((
                redis::ErrorKind::Client,
                "cannot find the server",
                other.to_string(),
            )),
        })?;
        let recipe = super::wire::Recipe {
            info: client.get_connection_info(),
            connect_timeout: self.settings.connect_timeout,
            client_name: self.settings.client_name.as_deref(),
            #[cfg(feature = "tls")]
            tls: self.tls.clone(),
        };
        let live = Live::open(&recipe, response_timeout).await?;
        observe::connected(&self.server);
        Ok(live)
    }

    /// Runs `attempt` until it succeeds or the session's [`Retry`](crate::Retry) policy says
    /// stop: the one retry loop of the async transport. `safety` is what the operation
    /// declares about being sent twice. The call as a whole never outlasts its budget: no new
    /// attempt starts after the response timeout.
    pub(super) async fn retrying<T, F, Fut>(&self, safety: Safety, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let started = Instant::now();
        let policy = &self.settings.retry;
        let mut n = 1;
        loop {
            // Boxed: a caller's future holds a pointer, not every attempt's state inline, so
            // that deeply nested callers (the cache driver in an async test) stay within the
            // compiler's layout depth.
            let e = match Box::pin(attempt()).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let budget = self.settings.response_timeout;
            match policy.next_wait(n, safety, &e, started.elapsed(), budget) {
                Some(wait) => {
                    observe::retry(&self.server, n + 1, wait, &e);
                    tokio::time::sleep(wait).await
                }
                None => return Err(e),
            }
            n += 1;
        }
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

    /// The shared connection for the current runtime: the open one, or a new one (opened
    /// within the connect timeout; a failure is [`Error::Connect`]). For a read-only operation
    /// of a session with replica reads, the replica's.
    async fn shared(&self, read_only: bool) -> Result<Channel> {
        match &self.backend {
            Backend::Server { .. } => {
                let Some(Server { target, entries }) = self.server(read_only) else {
                    return Err(Error::Internal("no server connection".into()));
                };
                let slot = match entries.get()? {
                    Some(s) => s,
                    None => entries.put(SharedSlot::default())?,
                };
                let live = match slot.current(&self.server) {
                    Some(live) => live,
                    // Opening is boxed: its state (socket, TLS handshake, `HELLO`) would
                    // otherwise be laid out in every request's future, which is then
                    // allocated per request (`Attempt`) at several times the size.
                    None => Box::pin(slot.live(&self.server, || {
                        self.open(target, self.settings.response_timeout)
                    }))
                    .await
                    .map_err(|source| Error::Connect {
                        server: self.server.clone(),
                        source,
                    })?,
                };
                Ok(Channel::Shared { live, slot })
            }
            #[cfg(feature = "cluster")]
            Backend::Cluster {
                client,
                batch_client,
                entries,
                primaries,
            } => {
                let (conn, batch) = match entries.get()? {
                    Some(c) => c,
                    None => entries.put((
                        client.get_pending_async_connection_with_config(connect::cluster_config(
                            &self.settings,
                            None,
                        )),
                        batch_client.get_pending_async_connection_with_config(
                            connect::cluster_config(&self.settings, None),
                        ),
                    ))?,
                };
                Ok(Channel::Cluster {
                    conn,
                    batch: Some(batch),
                    primaries: primaries.clone(),
                })
            }
        }
    }

    /// After a failed request on the shared connection: a sentinel session whose server is
    /// gone or is a replica now forgets its connection, so that the next request asks the
    /// sentinels where the primary is; a cluster session whose connection timed out or was
    /// cut forgets it too (the `redis` crate's async cluster connection can stay stuck after a
    /// failover: every later request timed out in our failover test), so that the next
    /// request starts a fresh one, with a fresh slot map. (A plain server's connection is
    /// forgotten by [`Channel::send`] when it fails.)
    // Only sentinel and cluster sessions react; a build with neither has nothing to do.
    #[cfg_attr(
        not(any(feature = "sentinel", feature = "cluster")),
        allow(unused_variables)
    )]
    fn after_failure(&self, link: &Channel, reply: &redis::RedisResult<Value>) {
        let lost = |e: &redis::RedisError| {
            e.is_io_error()
                || e.is_connection_dropped()
                || e.is_connection_refusal()
                || e.is_timeout()
        };
        match &self.backend {
            #[cfg(feature = "sentinel")]
            Backend::Server {
                primary:
                    Server {
                        target: Target::Sentinel(_),
                        ..
                    },
                ..
            } => {
                let gone = match reply {
                    Err(e) => {
                        lost(e)
                            || e.kind()
                                == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
                    }
                    Ok(v) => super::sentinel::says_read_only(v),
                };
                if gone && let Channel::Shared { live, slot } = link {
                    slot.forget(live);
                }
            }
            #[cfg(feature = "cluster")]
            // Only the shared connection (a dedicated one has no batch connection).
            Backend::Cluster { entries, .. }
                if matches!(link, Channel::Cluster { batch: Some(_), .. })
                    && matches!(reply, Err(e) if lost(e)) =>
            {
                entries.forget();
            }
            _ => {}
        }
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
                // A page only reads: after a lost connection it is asked for again.
                let read = {
                    // Borrowed uniquely (`&mut`: `Send` without `Cursor: Sync`).
                    let (again, mut first) = (&mut cursor, Some(page));
                    let info = info.with_safety(Safety::Read);
                    self.retrying(Safety::Read, move || {
                        let page = first.take().or_else(|| again.next_page());
                        async move {
                            match page {
                                Some(page) => {
                                    observe::aio_conversation(info, &self.server, page, |page| {
                                        self.converse_on(page, None)
                                    })
                                    .await
                                }
                                None => Err(Error::Internal("a page without a cursor".into())),
                            }
                        }
                    })
                    .await
                };
                if let Some(e) = cursor.absorb(read) {
                    return Some((Err(e), cursor));
                }
            }
        })
    }

    /// Runs one round trip on the shared connection.
    pub(crate) async fn run<O: Op>(&self, op: O, info: OpInfo<'_>) -> Result<O::Output> {
        let safety = info.safety();
        observe::aio_op(info, &self.server, op, |op| self.run_shared(op, safety)).await
    }

    async fn run_shared<O: Op>(&self, op: O, safety: Safety) -> Result<O::Output> {
        let read_only = op.read_only();
        self.request_on(op, safety, || self.shared(read_only)).await
    }

    /// Runs one round trip on the connection `open` gives (shared, or dedicated for a
    /// blocking command), each attempt on a fresh call of `open`, retried as the session's
    /// policy and the op's safety allow: the one body of every single request.
    pub(super) async fn request_on<O, F, Fut>(
        &self,
        mut op: O,
        safety: Safety,
        open: F,
    ) -> Result<O::Output>
    where
        O: Op,
        F: Fn() -> Fut + Sync,
        Fut: std::future::Future<Output = Result<Channel>> + Send,
    {
        if let Some(out) = super::run_locally(&mut op) {
            return out;
        }
        let safety = op.safety().unwrap_or(safety);
        let request = op.request();
        let reply = self
            .retrying(safety, || -> Attempt<'_> {
                Box::pin(async {
                    let mut conn = open().await?;
                    let reply = conn.send(&request).await?;
                    self.after_failure(&conn, &reply);
                    finish(reply, &request)
                })
            })
            .await?;
        op.decode(reply)
            .map_err(|e| with_key(e, op.request().key()))
    }

    /// Runs a multi-step conversation, on a dedicated connection if it needs one, taken at its
    /// first request (a conversation may finish without one, e.g. `get_models` of no keys).
    /// Only getting the connection is retried: a conversation that failed half-way is not
    /// started again, unless it is restartable (a read-only script).
    pub(crate) async fn converse<C>(&self, conv: C, info: OpInfo<'_>) -> Result<C::Output>
    where
        C: Conversation,
    {
        let safety = info.safety();
        // Boxed: the conversation's state is not laid out inline in the caller's future, so
        // that callers' futures (a cluster `get_models` in an async block) stay within the
        // compiler's layout depth.
        observe::aio_conversation(info, &self.server, conv, |conv| {
            Box::pin(self.converse_restartable(conv, safety))
        })
        .await
    }

    async fn converse_restartable<C>(&self, conv: C, safety: Safety) -> Result<C::Output>
    where
        C: Conversation,
    {
        let Some(whole) = conv.restartable() else {
            return self.converse_on(conv, Some(safety)).await;
        };
        // Every step only reads (or is idempotent): after a lost connection, the whole
        // conversation is started again, as a single request would be resent. The
        // conversation goes into each attempt and back (an attempt's future cannot borrow it
        // from the closure).
        let slot = &Mutex::new(Some(conv));
        self.retrying(whole, move || async move {
            let taken = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            let mut conv =
                taken.ok_or_else(|| Error::Internal("a conversation ran twice at once".into()))?;
            conv.rewind();
            let out = self.converse_on(&mut conv, None).await;
            *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(conv);
            out
        })
        .await
    }

    /// [`converse`](Self::converse); with `safety` `None`, getting the connection is not
    /// retried either (the caller retries the whole conversation).
    async fn converse_on<C>(&self, mut conv: C, safety: Option<Safety>) -> Result<C::Output>
    where
        C: Conversation,
    {
        let dedicated = conv.needs_dedicated_connection();
        let read_only = conv.read_only();
        let mut held: Option<Channel> = None;
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
                    None => {
                        let open = || async {
                            if dedicated {
                                self.dedicated(self.settings.response_timeout).await
                            } else {
                                self.shared(read_only).await
                            }
                        };
                        held.insert(match safety {
                            Some(safety) => self.retrying(safety, open).await?,
                            None => open().await?,
                        })
                    }
                };
                let r = conn.send(&request).await?;
                self.after_failure(conn, &r);
                reply = Some(check_connection(r, || request.key())?);
                continue;
            }
            match step {
                Step::Sleep(d) => tokio::time::sleep(d).await,
                Step::Done(out) => return Ok(out),
                Step::Send(_) | Step::SendPipe(_) => {}
            }
        }
    }
}

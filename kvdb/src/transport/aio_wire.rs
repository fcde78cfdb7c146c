//! An async connection whose driver task kvdb spawns and watches (feature `async`).
//!
//! The `redis` crate's `MultiplexedConnection` sends requests through a channel to a driver
//! task that owns the socket. When the server closes the connection (`CLIENT KILL`, the
//! `timeout` setting, a restart), the driver ends; a request sent in the same instant can land
//! in the channel after the driver has drained it, and then nothing ever answers it: the
//! caller waits out the whole response timeout (seen in `tests/reliability.rs` as 1 call in a
//! few hundred after `CLIENT KILL`, and reproduced with the `redis` crate alone). Opening the
//! socket here and spawning the driver ourselves tells us when the driver ends, so that
//!
//! - an idle connection is known to be closed before a request is sent on it (RESP2 and
//!   RESP3 alike: the `redis` crate only reports a closed connection on RESP3), and
//! - a request still unanswered when the driver ends fails at once with a connection error
//!   (it was never written, so the retry policy may send it again) instead of hanging.
//!
//! The socket (TCP, unix, TLS with kvdb's rustls configuration) is opened as [`Recipe`]
//! says, like the blocking [`Wire`](super::wire::Wire); the handshake (`HELLO`/`AUTH`,
//! `SELECT`) is the `redis` crate's.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::{ConnectionAddr, RedisResult, Value};
use tokio::io::{AsyncRead, AsyncWrite};

use super::Request;
use super::wire::Recipe;

/// Whether a connection's driver still runs, and a wake-up for when it ends.
#[derive(Default)]
struct DriverState {
    /// The driver ended: nothing sent on the connection will be answered.
    ended: AtomicBool,
    /// A request failed at the connection level: no new request goes on it (those in flight
    /// still get their replies, or the driver's end).
    retired: AtomicBool,
    ending: tokio::sync::Notify,
}

impl DriverState {
    fn end(&self) {
        self.ended.store(true, Ordering::Release);
        self.ending.notify_waiters();
    }

    fn is_closed(&self) -> bool {
        self.ended.load(Ordering::Acquire) || self.retired.load(Ordering::Acquire)
    }

    /// Resolves once the driver has ended (at once if it already has).
    async fn ended(&self) {
        let ending = self.ending.notified();
        let mut ending = std::pin::pin!(ending);
        // Registered before the flag is read: an `end` between the two still wakes us.
        ending.as_mut().enable();
        if self.ended.load(Ordering::Acquire) {
            return;
        }
        ending.await
    }
}

/// Stops the driver task when the last clone of a connection is dropped (a blocking
/// command still waiting would otherwise keep the socket open).
struct Handle {
    state: Arc<DriverState>,
    task: tokio::task::AbortHandle,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An open multiplexed connection and the state of its driver. Cheap to clone: clones share
/// the connection.
#[derive(Clone)]
pub(crate) struct Live {
    conn: MultiplexedConnection,
    handle: Arc<Handle>,
}

/// The socket types a connection runs on.
trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

impl Live {
    /// Opens a connection as `recipe` says (socket, TLS, handshake, client name), all within
    /// the connect timeout, with `response_timeout` for each request.
    pub(crate) async fn open(
        recipe: &Recipe<'_>,
        response_timeout: Option<Duration>,
    ) -> RedisResult<Live> {
        match tokio::time::timeout(
            recipe.connect_timeout,
            Self::connect(recipe, response_timeout),
        )
        .await
        {
            Ok(r) => r,
            Err(_) => Err(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out connecting to the server",
            ))),
        }
    }

    async fn connect(recipe: &Recipe<'_>, response_timeout: Option<Duration>) -> RedisResult<Live> {
        let stream = socket(recipe).await?;
        let config = redis::AsyncConnectionConfig::new().set_response_timeout(response_timeout);
        let (mut conn, driver) =
            MultiplexedConnection::new_with_config(recipe.info.redis_settings(), stream, config)
                .await?;
        let state = Arc::new(DriverState::default());
        let watched = state.clone();
        let task = tokio::spawn(async move {
            driver.await;
            watched.end();
        });
        let live = Live {
            handle: Arc::new(Handle {
                state,
                task: task.abort_handle(),
            }),
            conn: conn.clone(),
        };
        if let Some(name) = recipe.client_name {
            redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(name)
                .exec_async(&mut conn)
                .await?;
        }
        Ok(live)
    }

    /// Whether the connection is known to be closed: its driver ended, or a request on it
    /// failed at the connection level ([`mark_closed`](Self::mark_closed)).
    pub(crate) fn is_closed(&self) -> bool {
        self.handle.state.is_closed()
    }

    /// Marks the connection closed (a request on it failed): nothing more is sent on it.
    pub(crate) fn mark_closed(&self) {
        self.handle.state.retired.store(true, Ordering::Release);
    }

    /// Whether `self` and `other` are clones of one connection.
    pub(crate) fn same(&self, other: &Live) -> bool {
        Arc::ptr_eq(&self.handle, &other.handle)
    }

    /// Sends `request` and waits for its reply, or fails with a connection error as soon as
    /// the connection closes without answering it.
    pub(crate) async fn send(&mut self, request: &Request<'_>) -> RedisResult<Value> {
        let state = self.handle.state.clone();
        let reply = std::pin::pin!(send(&mut self.conn, request));
        let closing = std::pin::pin!(state.ended());
        match futures_util::future::select(reply, closing).await {
            futures_util::future::Either::Left((reply, _)) => reply,
            futures_util::future::Either::Right(((), reply)) => {
                // The driver ended: a reply it had already read is still delivered (the
                // caller's side of the channel holds it); only a request it never took fails.
                match futures_util::FutureExt::now_or_never(reply) {
                    Some(reply) => reply,
                    None => Err(redis::RedisError::from(std::io::Error::new(
                        std::io::ErrorKind::BrokenPipe,
                        "the connection closed before the request was sent",
                    ))),
                }
            }
        }
    }
}

/// Opens the socket `recipe` names (TLS handshake included).
async fn socket(recipe: &Recipe<'_>) -> RedisResult<Box<dyn Io>> {
    match recipe.info.addr() {
        ConnectionAddr::Tcp(host, port) => Ok(Box::new(tcp(host, *port).await?)),
        #[cfg(feature = "tls")]
        ConnectionAddr::TcpTls { host, port, .. } => {
            let (config, name) = recipe.tls_target(host)?;
            let sock = tcp(host, *port).await?;
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, sock)
                .await?;
            Ok(Box::new(tls))
        }
        #[cfg(unix)]
        ConnectionAddr::Unix(path) => Ok(Box::new(tokio::net::UnixStream::connect(path).await?)),
        _ => Err(redis::RedisError::from((
            redis::ErrorKind::InvalidClientConfig,
            "this kind of address needs a feature kvdb was built without",
        ))),
    }
}

/// A TCP connection with Nagle's algorithm left on (`TCP_NODELAY` off, the `redis` crate's
/// default for the multiplexed connection it opens): the requests of many tasks queued while
/// earlier ones are in flight then leave in fewer, fuller segments. Measured with 64 tasks on
/// one connection (docs/performance.md): 0.52-0.62x of a hand-written layer with
/// `TCP_NODELAY` on, 0.71-0.95x with it off, in the same run. A request sent while none is in
/// flight (one task, or a pipeline) leaves at once either way; one queued behind another waits
/// until that one is answered (or acknowledged): the server, one command at a time, could
/// not have answered it much sooner.
/// (The blocking connections, one request at a time, set `TCP_NODELAY`: see `wire.rs`.)
async fn tcp(host: &str, port: u16) -> RedisResult<tokio::net::TcpStream> {
    let sock = tokio::net::TcpStream::connect((host, port)).await?;
    sock.set_nodelay(false)?;
    Ok(sock)
}

async fn send<C: ConnectionLike>(conn: &mut C, request: &Request<'_>) -> RedisResult<Value> {
    match request {
        Request::Cmd(cmd) => conn.req_packed_command(cmd).await,
        Request::Pipe(pipe) => pipe.query_async::<Value>(conn).await,
    }
}

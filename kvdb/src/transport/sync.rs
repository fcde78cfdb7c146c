//! The synchronous transport: a bounded pool of blocking connections (r2d2), no runtime.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use redis::{ConnectionLike, Value};

use super::conn::Conn;
use super::{Blocking, Conversation, Cursor, Op, Pages, Request, Step, finish, with_key};
use crate::error::{Error, Result};
use crate::settings::ConnectionSettings;

/// Opens blocking connections with the session's timeouts and client name.
#[derive(Clone)]
pub(crate) struct Manager {
    client: redis::Client,
    settings: ConnectionSettings,
    /// Cleared by every successful connection: it holds the latest attempt's error only.
    last_error: std::sync::Arc<LastErrorShared>,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = redis::RedisError;

    fn connect(&self) -> redis::RedisResult<Conn> {
        let mut conn = self
            .client
            .get_connection_with_timeout(self.settings.connect_timeout)?;
        conn.set_read_timeout(self.settings.response_timeout)?;
        conn.set_write_timeout(self.settings.response_timeout)?;
        if let Some(name) = &self.settings.client_name {
            redis::cmd("CLIENT")
                .arg("SETNAME")
                .arg(name)
                .exec(&mut conn)?;
        }
        if let Ok(mut slot) = self.last_error.lock() {
            *slot = None;
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

/// A pool of blocking connections to one server.
pub(crate) struct SyncPool {
    pool: r2d2::Pool<Manager>,
    /// Opens connections outside the pool (pub/sub).
    manager: Manager,
    server: String,
    last_error: std::sync::Arc<LastErrorShared>,
}

/// The last failed connection attempt: when, and its error.
type LastErrorShared = std::sync::Mutex<Option<(Instant, redis::RedisError)>>;

/// Records the last connection error, so a checkout can say why it failed, and fail at once
/// when the server refuses the connection.
#[derive(Debug)]
struct ErrorSink(std::sync::Arc<LastErrorShared>);

impl r2d2::HandleError<redis::RedisError> for ErrorSink {
    fn handle_error(&self, error: redis::RedisError) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some((Instant::now(), error));
        }
    }
}

/// Whether a failed connection attempt was refused by the server for a reason that retrying
/// will not fix: credentials, access control, a bad database index or client name (the
/// server's `ERR`), or a TLS certificate not trusted (invalid data during the handshake).
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

impl SyncPool {
    /// Builds the pool without connecting.
    pub(crate) fn new(settings: &ConnectionSettings) -> Result<Self> {
        let client = crate::tls::client(settings)?;
        let last_error = std::sync::Arc::new(LastErrorShared::default());
        let manager = Manager {
            client,
            settings: settings.clone(),
            last_error: last_error.clone(),
        };
        let pool = r2d2::Pool::builder()
            .max_size(settings.pool_size)
            .min_idle(Some(0))
            .connection_timeout(settings.pool_timeout)
            // A PING before every checkout would double the round trips; broken connections
            // are detected by `has_broken` and on use instead.
            .test_on_check_out(false)
            .error_handler(Box::new(ErrorSink(last_error.clone())))
            .build_unchecked(manager.clone());
        Ok(SyncPool {
            pool,
            manager,
            server: settings.to_string(),
            last_error,
        })
    }

    /// A pooled connection: an idle one, a new one, or one freed within the pool timeout.
    /// Fails at once if the server refuses new connections ([`Error::Connect`]).
    fn checkout(&self) -> Result<r2d2::PooledConnection<Manager>> {
        let started = Instant::now();
        let deadline = started + self.pool.connection_timeout();
        let mut wait = FIRST_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = match self.pool.get_timeout(wait.min(left)) {
                Ok(conn) => return Ok(conn),
                Err(e) => e,
            };
            let last = self
                .last_error
                .lock()
                .ok()
                .and_then(|slot| slot.as_ref().map(|(at, e)| (*at, e.clone())));
            // The latest attempt (no connection was made since: `connect` clears the slot),
            // if recent: each checkout that finds no idle connection also starts an attempt.
            if let Some((at, source)) = &last
                && *at + self.pool.connection_timeout() >= started
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
                        None => format!("{e} (all {} connections busy)", self.pool.max_size()),
                    },
                });
            }
            wait = wait.saturating_mul(2);
        }
    }

    /// Runs one round trip.
    pub(crate) fn run<O: Op>(&self, mut op: O) -> Result<O::Output> {
        let mut conn = self.checkout()?;
        let reply = send(&mut conn, &op.request());
        drop(conn);
        let reply = finish(reply, &op.request())?;
        op.decode(reply)
            .map_err(|e| with_key(e, op.request().key()))
    }

    /// Runs a command that makes the server wait, on a pooled connection whose read timeout
    /// is lengthened by the wait for this one request.
    pub(crate) fn blocking<O: Op>(&self, blocking: Blocking<O>) -> Result<O::Output> {
        let usual = self.manager.settings.response_timeout;
        let mut conn = self.checkout()?;
        conn.set_read_timeout(blocking.response_timeout(usual))?;
        let mut op = blocking.op;
        let reply = send(&mut conn, &op.request());
        // Failing to restore the usual timeout means the socket is gone: the pool then
        // drops the connection (`has_broken`) instead of reusing it.
        let _ = conn.set_read_timeout(usual);
        drop(conn);
        let reply = finish(reply, &op.request())?;
        op.decode(reply)
            .map_err(|e| with_key(e, op.request().key()))
    }

    /// Reads a paged sequence; one round trip per page, as the iterator advances.
    pub(crate) fn pages<P: Pages>(&self, pages: P) -> PageIter<'_, P> {
        PageIter {
            pool: self,
            cursor: Cursor::new(pages),
        }
    }

    /// Opens a connection of its own, outside the pool, subscribed to `channels`.
    pub(crate) fn subscribe(&self, channels: &[String]) -> Result<PubSubConn> {
        use r2d2::ManageConnection;
        let mut conn = self.manager.connect()?.inner;
        conn.set_read_timeout(None)?;
        conn.send_packed_command(&redis::cmd("SUBSCRIBE").arg(channels).get_packed_command())?;
        let mut pending = VecDeque::new();
        let mut confirmed = 0;
        // One confirmation per channel; messages on the first channels may arrive before the
        // last confirmation.
        while confirmed < channels.len() {
            let reply = conn.recv_response()?.extract_error()?;
            match redis::Msg::from_owned_value(reply) {
                Some(msg) => pending.push_back(msg),
                None => confirmed += 1,
            }
        }
        Ok(PubSubConn { conn, pending })
    }

    /// Runs a multi-step conversation on one pooled connection.
    pub(crate) fn converse<C: Conversation>(&self, mut conv: C) -> Result<C::Output> {
        let mut conn = self.checkout()?;
        let mut reply = None;
        loop {
            match conv.step(reply.take())? {
                Step::Send(cmd) => {
                    let r = conn.req_command(&cmd);
                    reply = Some(check_connection(r, || Request::Cmd(&cmd).key())?);
                }
                Step::SendPipe(pipe) => {
                    let r = pipe.query::<Value>(&mut *conn);
                    reply = Some(check_connection(r, || None)?);
                }
                Step::Sleep(d) => std::thread::sleep(d),
                Step::Done(out) => return Ok(out),
            }
        }
    }
}

/// The sync side of a paged read: an iterator that sends a page request when its buffer is
/// empty.
pub(crate) struct PageIter<'a, P: Pages> {
    pool: &'a SyncPool,
    cursor: Cursor<P>,
}

impl<P: Pages> Iterator for PageIter<'_, P> {
    type Item = Result<P::Item>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.cursor.pop() {
                return Some(Ok(item));
            }
            let page = self.cursor.next_page()?;
            if let Some(e) = self.cursor.absorb(self.pool.run(page)) {
                return Some(Err(e));
            }
        }
    }
}

/// A blocking connection in subscriber mode.
pub(crate) struct PubSubConn {
    conn: redis::Connection,
    pending: VecDeque<redis::Msg>,
}

impl PubSubConn {
    /// Waits for the next message (up to the read timeout, if one is set).
    pub(crate) fn next_message(&mut self) -> Result<redis::Msg> {
        if let Some(msg) = self.pending.pop_front() {
            return Ok(msg);
        }
        loop {
            let reply = self.conn.recv_response()?.extract_error()?;
            if let Some(msg) = redis::Msg::from_owned_value(reply) {
                return Ok(msg);
            }
        }
    }

    /// How long [`next_message`](Self::next_message) waits; `None`: for ever.
    pub(crate) fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        Ok(self.conn.set_read_timeout(timeout)?)
    }
}

fn send(conn: &mut Conn, request: &Request<'_>) -> redis::RedisResult<Value> {
    match request {
        Request::Cmd(cmd) => conn.req_command(cmd),
        Request::Pipe(pipe) => pipe.query::<Value>(conn),
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

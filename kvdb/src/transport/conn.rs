//! A pooled blocking connection that remembers whether it can still be trusted.
//!
//! After a timeout or an I/O error mid-reply, a connection may hold half a reply, or get the
//! late reply of a request its caller has given up on. redis-rs tries to skip such replies; a
//! pool must not bet a wrong answer on it. A connection that saw such an error is *suspect*:
//! the pool drops it instead of handing it to the next caller.
//!
//! A `READONLY` answer makes a connection suspect too: the server it reaches has become a
//! replica (a failover happened), and a new connection finds the new primary (through the
//! sentinels, for a sentinel session).

use redis::{Cmd, ConnectionLike, RedisResult, Value};

/// A blocking connection and whether a transport error made it suspect.
pub(crate) struct Conn {
    pub(crate) inner: redis::Connection,
    suspect: bool,
}

impl Conn {
    pub(crate) fn new(inner: redis::Connection) -> Self {
        Conn {
            inner,
            suspect: false,
        }
    }

    /// Whether the pool must drop this connection.
    pub(crate) fn is_broken(&self) -> bool {
        self.suspect || !self.inner.is_open()
    }

    fn watch<T: Replies>(&mut self, r: RedisResult<T>) -> RedisResult<T> {
        match &r {
            Err(e)
                if e.is_timeout()
                    || e.is_io_error()
                    || e.is_connection_dropped()
                    || e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly) =>
            {
                self.suspect = true;
            }
            Ok(v) if v.read_only() => self.suspect = true,
            _ => {}
        }
        r
    }

    /// Sets the socket's read timeout.
    pub(crate) fn set_read_timeout(&mut self, t: Option<std::time::Duration>) -> RedisResult<()> {
        let r = self.inner.set_read_timeout(t);
        if r.is_err() {
            self.suspect = true;
        }
        r
    }
}

/// Replies that may say `READONLY`.
trait Replies {
    fn read_only(&self) -> bool;
}

impl Replies for Value {
    fn read_only(&self) -> bool {
        match self {
            Value::ServerError(e) => e.kind() == Some(redis::ServerErrorKind::ReadOnly),
            Value::Array(items) => items.iter().any(Replies::read_only),
            _ => false,
        }
    }
}

impl Replies for Vec<Value> {
    fn read_only(&self) -> bool {
        self.iter().any(Replies::read_only)
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        let r = self.inner.req_packed_command(cmd);
        self.watch(r)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let r = self.inner.req_packed_commands(cmd, offset, count);
        self.watch(r)
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        let r = self.inner.req_command(cmd);
        self.watch(r)
    }

    fn get_db(&self) -> i64 {
        self.inner.get_db()
    }

    fn check_connection(&mut self) -> bool {
        self.inner.check_connection()
    }

    fn is_open(&self) -> bool {
        !self.is_broken()
    }
}

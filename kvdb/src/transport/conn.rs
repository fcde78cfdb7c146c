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

//!
//! Two more things keep a pooled connection's memory bounded by what one request needs:
//! commands are packed into a buffer the connection reuses (small ones) or written argument by
//! argument without packing at all (large ones), and a connection whose parser had to buffer a
//! large reply is dropped rather than kept holding that buffer.

use std::io::Write as _;
use std::time::Duration;

use redis::{Arg, Cmd, ConnectionLike, RedisResult, Value};

use super::checkout::{Connector, Pooled};
use super::wire::Wire;
use super::{Op, Request, complete};
use crate::error::Result;

/// Commands whose arguments add up to more than this are written argument by argument: no
/// packed copy of a large value.
const STREAM_ABOVE: usize = 1024 * 1024;

/// A connection whose last reply was larger than this is dropped after use: redis-rs keeps
/// its read buffer as large as the largest reply it has parsed.
const DROP_AFTER_REPLY: usize = 4 * 1024 * 1024;

/// The packing buffer is kept up to this size.
const KEEP_PACKED: usize = 64 * 1024;

/// A checked-out blocking connection: to one server, or to a cluster.
pub(crate) trait Link {
    /// Sends `request`. The outer `Err` is for a request refused before anything is sent
    /// (e.g. [`Error::CrossSlot`]); the inner result is the server's answer or the
    /// connection's failure.
    fn send(&mut self, request: &Request<'_>) -> Result<redis::RedisResult<Value>>;
    /// Sets the socket read timeout(s).
    fn set_read_timeout(&mut self, t: Option<Duration>) -> redis::RedisResult<()>;
}

impl<M: Connector> Link for Pooled<'_, M>
where
    M::Conn: Link,
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

/// A blocking connection and whether a transport error made it suspect.
pub(crate) struct Conn {
    pub(crate) inner: Wire,
    suspect: bool,
    /// It read a large reply: drop it rather than reuse it.
    oversized: bool,
    packed: Vec<u8>,
}

impl Conn {
    pub(crate) fn new(inner: Wire) -> Self {
        Conn {
            inner,
            suspect: false,
            oversized: false,
            packed: Vec::new(),
        }
    }

    /// Whether the pool must drop this connection.
    pub(crate) fn is_broken(&self) -> bool {
        self.suspect || self.oversized || !self.inner.is_open()
    }

    /// Whether an idle connection may be handed out: checked without a round trip, by a
    /// non-blocking peek at its socket ([`Wire::is_alive`]).
    pub(crate) fn is_usable(&mut self) -> bool {
        !self.is_broken() && self.inner.is_alive()
    }

    fn note_reply(&mut self, r: &RedisResult<Value>) {
        if let Ok(v) = r
            && reply_size(v) > DROP_AFTER_REPLY
        {
            self.oversized = true;
        }
    }

    /// Writes a large command argument by argument (each large argument straight from the
    /// command's own buffer), then reads the reply.
    fn stream_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        let mut head = std::mem::take(&mut self.packed);
        head.clear();
        let r = (|| {
            let _ = write!(head, "*{}\r\n", cmd.args_iter().len());
            for arg in cmd.args_iter() {
                let Arg::Simple(bytes) = arg else {
                    // The caller sends commands with cursor arguments the usual way.
                    return Err(
                        (redis::ErrorKind::Client, "cannot stream a cursor argument").into(),
                    );
                };
                let _ = write!(head, "${}\r\n", bytes.len());
                if bytes.len() > KEEP_PACKED {
                    self.inner.send_packed_command(&head)?;
                    head.clear();
                    self.inner.send_packed_command(bytes)?;
                } else {
                    head.extend_from_slice(bytes);
                }
                head.extend_from_slice(b"\r\n");
            }
            self.inner.send_packed_command(&head)?;
            loop {
                match self.inner.recv_response()? {
                    Value::Push { .. } => continue,
                    v => return Ok(v),
                }
            }
        })();
        if head.capacity() <= KEEP_PACKED {
            self.packed = head;
        }
        r
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
        self.note_reply(&r);
        self.watch(r)
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        let r = self.inner.req_packed_commands(cmd, offset, count);
        if let Ok(values) = &r
            && values.iter().map(reply_size).sum::<usize>() > DROP_AFTER_REPLY
        {
            self.oversized = true;
        }
        self.watch(r)
    }

    fn req_command(&mut self, cmd: &Cmd) -> RedisResult<Value> {
        let mut size = 0;
        let mut simple = true;
        for arg in cmd.args_iter() {
            match arg {
                Arg::Simple(b) => size += b.len(),
                _ => simple = false,
            }
        }
        let r = if cmd.is_no_response() || !simple {
            self.inner.req_command(cmd)
        } else if size > STREAM_ABOVE {
            self.stream_command(cmd)
        } else {
            // Packed into the connection's own buffer: no allocation per command.
            let mut packed = std::mem::take(&mut self.packed);
            packed.clear();
            cmd.write_packed_command(&mut packed);
            let r = self.inner.req_packed_command(&packed);
            if packed.capacity() <= KEEP_PACKED {
                self.packed = packed;
            }
            r
        };
        self.note_reply(&r);
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

/// About how many bytes a reply took on the wire (its strings; the framing is not counted).
fn reply_size(v: &Value) -> usize {
    match v {
        Value::BulkString(b) => b.len(),
        Value::SimpleString(s) => s.len(),
        Value::VerbatimString { text, .. } => text.len(),
        Value::Array(items) | Value::Set(items) | Value::Push { data: items, .. } => {
            items.iter().map(reply_size).sum()
        }
        Value::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| reply_size(k) + reply_size(v))
            .sum(),
        Value::Attribute { data, attributes } => {
            reply_size(data)
                + attributes
                    .iter()
                    .map(|(k, v)| reply_size(k) + reply_size(v))
                    .sum::<usize>()
        }
        _ => 0,
    }
}

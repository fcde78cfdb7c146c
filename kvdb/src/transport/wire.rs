//! A blocking connection to one server whose socket kvdb owns, so that an idle connection can
//! be checked before use without a round trip (the `redis` crate's `Connection` hides its
//! socket).
//!
//! [`Wire::is_alive`] peeks at the socket without blocking (`recv` with `MSG_PEEK |
//! MSG_DONTWAIT`: one system call, nothing consumed): an idle connection should have nothing
//! to read. End of stream means the server closed it (`CLIENT KILL`, the `timeout` setting, a
//! restart, a proxy that dropped it); bytes waiting mean a reply nobody asked for; an error
//! means the socket is dead. For TLS, bytes waiting may also be TLS records that are not data
//! (a session ticket, a key update): they are handed to rustls without blocking, and the
//! connection is dead only if that yields data, a `close_notify` or an error.
//!
//! Replies are parsed by the `redis` crate's parser; commands are packed by its `Cmd`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use redis::{ConnectionAddr, ConnectionInfo, ConnectionLike, RedisResult, Value};

/// The socket of a [`Wire`].
enum Stream {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    #[cfg(feature = "tls")]
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>),
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.read(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Stream::Unix(s) => s.write(buf),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.flush(),
            #[cfg(unix)]
            Stream::Unix(s) => s.flush(),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.flush(),
        }
    }
}

impl Stream {
    fn set_read_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_read_timeout(t),
            #[cfg(unix)]
            Stream::Unix(s) => s.set_read_timeout(t),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.sock.set_read_timeout(t),
        }
    }

    fn set_write_timeout(&self, t: Option<Duration>) -> std::io::Result<()> {
        match self {
            Stream::Tcp(s) => s.set_write_timeout(t),
            #[cfg(unix)]
            Stream::Unix(s) => s.set_write_timeout(t),
            #[cfg(feature = "tls")]
            Stream::Tls(s) => s.sock.set_write_timeout(t),
        }
    }

    /// Whether an idle connection's socket looks usable; see the module docs.
    fn is_alive(&mut self) -> bool {
        match self {
            Stream::Tcp(s) => peek(s) == Peek::Nothing,
            #[cfg(unix)]
            Stream::Unix(s) => peek(s) == Peek::Nothing,
            #[cfg(feature = "tls")]
            Stream::Tls(s) => match peek(&s.sock) {
                Peek::Nothing => true,
                Peek::Closed | Peek::Failed => false,
                Peek::Data => tls_records_only(s),
            },
        }
    }
}

/// What a non-blocking peek at an idle socket found.
#[derive(Debug, PartialEq, Eq)]
enum Peek {
    /// Nothing to read: the usual state of an idle connection.
    Nothing,
    /// End of stream: the peer closed the connection.
    Closed,
    /// Bytes are waiting.
    Data,
    /// The socket failed (reset).
    Failed,
}

#[cfg(unix)]
fn peek<S: std::os::fd::AsFd>(socket: &S) -> Peek {
    use redis::io::tcp::socket2::SockRef;
    let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1];
    match SockRef::from(socket).recv_with_flags(&mut buf, libc::MSG_PEEK | libc::MSG_DONTWAIT) {
        Ok(0) => Peek::Closed,
        Ok(_) => Peek::Data,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Peek::Nothing,
        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Peek::Nothing,
        Err(_) => Peek::Failed,
    }
}

/// Without a portable non-blocking peek, an idle connection is trusted (a request on a dead
/// one fails, and is resent if safe).
#[cfg(not(unix))]
fn peek<S>(_: &S) -> Peek {
    Peek::Nothing
}

/// Reads the TLS records waiting on an idle connection without blocking: alive when they
/// carry no data (session tickets and the like), dead on data, `close_notify` or error.
#[cfg(feature = "tls")]
fn tls_records_only(s: &mut rustls::StreamOwned<rustls::ClientConnection, TcpStream>) -> bool {
    if s.sock.set_nonblocking(true).is_err() {
        return false;
    }
    let mut byte = [0u8; 1];
    let alive = matches!(s.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    s.sock.set_nonblocking(false).is_ok() && alive
}

/// A blocking connection to one server.
pub(crate) struct Wire {
    stream: Stream,
    parser: redis::Parser,
    db: i64,
    open: bool,
}

/// How to open a [`Wire`]: TLS settings are kvdb's own (the `redis` crate's are not readable).
pub(crate) struct Recipe<'a> {
    pub(crate) info: &'a ConnectionInfo,
    pub(crate) connect_timeout: Duration,
    pub(crate) client_name: Option<&'a str>,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<std::sync::Arc<rustls::ClientConfig>>,
}

impl Recipe<'_> {
    /// The TLS configuration and server name for a `rediss://` address on `host`: the same
    /// for the blocking and the async connection.
    #[cfg(feature = "tls")]
    pub(crate) fn tls_target(
        &self,
        host: &str,
    ) -> RedisResult<(
        std::sync::Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )> {
        let config = self.tls.clone().ok_or_else(|| {
            redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "no TLS configuration for a rediss:// address",
            ))
        })?;
        let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| {
            redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "invalid TLS server name",
                e.to_string(),
            ))
        })?;
        Ok((config, name))
    }
}

impl Wire {
    /// Connects, authenticates, selects the database and names the connection, all within
    /// the connect timeout.
    pub(crate) fn connect(recipe: &Recipe<'_>) -> RedisResult<Wire> {
        let started = Instant::now();
        let timeout = recipe.connect_timeout;
        let stream = match recipe.info.addr() {
            ConnectionAddr::Tcp(host, port) => Stream::Tcp(tcp(host, *port, timeout)?),
            #[cfg(feature = "tls")]
            ConnectionAddr::TcpTls { host, port, .. } => {
                let (config, name) = recipe.tls_target(host)?;
                let conn = rustls::ClientConnection::new(config, name).map_err(tls_error)?;
                let sock = tcp(host, *port, timeout)?;
                let left = timeout
                    .saturating_sub(started.elapsed())
                    .max(Duration::from_millis(1));
                sock.set_read_timeout(Some(left))?;
                sock.set_write_timeout(Some(left))?;
                let mut tls = rustls::StreamOwned::new(conn, sock);
                while tls.conn.is_handshaking() {
                    tls.conn.complete_io(&mut tls.sock)?;
                }
                Stream::Tls(Box::new(tls))
            }
            #[cfg(unix)]
            ConnectionAddr::Unix(path) => Stream::Unix(UnixStream::connect(path)?),
            _ => {
                return Err(redis::RedisError::from((
                    redis::ErrorKind::InvalidClientConfig,
                    "this kind of address needs a feature kvdb was built without",
                )));
            }
        };
        let left = timeout
            .saturating_sub(started.elapsed())
            .max(Duration::from_millis(1));
        stream.set_read_timeout(Some(left))?;
        stream.set_write_timeout(Some(left))?;
        let mut wire = Wire {
            stream,
            parser: redis::Parser::new(),
            db: recipe.info.redis_settings().db(),
            open: true,
        };
        wire.handshake(recipe)?;
        Ok(wire)
    }

    /// `HELLO 3` or `AUTH`, then `SELECT` and `CLIENT SETNAME`, each checked.
    fn handshake(&mut self, recipe: &Recipe<'_>) -> RedisResult<()> {
        let settings = recipe.info.redis_settings();
        let mut cmds = Vec::new();
        if settings.protocol() == redis::ProtocolVersion::RESP3 {
            let mut hello = redis::cmd("HELLO");
            hello.arg(3);
            if let Some(password) = settings.password() {
                hello
                    .arg("AUTH")
                    .arg(settings.username().unwrap_or("default"))
                    .arg(password);
            }
            cmds.push(hello);
        } else if let Some(password) = settings.password() {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = settings.username() {
                auth.arg(user);
            }
            auth.arg(password);
            cmds.push(auth);
        }
        if settings.db() != 0 {
            let mut select = redis::cmd("SELECT");
            select.arg(settings.db());
            cmds.push(select);
        }
        if let Some(name) = recipe.client_name {
            let mut setname = redis::cmd("CLIENT");
            setname.arg("SETNAME").arg(name);
            cmds.push(setname);
        }
        for cmd in &cmds {
            let reply = self.req_packed_command(&cmd.get_packed_command())?;
            match reply {
                Value::ServerError(e) if is_auth_refusal(&e) => {
                    return Err(redis::RedisError::from((
                        redis::ErrorKind::AuthenticationFailed,
                        "the server refused the credentials",
                        e.details().unwrap_or_default().to_owned(),
                    )));
                }
                other => {
                    other.extract_error()?;
                }
            }
        }
        Ok(())
    }

    /// Whether this idle connection can be used: checked without a round trip.
    pub(crate) fn is_alive(&mut self) -> bool {
        self.open && self.stream.is_alive()
    }

    pub(crate) fn set_read_timeout(&self, t: Option<Duration>) -> RedisResult<()> {
        Ok(self.stream.set_read_timeout(t)?)
    }

    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> RedisResult<()> {
        Ok(self.stream.set_write_timeout(t)?)
    }

    /// Writes a packed command (or part of one) without reading.
    pub(crate) fn send_packed_command(&mut self, bytes: &[u8]) -> RedisResult<()> {
        let r = self.stream.write_all(bytes);
        if r.is_err() {
            self.open = false;
        }
        Ok(r?)
    }

    /// Reads one value (a reply or a push message).
    pub(crate) fn recv_response(&mut self) -> RedisResult<Value> {
        let r = self.parser.parse_value(&mut self.stream);
        if let Err(e) = &r
            && (e.is_io_error() || e.kind() == redis::ErrorKind::Parse)
            && !e.is_timeout()
        {
            self.open = false;
        }
        r
    }

    /// Reads the next reply, skipping push messages that are not replies.
    fn reply(&mut self) -> RedisResult<Value> {
        loop {
            match self.recv_response()? {
                Value::Push { .. } => continue,
                v => return Ok(v),
            }
        }
    }
}

impl ConnectionLike for Wire {
    fn req_packed_command(&mut self, cmd: &[u8]) -> RedisResult<Value> {
        self.send_packed_command(cmd)?;
        self.reply()
    }

    fn req_packed_commands(
        &mut self,
        cmd: &[u8],
        offset: usize,
        count: usize,
    ) -> RedisResult<Vec<Value>> {
        self.send_packed_command(cmd)?;
        let mut out = Vec::with_capacity(count);
        let mut first_error = None;
        for i in 0..offset + count {
            // Every reply is read, even after an error, so that none is left on the wire.
            match self.reply() {
                Ok(Value::ServerError(e)) if i < offset => {
                    first_error.get_or_insert_with(|| redis::RedisError::from(e));
                }
                Ok(v) if i >= offset => out.push(v),
                Ok(_) => {}
                Err(e) if e.is_io_error() || e.is_timeout() => return Err(e),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    fn get_db(&self) -> i64 {
        self.db
    }

    fn check_connection(&mut self) -> bool {
        redis::cmd("PING").exec(self).is_ok()
    }

    fn is_open(&self) -> bool {
        self.open
    }
}

/// A TCP connection to the first address of `host` that answers within `timeout`.
fn tcp(host: &str, port: u16, timeout: Duration) -> RedisResult<TcpStream> {
    let mut last = None;
    for addr in (host, port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => e.into(),
        None => (
            redis::ErrorKind::InvalidClientConfig,
            "the host name resolves to no address",
        )
            .into(),
    })
}

fn is_auth_refusal(e: &redis::ServerError) -> bool {
    matches!(e.code(), "WRONGPASS" | "NOAUTH")
}

#[cfg(feature = "tls")]
fn tls_error(e: rustls::Error) -> redis::RedisError {
    std::io::Error::new(std::io::ErrorKind::InvalidData, e).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_peek_tells_an_idle_socket_from_a_closed_one_and_from_one_with_data() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(peek(&client), Peek::Nothing);
        server.write_all(b"+late\r\n").unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(peek(&client), Peek::Data);
        let mut buf = [0u8; 7];
        (&client).read_exact(&mut buf).unwrap();
        assert_eq!(peek(&client), Peek::Nothing, "peeking consumed nothing");
        drop(server);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(peek(&client), Peek::Closed);
    }
}

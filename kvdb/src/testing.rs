//! A throwaway `redis-server` for tests and examples (feature `testing`).
//!
//! [`TestServer::start`] runs `redis-server` on a free loopback port with no persistence, waits
//! until it answers `PING`, and stops it when dropped. A watchdog process also stops it when
//! the process that started it exits, so a server kept in a `static` (never dropped) does not
//! outlive the test binary.
//!
//! ```no_run
//! use kvdb::testing::TestServer;
//!
//! let server = TestServer::start()?;
//! println!("redis on {}", server.url());
//! # Ok::<(), kvdb::testing::TestServerError>(())
//! ```

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why a test server could not be started.
#[derive(Debug)]
#[non_exhaustive]
pub enum TestServerError {
    /// `redis-server` is not installed (or not on `PATH`).
    NotInstalled {
        /// The program that was looked for.
        program: String,
    },
    /// It started but did not answer `PING` in time, or exited.
    NotReady {
        /// What happened, with the end of the server's log.
        detail: String,
    },
    /// Another I/O error.
    Io(std::io::Error),
}

impl std::fmt::Display for TestServerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TestServerError::NotInstalled { program } => write!(
                f,
                "`{program}` was not found. Install Redis (Debian/Ubuntu: `sudo apt-get install \
                 redis-server`; macOS: `brew install redis`), or point KVDB_TEST_URL (tests) / \
                 KVDB_URL (examples) at a running server, or set REDIS_SERVER_BIN to the binary"
            ),
            TestServerError::NotReady { detail } => {
                write!(f, "redis-server did not become ready: {detail}")
            }
            TestServerError::Io(e) => write!(f, "could not start redis-server: {e}"),
        }
    }
}

impl std::error::Error for TestServerError {}

/// A `redis-server` child process on a loopback port, stopped on drop.
#[derive(Debug)]
pub struct TestServer {
    child: Child,
    watchdog: Option<Child>,
    port: u16,
    dir: PathBuf,
    /// A config file given first on the command line (sentinels need one).
    config: Option<PathBuf>,
}

/// The `redis-server` program: `REDIS_SERVER_BIN` or `redis-server`.
fn program() -> String {
    std::env::var("REDIS_SERVER_BIN").unwrap_or_else(|_| "redis-server".into())
}

/// A port that was free a moment ago.
pub fn free_port() -> std::io::Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(l.local_addr()?.port())
}

/// Whether something at `127.0.0.1:port` answers a Redis `PING`.
pub fn answers_ping(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, timeout) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    // A password-protected server answers -NOAUTH: it is there, just not open to us.
    matches!(s.read(&mut buf), Ok(n) if n > 0 && (buf.starts_with(b"+PONG") || buf.starts_with(b"-NOAUTH")))
}

impl TestServer {
    /// Starts a server with no persistence on a free loopback port.
    pub fn start() -> Result<TestServer, TestServerError> {
        Self::start_with_args::<&str>(&[])
    }

    /// Starts a server with extra `redis-server` arguments (e.g. `["--requirepass", "pw"]`).
    /// `--port`, `--bind`, `--save`, `--appendonly` and `--dir` are set by this function.
    pub fn start_with_args<S: AsRef<str>>(args: &[S]) -> Result<TestServer, TestServerError> {
        let mut last = None;
        for _ in 0..5 {
            match Self::try_start(args) {
                Ok(s) => return Ok(s),
                // The free port may have been taken between the check and the start: retry.
                Err(e @ TestServerError::NotReady { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(TestServerError::NotReady {
            detail: "no attempt was made".into(),
        }))
    }

    /// Starts a server whose configuration file (written into its directory, then given
    /// first on the command line) has `config`, plus `args`; e.g. a sentinel:
    /// `start_with_config("sentinel monitor mymaster 127.0.0.1 6380 2", &["--sentinel"])`.
    pub fn start_with_config<S: AsRef<str>>(
        config: &str,
        args: &[S],
    ) -> Result<TestServer, TestServerError> {
        let mut last = None;
        for _ in 0..5 {
            match Self::try_start_in(Some(config), args) {
                Ok(s) => return Ok(s),
                Err(e @ TestServerError::NotReady { .. }) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or(TestServerError::NotReady {
            detail: "no attempt was made".into(),
        }))
    }

    fn try_start<S: AsRef<str>>(args: &[S]) -> Result<TestServer, TestServerError> {
        Self::try_start_in(None, args)
    }

    fn try_start_in<S: AsRef<str>>(
        config: Option<&str>,
        args: &[S],
    ) -> Result<TestServer, TestServerError> {
        let port = free_port().map_err(TestServerError::Io)?;
        let dir = std::env::temp_dir().join(format!("kvdb-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(TestServerError::Io)?;
        let config = match config {
            Some(text) => {
                let path = dir.join("redis.conf");
                std::fs::write(&path, format!("{text}\n")).map_err(TestServerError::Io)?;
                Some(path)
            }
            None => None,
        };
        let program = program();
        let child = match spawn(port, &dir, config.as_deref(), args, Stdio::piped()) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(TestServerError::NotInstalled { program });
            }
            Err(e) => return Err(TestServerError::Io(e)),
        };
        let mut server = TestServer {
            watchdog: spawn_watchdog(child.id()),
            child,
            port,
            dir,
            config,
        };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> Result<(), TestServerError> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(TestServerError::NotReady {
                    detail: format!("it exited with {status}; log: {}", self.log_tail()),
                });
            }
            if answers_ping(self.port, Duration::from_millis(200)) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(TestServerError::NotReady {
            detail: format!(
                "no answer on port {} within 10 s; log: {}",
                self.port,
                self.log_tail()
            ),
        })
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().rev().take(5).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
    }

    /// The loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// The server's working directory (its log is `redis.log` there).
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Kills the server (as a crash would) without removing its directory; see
    /// [`restart`](Self::restart).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port with the same arguments it had.
    pub fn restart<S: AsRef<str>>(&mut self, args: &[S]) -> Result<(), TestServerError> {
        self.kill();
        self.child = spawn(
            self.port,
            &self.dir,
            self.config.as_deref(),
            args,
            Stdio::null(),
        )
        .map_err(TestServerError::Io)?;
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        self.watchdog = spawn_watchdog(self.child.id());
        self.wait_ready()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// `redis-server [config] --port P --bind 127.0.0.1 --save "" --appendonly no --dir D
/// --logfile redis.log ARGS...`
fn spawn<S: AsRef<str>>(
    port: u16,
    dir: &std::path::Path,
    config: Option<&std::path::Path>,
    args: &[S],
    stderr: Stdio,
) -> std::io::Result<Child> {
    let mut cmd = Command::new(program());
    if let Some(config) = config {
        cmd.arg(config);
    }
    cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir)
        .args(["--logfile", "redis.log"])
        .args(args.iter().map(AsRef::as_ref))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
}

/// A `sh` loop that kills `pid` once this process is gone. Best effort: without `sh` the
/// server is still stopped on drop.
fn spawn_watchdog(pid: u32) -> Option<Child> {
    let me = std::process::id();
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {me} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             kill {pid} 2>/dev/null"
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Takes a pooled connection of `session` and gives it back, as every sync call does around
/// its request, idle check included (for `benches/checkout.rs`).
#[doc(hidden)]
pub fn checkout_and_return(session: &crate::Session) -> crate::Result<()> {
    session.pool().sync.checkout_and_return()
}

#[path = "testing_cluster.rs"]
mod cluster;
pub use cluster::{TestCluster, TestSentinel, TestSentinelOptions, TestTls};

/// An operation of the ops list that pipelines have (an entry marked `pipe`), registered by
/// `session_methods!`: the list a test walks to check that every such operation behaves the
/// same on [`Session`](crate::Session) and in a [`Pipeline`](crate::Pipeline).
#[derive(Debug, Clone, Copy)]
pub struct PipelinedOp {
    /// The method's name.
    pub name: &'static str,
    /// Whether it only reads (in a transaction it runs at once instead of being queued).
    pub read: bool,
}

inventory::collect!(PipelinedOp);

/// Every [`PipelinedOp`], sorted by name.
pub fn pipelined_ops() -> Vec<PipelinedOp> {
    let mut ops: Vec<PipelinedOp> = inventory::iter::<PipelinedOp>().copied().collect();
    ops.sort_by_key(|op| op.name);
    ops
}

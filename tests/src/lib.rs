//! The integration-test harness: one Redis server per test binary, and a unique key prefix and
//! session name per test, so tests run in parallel and never touch anyone else's data.
//!
//! The server is `KVDB_TEST_URL` if set; otherwise a `redis-server` started on a free loopback
//! port (no persistence) and stopped when the test binary exits. If `redis-server` is not
//! installed, every test fails with a message that says how to install it: tests never skip.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use kvdb::testing::TestServer;
use kvdb::{KVDBClient, Session, SessionOptions};

/// The server the tests of this binary use.
pub struct Server {
    url: String,
    /// The child process, when the harness started one (kept alive for the whole run).
    _owned: Option<TestServer>,
}

impl Server {
    /// The server's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The server's port (0 for a `KVDB_TEST_URL` without a port).
    pub fn port(&self) -> u16 {
        self.url
            .rsplit(':')
            .next()
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// Whether the harness started this server (so tests may reconfigure it).
    pub fn is_owned(&self) -> bool {
        self._owned.is_some()
    }
}

static SERVER: LazyLock<Server> = LazyLock::new(|| match std::env::var("KVDB_TEST_URL") {
    Ok(url) if !url.is_empty() => Server { url, _owned: None },
    _ => match TestServer::start() {
        Ok(s) => Server {
            url: s.url(),
            _owned: Some(s),
        },
        Err(e) => panic!("the integration tests need a Redis server: {e}"),
    },
});

/// The server for this test binary, started on first use.
pub fn server() -> &'static Server {
    &SERVER
}

/// A small structured value (stored through the serializer), for tests of typed commands.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Item {
    /// A name.
    pub sku: String,
    /// A number.
    pub qty: u32,
}

/// An [`Item`].
pub fn item(sku: &str, qty: u32) -> Item {
    Item {
        sku: sku.into(),
        qty,
    }
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A name unique to this process and call: `"{what}-{pid}-{n}"`.
pub fn unique(what: &str) -> String {
    format!(
        "{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Options for a fresh, uniquely named session on the test server.
pub fn options(what: &str) -> SessionOptions {
    SessionOptions::new(unique(what)).url(server().url())
}

/// Options for a fresh, uniquely named session on the server at `url` (a test's own server).
pub fn options_on(url: &str, what: &str) -> SessionOptions {
    SessionOptions::new(unique(what)).url(url)
}

/// A fresh, uniquely named session on the test server, and a unique key prefix for the test.
pub fn session(options: SessionOptions) -> (Session, String) {
    let prefix = unique("t");
    let session = KVDBClient::get_session(options).expect("test session options are valid");
    (session, prefix)
}

/// A tokio runtime on the current thread, for a sync test that also drives async calls.
pub fn rt() -> tokio::runtime::Runtime {
    rt_on(None)
}

/// A tokio runtime with `workers` worker threads (a multi-threaded runtime, for tests whose
/// tasks must run in parallel).
pub fn rt_threads(workers: usize) -> tokio::runtime::Runtime {
    rt_on(Some(workers))
}

fn rt_on(workers: Option<usize>) -> tokio::runtime::Runtime {
    let mut builder = match workers {
        None => tokio::runtime::Builder::new_current_thread(),
        Some(n) => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(n);
            b
        }
    };
    builder
        .enable_all()
        .build()
        .expect("a tokio runtime can be built")
}

/// Defines a module `$name` with two tests running the same body: `sync` against a
/// [`Session`], `aio` against its [`AsyncSession`](kvdb::AsyncSession) on tokio, each once per
/// listed serializer (a fresh session and key prefix each time).
///
/// In the body, `$s` is `&Session` or `&AsyncSession`, `$p` the key prefix (a `String`); wrap
/// every session call in `w!(...)`, which is the call itself in the sync test and the call
/// `.await`ed in the async one; `compute!(expr)` is a closure returning `expr` (sync) or a
/// closure returning a future of it (async), for cache-aside computations. Each assertion runs
/// in both tests, so each can fail in both.
///
/// ```text
/// kvdb_tests::dual_test!(counter, [Json, Cbor], |s, p| {
///     let k = format!("{p}:n");
///     assert_eq!(w!(s.incr(&k)).unwrap(), 1);
/// });
/// ```
///
/// With `own_server`, each of the two tests starts a `redis-server` of its own (for tests that
/// kill connections or restart the server) and the body also gets `$srv`, a
/// `&mut TestServer`:
///
/// ```text
/// kvdb_tests::dual_test!(survives_restart, own_server, [Json], |s, p, server| { ... });
/// ```
///
/// With `with(make)`, the session and key prefix come from `make(name)` (a
/// `fn(&str) -> (Session, String)`, e.g. a session on a test cluster), once per test:
///
/// ```text
/// kvdb_tests::dual_test!(strings_across_slots, with(session), |s, p| { ... });
/// ```
#[macro_export]
macro_rules! dual_test {
    ($name:ident, with($make:path), |$s:ident, $p:ident| $body:block) => {
        $crate::dual_test!(@both $name, [Json],
            |_serializer| ($make(stringify!($name)), ()),
            |$s, $p, _server| $body);
    };
    ($name:ident, [$($ser:ident),+ $(,)?], |$s:ident, $p:ident| $body:block) => {
        $crate::dual_test!(@both $name, [$($ser),+],
            |ser| ($crate::session($crate::options(stringify!($name)).serializer(ser)), ()),
            |$s, $p, _server| $body);
    };
    ($name:ident, own_server, [$($ser:ident),+ $(,)?], |$s:ident, $p:ident, $srv:ident| $body:block) => {
        $crate::dual_test!(@both $name, [$($ser),+],
            |ser| {
                let server = ::kvdb::testing::TestServer::start()
                    .expect("this test needs a redis-server of its own");
                let url = server.url();
                ($crate::session($crate::options_on(&url, stringify!($name)).serializer(ser)), server)
            },
            |$s, $p, $srv| $body);
    };
    // Both tests; `$make` gives the session and key prefix, and what `$srv` borrows.
    (@both $name:ident, [$($ser:ident),+], |$ser_var:ident| $make:expr,
        |$s:ident, $p:ident, $srv:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn sync() {
                #[allow(unused_macros)]
                macro_rules! w {
                    ($e:expr) => {
                        $e
                    };
                }
                #[allow(unused_macros)]
                macro_rules! compute {
                    ($e:expr) => {
                        || $e
                    };
                }
                for $ser_var in [$(::kvdb::Serializer::$ser),+] {
                    let ((session, $p), mut server) = $make;
                    let $s = &session;
                    let $srv = &mut server;
                    $body
                }
            }

            #[tokio::test]
            async fn aio() {
                #[allow(unused_macros)]
                macro_rules! w {
                    ($e:expr) => {
                        $e.await
                    };
                }
                #[allow(unused_macros)]
                macro_rules! compute {
                    ($e:expr) => {
                        || async { $e }
                    };
                }
                for $ser_var in [$(::kvdb::Serializer::$ser),+] {
                    let ((session, $p), mut server) = $make;
                    let aio = session.aio();
                    let $s = &aio;
                    let $srv = &mut server;
                    $body
                }
            }
        }
    };
}

/// A plain `redis` connection to a test's own server at `url`, for what a test does behind
/// kvdb's back (kill clients, change the config).
pub fn admin(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("the test server accepts connections")
}

/// Closes every normal client connection but `admin`'s own (`CLIENT KILL TYPE normal`;
/// `SKIPME yes` is the default): what a server's idle timeout, a restart or a proxy reset
/// does to a session's connections.
pub fn kill_clients(admin: &mut redis::Connection) {
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .exec(admin)
        .expect("CLIENT KILL");
}

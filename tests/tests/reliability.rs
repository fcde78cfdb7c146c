//! Connections that fail in the ways real deployments make them fail: killed by the server,
//! closed for idleness, cut by a restart, refused. Each test starts its own redis-server (the
//! faults here would disturb other tests) and checks sync and async sessions alike; replies
//! lost after their command ran are `lost_replies.rs`. See `docs/reliability.md` for the
//! table these tests back.

mod model_types;

use std::time::{Duration, Instant};

use kvdb::testing::TestServer;
use kvdb::{AsyncSession, Error, KVDBClient, Retry, Serializer, Session, SessionOptions};
use kvdb_tests::{kill_clients, unique};
use model_types::{User, user};

fn session_on(url: &str) -> Session {
    KVDBClient::get_session(
        SessionOptions::new(unique("reliability"))
            .url(url)
            .serializer(Serializer::Json),
    )
    .expect("valid options")
}

fn admin(server: &TestServer) -> redis::Connection {
    kvdb_tests::admin(&server.url())
}

fn rt() -> tokio::runtime::Runtime {
    kvdb_tests::rt_threads(2)
}

/// The kinds of call the tests repeat: each reads or writes what `seed` stored.
const KINDS: [&str; 6] = ["get", "set", "get_model", "mget", "pipeline", "hgetall"];

fn seed(s: &Session) {
    s.set("k", "v").unwrap();
    s.set_model(&user(7)).unwrap();
    s.hset("h", "f", &1).unwrap();
}

/// One sync call of `kind`, checked.
fn call(s: &Session, kind: &str) -> kvdb::Result<()> {
    match kind {
        "get" => assert_eq!(s.get::<String>("k")?.as_deref(), Some("v")),
        "set" => s.set("k", "v")?,
        "get_model" => assert_eq!(s.get_model::<User>(&7)?, Some(user(7))),
        "mget" => assert_eq!(s.mget::<String>(&["k", "none"])?, [Some("v".into()), None]),
        "pipeline" => {
            let mut p = s.pipeline();
            let (a, b) = (p.get::<String>("k"), p.hget::<i32>("h", "f"));
            let mut r = s.execute(p)?;
            assert_eq!((r.take(a)?, r.take(b)?), (Some("v".into()), Some(1)));
        }
        "hgetall" => assert_eq!(s.hgetall::<i32>("h")?.get("f"), Some(&1)),
        other => unreachable!("{other}"),
    }
    Ok(())
}

/// One async call of `kind`, checked.
async fn call_async(s: &AsyncSession, kind: &str) -> kvdb::Result<()> {
    match kind {
        "get" => assert_eq!(s.get::<String>("k").await?.as_deref(), Some("v")),
        "set" => s.set("k", "v").await?,
        "get_model" => assert_eq!(s.get_model::<User>(&7).await?, Some(user(7))),
        "mget" => assert_eq!(
            s.mget::<String>(&["k", "none"]).await?,
            [Some("v".into()), None]
        ),
        "pipeline" => {
            let mut p = s.pipeline();
            let (a, b) = (p.get::<String>("k"), p.hget::<i32>("h", "f"));
            let mut r = s.execute(p).await?;
            assert_eq!((r.take(a)?, r.take(b)?), (Some("v".into()), Some(1)));
        }
        "hgetall" => assert_eq!(s.hgetall::<i32>("h").await?.get("f"), Some(&1)),
        other => unreachable!("{other}"),
    }
    Ok(())
}

#[test]
fn calls_after_client_kill_all_succeed_sync_and_async() {
    let server = TestServer::start().unwrap();
    let s = session_on(&server.url());
    seed(&s);
    let mut admin = admin(&server);
    // Several pooled connections, all killed each time.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| call(&s, "get").unwrap());
        }
    });
    for kind in KINDS {
        let mut errors = Vec::new();
        for _ in 0..100 {
            kill_clients(&mut admin);
            if let Err(e) = call(&s, kind) {
                errors.push(e.to_string());
            }
        }
        assert!(
            errors.is_empty(),
            "sync {kind}: {} errors: {errors:?}",
            errors.len()
        );
    }
    let a = s.aio();
    rt().block_on(async {
        for kind in KINDS {
            let mut errors = Vec::new();
            for _ in 0..100 {
                kill_clients(&mut admin);
                if let Err(e) = call_async(&a, kind).await {
                    errors.push(e.to_string());
                }
            }
            assert!(
                errors.is_empty(),
                "async {kind}: {} errors: {errors:?}",
                errors.len()
            );
        }
    });
}

/// A request sent in the instant the server's close reaches the connection used to land in
/// the `redis` crate's request channel after its driver had ended, and wait out the whole
/// response timeout (about 1 call in 300 in a debug build): kvdb watches the driver and fails
/// such a request over at once. With a 2 s response timeout, a request left unanswered is
/// an error here (the retry budget is spent), so any hang fails the test.
#[test]
fn async_calls_racing_the_close_of_their_connection_never_wait_for_a_reply() {
    let server = TestServer::start().unwrap();
    let s = KVDBClient::get_session(
        SessionOptions::new(unique("reliability-race"))
            .url(server.url())
            .response_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    s.set("k", "v").unwrap();
    let mut admin = admin(&server);
    let a = s.aio();
    let errors = rt().block_on(async {
        let mut errors = Vec::new();
        for i in 0..1000 {
            kill_clients(&mut admin);
            if let Err(e) = a.get::<String>("k").await {
                errors.push(format!("call {i}: {e}"));
            }
        }
        errors
    });
    assert!(errors.is_empty(), "{} errors: {errors:?}", errors.len());
}

#[test]
fn connections_closed_by_the_idle_timeout_are_not_an_error() {
    let server = TestServer::start().unwrap();
    let s = session_on(&server.url());
    seed(&s);
    let a = s.aio();
    let rt = rt();
    rt.block_on(call_async(&a, "get")).unwrap();
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("timeout")
        .arg(1)
        .exec(&mut admin(&server))
        .unwrap();
    for kind in KINDS {
        std::thread::sleep(Duration::from_secs(2));
        call(&s, kind).unwrap_or_else(|e| panic!("sync {kind} after the idle timeout: {e}"));
        rt.block_on(call_async(&a, kind))
            .unwrap_or_else(|e| panic!("async {kind} after the idle timeout: {e}"));
    }
}

#[test]
fn after_a_restart_the_first_call_succeeds_on_the_same_sessions() {
    let mut server = TestServer::start().unwrap();
    let s = session_on(&server.url());
    let a = s.aio();
    let rt = rt();
    seed(&s);
    rt.block_on(call_async(&a, "get")).unwrap();
    for round in 0..2 {
        let _ = redis::cmd("SHUTDOWN")
            .arg("NOSAVE")
            .exec(&mut admin(&server));
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.is_running() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!server.is_running(), "SHUTDOWN NOSAVE stopped the server");
        // While it is down, calls fail fast, as connection errors without a key.
        let started = Instant::now();
        let e = s.get::<String>("k").unwrap_err();
        assert!(
            matches!(e, Error::Connect { .. }) && e.key().is_none(),
            "{e:?}"
        );
        let e = rt.block_on(a.get::<String>("k")).unwrap_err();
        assert!(
            matches!(e, Error::Connect { .. }) && e.key().is_none(),
            "{e:?}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "down server: {:?}",
            started.elapsed()
        );
        server.restart::<&str>(&[]).unwrap();
        // Nothing persisted (NOSAVE): the first call after the restart writes.
        s.set("k", "v")
            .unwrap_or_else(|e| panic!("round {round}: first sync call after the restart: {e}"));
        rt.block_on(a.get::<String>("k"))
            .unwrap_or_else(|e| panic!("round {round}: first async call after the restart: {e}"));
        seed(&s);
    }
}

#[test]
fn a_refused_port_or_a_missing_socket_fails_fast_with_a_connect_error() {
    let port = kvdb::testing::free_port().unwrap();
    let dir = std::env::temp_dir().join(unique("kvdb-no-socket"));
    let targets = [
        (
            format!("redis://127.0.0.1:{port}/0"),
            format!("127.0.0.1:{port}"),
        ),
        (
            format!("redis+unix://{}/redis.sock", dir.display()),
            "redis.sock".to_owned(),
        ),
    ];
    let rt = rt();
    for (url, named) in targets {
        // Default options: a 5 s connect timeout and a 5 s pool timeout.
        let s = KVDBClient::get_session(SessionOptions::new(unique("refused")).url(&url)).unwrap();
        let started = Instant::now();
        let sync_err = s.get::<String>("k").unwrap_err();
        let sync_took = started.elapsed();
        let started = Instant::now();
        let async_err = rt.block_on(s.aio().get::<String>("k")).unwrap_err();
        let async_took = started.elapsed();
        for (what, e, took) in [
            ("sync", &sync_err, sync_took),
            ("async", &async_err, async_took),
        ] {
            assert!(matches!(e, Error::Connect { .. }), "{what} {url}: {e:?}");
            assert!(took < Duration::from_secs(1), "{what} {url}: took {took:?}");
            assert!(
                e.is_connection_error() && !e.is_timeout(),
                "{what} {url}: {e:?}"
            );
            assert_eq!(e.key(), None, "{what} {url}: nothing was sent, no key");
            assert!(e.to_string().contains(&named), "{what} {url}: {e}");
        }
    }
}

/// Kills the pooled connections of `s` (through `admin`), then calls it with retries off:
/// only the check of idle connections before use can make these calls succeed. INCR shows
/// that nothing was sent on the dead connection (it would otherwise fail, and never be
/// resent).
fn killed_connections_are_never_handed_out(s: &Session, admin: &mut redis::Connection) {
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| s.ping().unwrap());
        }
    });
    for i in 1..=50 {
        kill_clients(admin);
        assert_eq!(
            s.incr("stale:counter")
                .unwrap_or_else(|e| panic!("call {i} after CLIENT KILL: {e}")),
            i
        );
    }
}

#[test]
fn a_killed_pooled_connection_never_reaches_a_caller_tcp_and_unix() {
    let dir = std::env::temp_dir().join(unique("kvdb-sock"));
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("redis.sock");
    let socket_arg = socket.display().to_string();
    let server = TestServer::start_with_args(&["--unixsocket", &socket_arg]).unwrap();
    for url in [server.url(), format!("redis+unix://{socket_arg}")] {
        let s = KVDBClient::get_session(
            SessionOptions::new(unique("stale"))
                .url(&url)
                .retry(Retry::never()),
        )
        .unwrap();
        let mut admin = admin(&server);
        redis::cmd("DEL")
            .arg("stale:counter")
            .exec(&mut admin)
            .unwrap();
        killed_connections_are_never_handed_out(&s, &mut admin);
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Closes the connections named `name` on the server at `port` (and no one else's: a
/// sentinel's own connections stay).
fn kill_named(port: u16, name: &str) {
    let mut admin = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .and_then(|c| c.get_connection())
        .unwrap();
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut admin).unwrap();
    for line in list
        .lines()
        .filter(|l| l.contains(&format!(" name={name} ")))
    {
        if let Some(id) = line.split(' ').find_map(|f| f.strip_prefix("id=")) {
            let _ = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(id)
                .exec(&mut admin);
        }
    }
}

#[test]
fn cluster_and_sentinel_sessions_survive_killed_connections() {
    let rt = rt();
    // Cluster: every node closes every client connection between calls.
    let cluster = kvdb::testing::TestCluster::start(3, 0).unwrap();
    let s = KVDBClient::get_session(
        SessionOptions::new(unique("stale-cluster"))
            .url(cluster.url())
            .serializer(Serializer::Json),
    )
    .unwrap();
    seed(&s);
    let a = s.aio();
    rt.block_on(call_async(&a, "get")).unwrap();
    for kind in ["get", "set", "get_model", "mget", "hgetall"] {
        for i in 0..20 {
            for port in cluster.ports() {
                let mut admin = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                    .and_then(|c| c.get_connection())
                    .unwrap();
                kill_clients(&mut admin);
            }
            call(&s, kind).unwrap_or_else(|e| panic!("cluster sync {kind} #{i}: {e}"));
            rt.block_on(call_async(&a, kind))
                .unwrap_or_else(|e| panic!("cluster async {kind} #{i}: {e}"));
        }
    }
    // With retries off, INCR after every node closed its connections still runs once per
    // call: the request sent on a dead node connection never reached the node, and the
    // cluster client reconnects that node and sends it.
    let strict = KVDBClient::get_session(
        SessionOptions::new(unique("stale-cluster-strict"))
            .url(cluster.url())
            .retry(Retry::never()),
    )
    .unwrap();
    strict.ping().unwrap();
    for i in 1..=20 {
        for port in cluster.ports() {
            let mut admin = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .and_then(|c| c.get_connection())
                .unwrap();
            kill_clients(&mut admin);
        }
        let n = strict
            .incr("stale:counter")
            .unwrap_or_else(|e| panic!("cluster INCR #{i} after CLIENT KILL: {e}"));
        assert_eq!(n, i);
    }
    drop(cluster);

    // Sentinel: the primary closes this session's connections (named) between calls.
    let mut setup = kvdb::testing::TestSentinel::start().unwrap();
    let name = unique("victim");
    let s = KVDBClient::get_session(
        SessionOptions::new(unique("stale-sentinel"))
            .url(setup.url())
            .serializer(Serializer::Json)
            .client_name(&name),
    )
    .unwrap();
    seed(&s);
    let a = s.aio();
    rt.block_on(call_async(&a, "get")).unwrap();
    let primary = setup.primary().port();
    for kind in KINDS {
        for i in 0..20 {
            kill_named(primary, &name);
            call(&s, kind).unwrap_or_else(|e| panic!("sentinel sync {kind} #{i}: {e}"));
            kill_named(primary, &name);
            rt.block_on(call_async(&a, kind))
                .unwrap_or_else(|e| panic!("sentinel async {kind} #{i}: {e}"));
        }
    }
}

//! Sentinel sessions: one primary, one replica, three sentinels (loopback, no persistence).
//! The primary is killed; after the sentinels promote the replica, the same session (sync and
//! async) writes and reads again, and no write acknowledged as replicated is lost. Sentinels
//! with a password: sessions authenticate to them, a wrong password is an auth error at once;
//! replica reads: reads on the replica, writes on the primary (counted by `INFO
//! commandstats` on each node); the pool's health.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kvdb::testing::{TestSentinel, TestSentinelOptions};
use kvdb::{KVDBClient, Serializer, SessionOptions};
use kvdb_tests::unique;

/// Retries `f` until it succeeds or `limit` passes; returns how many failures it took.
fn until_ok<T>(limit: Duration, mut f: impl FnMut() -> kvdb::Result<T>) -> (T, u32) {
    let deadline = Instant::now() + limit;
    let mut failures = 0;
    loop {
        match f() {
            Ok(v) => return (v, failures),
            Err(e) if Instant::now() < deadline => {
                failures += 1;
                if failures % 20 == 1 {
                    eprintln!("waiting for the failover: {e}");
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("no recovery within {limit:?}: {e}"),
        }
    }
}

#[test]
fn session_follows_a_failover_without_losing_replicated_writes() {
    let started = Instant::now();
    let mut setup = TestSentinel::start().unwrap();
    let session = KVDBClient::get_session(
        SessionOptions::new(unique("sentinel"))
            .url(setup.url())
            .serializer(Serializer::Json)
            .response_timeout(Duration::from_secs(2))
            .connect_timeout(Duration::from_secs(1)),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let aio = session.aio();
    let first = setup.current_primary_port().unwrap();

    // Writes, each acknowledged only once WAIT says the replica has it.
    let mut acknowledged = Vec::new();
    for i in 0..200u32 {
        let key = format!("w:{i}");
        session.set(&key, &vec![i, i + 1]).unwrap();
        if i % 2 == 1 {
            rt.block_on(aio.set(&format!("a:{i}"), &i)).unwrap();
        }
        let replicas: i64 = session
            .query(kvdb::redis::cmd("WAIT").arg(1).arg(1000))
            .unwrap();
        if replicas >= 1 {
            acknowledged.push(i);
        }
    }
    assert!(acknowledged.len() > 190, "the replica keeps up");

    setup.primary().kill();
    // Until the sentinels agree the primary is down and promote the replica, requests fail.
    let ((), sync_failures) = until_ok(Duration::from_secs(30), || session.set("after", &1));
    let ((), async_failures) = until_ok(Duration::from_secs(10), || {
        rt.block_on(aio.set("after-async", &2))
    });
    let now = setup.current_primary_port().unwrap();
    assert_ne!(now, first, "a new primary");
    assert_eq!(now, setup.replica().port());
    eprintln!(
        "failover: {sync_failures} sync and {async_failures} async failed tries; total {:?}",
        started.elapsed()
    );

    // The same session reads every acknowledged write from the new primary.
    let keys: Vec<String> = acknowledged.iter().map(|i| format!("w:{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let got: Vec<Option<Vec<u32>>> = session.mget(&refs).unwrap();
    for (i, v) in acknowledged.iter().zip(got) {
        assert_eq!(v, Some(vec![*i, i + 1]), "acknowledged write w:{i} lost");
    }
    assert_eq!(session.get::<i64>("after").unwrap(), Some(1));
    let back: Option<i64> = rt.block_on(aio.get("after-async")).unwrap();
    assert_eq!(back, Some(2));
    let odd: Option<u32> = rt.block_on(aio.get("a:199")).unwrap();
    assert_eq!(odd, Some(199));
    // And writes again, sync and async.
    session.set("later", &3).unwrap();
    assert_eq!(rt.block_on(aio.incr("later")).unwrap(), 4);
}

#[test]
fn sentinel_urls_and_options_share_a_pool_and_hide_credentials() {
    let a = KVDBClient::get_session(
        SessionOptions::new(unique("sa")).url("redis+sentinel://127.0.0.1:1,127.0.0.1:2/m/0"),
    )
    .unwrap();
    let b = KVDBClient::get_session(
        SessionOptions::new(unique("sb")).sentinel("m", ["127.0.0.1:2", "127.0.0.1:1"]),
    )
    .unwrap();
    assert!(a.shares_pool_with(&b));
    assert_eq!(a.url(), "redis+sentinel://127.0.0.1:1,127.0.0.1:2/m/0");
    let c = KVDBClient::get_session(
        SessionOptions::new(unique("sc"))
            .url("redis+sentinel://u:s3cret@127.0.0.1:1/m/2")
            .connect_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    assert!(!a.shares_pool_with(&c));
    assert_eq!(c.url(), "redis+sentinel://u:***@127.0.0.1:1/m/2");
    // No sentinel answers: a clear error, without the password.
    let e = c.ping().unwrap_err().to_string();
    assert!(!e.contains("s3cret"), "{e}");
    assert!(!format!("{c:?}").contains("s3cret"));
}

/// Password-protected sentinels (`requirepass`) over an open primary and replica, shared by
/// the tests below (none of them kills a server).
static GUARDED: std::sync::LazyLock<TestSentinel> = std::sync::LazyLock::new(|| {
    TestSentinel::start_with(&TestSentinelOptions {
        tls: None,
        sentinel_password: Some(SENTINEL_PW.into()),
    })
    .unwrap_or_else(|e| panic!("sentinels with a password: {e}"))
});

const SENTINEL_PW: &str = "sentinel-s3cret";

fn guarded(name: &str) -> SessionOptions {
    timeouts(SessionOptions::new(unique(name)).url(GUARDED.url()))
}

fn timeouts(opts: SessionOptions) -> SessionOptions {
    opts.serializer(Serializer::Json)
        .connect_timeout(Duration::from_secs(2))
        .response_timeout(Duration::from_secs(5))
}

#[test]
fn sessions_authenticate_to_password_protected_sentinels() {
    // The option form.
    let s =
        KVDBClient::get_session(guarded("sentinel-auth").sentinel_password(SENTINEL_PW)).unwrap();
    s.set("auth:k", &vec![1, 2]).unwrap();
    assert_eq!(s.get::<Vec<i32>>("auth:k").unwrap(), Some(vec![1, 2]));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        s.aio().set("auth:a", &3).await.unwrap();
        assert_eq!(s.aio().get::<i32>("auth:a").await.unwrap(), Some(3));
    });
    // The URL form, percent-encoded; the password never shows.
    let url = format!(
        "{}?sentinel_password={}",
        GUARDED.url(),
        SENTINEL_PW.replace('-', "%2D")
    );
    let by_url = KVDBClient::get_session(timeouts(
        SessionOptions::new(unique("sentinel-auth-url")).url(url),
    ))
    .unwrap();
    assert!(by_url.shares_pool_with(&s), "the same settings, one pool");
    assert_eq!(by_url.get::<i32>("auth:a").unwrap(), Some(3));
    let shown = format!(
        "{} {by_url:?} {:?} {:?}",
        by_url.url(),
        by_url.options(),
        KVDBClient::health()
    );
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(
        by_url.url().ends_with("?sentinel_password=***"),
        "{}",
        by_url.url()
    );
}

#[test]
fn a_wrong_sentinel_password_fails_fast_with_an_auth_error() {
    let s = KVDBClient::get_session(
        guarded("sentinel-wrong")
            .sentinel_password("not-the-password")
            // Long, so that failing at once is visibly not the pool timing out.
            .pool_timeout(Duration::from_secs(30)),
    )
    .unwrap();
    let started = Instant::now();
    let e = s.get::<i32>("k").unwrap_err();
    let took = started.elapsed();
    println!("wrong sentinel password (sync, {took:?}): {e}");
    assert!(e.is_auth_error(), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("not-the-password"), "{e:?}");
    // Not a speed target: a refusal must not wait for the 30 s pool timeout.
    assert!(took < Duration::from_secs(5), "{took:?}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let e = rt.block_on(s.aio().get::<i32>("k")).unwrap_err();
    println!(
        "wrong sentinel password (async, {:?}): {e}",
        started.elapsed()
    );
    assert!(e.is_auth_error(), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("not-the-password"), "{e:?}");
    // And none at all.
    let none =
        KVDBClient::get_session(guarded("sentinel-none").pool_timeout(Duration::from_secs(30)))
            .unwrap();
    let e = none.get::<i32>("k").unwrap_err();
    assert!(e.is_auth_error(), "{e:?}");
}

/// `INFO commandstats` of the server at `port`: the calls of `command`.
fn calls(port: u16, command: &str) -> u64 {
    let client = kvdb::redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut conn = client.get_connection().unwrap();
    let info: String = kvdb::redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut conn)
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn replica_reads_go_to_the_replica_and_writes_to_the_primary() {
    let (primary, replica) = GUARDED.client_addrs();
    let port = |addr: &str| addr.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    let (primary_port, replica_port) = (port(&primary), port(&replica));
    let s = KVDBClient::get_session(
        guarded("replica-reads")
            .sentinel_password(SENTINEL_PW)
            .read_from_replicas(true),
    )
    .unwrap();
    let key = unique("rr");
    let before = (
        calls(primary_port, "get"),
        calls(replica_port, "get"),
        calls(primary_port, "set"),
        calls(primary_port, "mget"),
        calls(replica_port, "mget"),
    );
    s.set(&key, &41).unwrap();
    // The replica applies the write a moment later: wait until it has it.
    let n: i64 = s.query(kvdb::redis::cmd("WAIT").arg(1).arg(2000)).unwrap();
    assert_eq!(n, 1, "the replica acknowledged the write");
    assert_eq!(s.get::<i32>(&key).unwrap(), Some(41));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        assert_eq!(s.aio().get::<i32>(&key).await.unwrap(), Some(41));
        assert_eq!(
            s.aio().mget::<i32>(&[key.as_str()]).await.unwrap(),
            [Some(41)]
        );
    });
    // A write through the same session still goes to the primary.
    assert_eq!(s.incr(&key).unwrap(), 42);
    rt.block_on(s.aio().set(&key, &43)).unwrap();
    let after = (
        calls(primary_port, "get"),
        calls(replica_port, "get"),
        calls(primary_port, "set"),
        calls(primary_port, "mget"),
        calls(replica_port, "mget"),
    );
    println!("commandstats before {before:?} after {after:?}");
    assert_eq!(after.0, before.0, "no GET on the primary");
    assert_eq!(after.1, before.1 + 2, "both GETs on the replica");
    assert_eq!(after.2, before.2 + 2, "both SETs on the primary");
    assert_eq!(after.3, before.3, "no MGET on the primary");
    assert_eq!(after.4, before.4 + 1, "the MGET on the replica");
    // Health: both addresses seen, without I/O.
    let health = KVDBClient::health()
        .into_iter()
        .find(|p| p.sessions.iter().any(|n| n == s.name()))
        .unwrap();
    assert_eq!(health.mode, kvdb::Mode::Sentinel);
    assert_eq!(health.primary.as_deref(), Some(primary.as_str()));
    assert_eq!(health.replica.as_deref(), Some(replica.as_str()));
    assert_eq!(health.nodes.len(), 3, "{health:?}");
    assert_eq!(health.check, None);
    // Without replica reads, a read goes to the primary.
    let plain =
        KVDBClient::get_session(guarded("primary-reads").sentinel_password(SENTINEL_PW)).unwrap();
    assert_eq!(plain.get::<i32>(&key).unwrap(), Some(43));
    assert_eq!(calls(primary_port, "get"), before.0 + 1);
}

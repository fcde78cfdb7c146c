//! Sentinel sessions: one primary, one replica, three sentinels (loopback, no persistence).
//! The primary is killed; after the sentinels promote the replica, the same session (sync and
//! async) writes and reads again, and no write acknowledged as replicated is lost.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kvdb::testing::TestSentinel;
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

//! Edge cases found by adversarial testing: TTLs below a command's unit, empty multi-key and
//! multi-value calls, and pipelines whose failing command's handle was dropped. Sync and async.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::{Duration, SystemTime};

use kvdb::{Error, KVDBClient, KvModel, SessionOptions, SetOptions, Ttl};
use kvdb_tests::{dual_test, unique};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "edge.Note", prefix = "edge:notes")]
struct Note {
    #[kv(key)]
    id: String,
}

/// The remaining time of a key that must still exist and expire within `max`.
macro_rules! expires_within {
    ($ttl:expr, $max:expr, $what:expr) => {
        match $ttl {
            Ttl::Expires(d) => assert!(d > Duration::ZERO && d <= $max, "{}: {d:?}", $what),
            other => panic!(
                "{}: the key should exist and expire, found {other:?}",
                $what
            ),
        }
    };
}

fn assert_invalid_ttl<T: std::fmt::Debug>(r: kvdb::Result<T>, key: &str) {
    match r {
        Err(e @ Error::InvalidTtl { .. }) => assert_eq!(e.key(), Some(key), "{e}"),
        other => panic!("expected InvalidTtl at {key:?}, got {other:?}"),
    }
}

dual_test!(sub_unit_ttls_never_delete, [Json], |s, p| {
    let half = Duration::from_millis(500);
    let k = format!("{p}:k");
    w!(s.set(&k, "v")).unwrap();
    // Half a second: EXPIRE would send 0 and delete the key; it goes as PEXPIRE 500.
    assert!(w!(s.expire(&k, half)).unwrap());
    expires_within!(w!(s.pttl(&k)).unwrap(), half, "expire 500ms");
    w!(s.persist(&k)).unwrap();
    // Under a millisecond: refused, and the key is untouched.
    assert_invalid_ttl(w!(s.pexpire(&k, Duration::from_micros(500))), &k);
    assert_invalid_ttl(w!(s.expire(&k, Duration::ZERO)), &k);
    assert_eq!(w!(s.ttl(&k)).unwrap(), Ttl::Persistent);
    // A second and a half keeps its half (PEXPIRE 1500), not EXPIRE 1.
    assert!(w!(s.expire(&k, Duration::from_millis(1500))).unwrap());
    match w!(s.pttl(&k)).unwrap() {
        Ttl::Expires(d) => assert!(d > Duration::from_millis(1000), "{d:?}"),
        other => panic!("{other:?}"),
    }
    // SET options and set_ex.
    let a = format!("{p}:a");
    assert!(w!(s.set_with(&a, "v", SetOptions::new().ex(half))).unwrap());
    expires_within!(w!(s.pttl(&a)).unwrap(), half, "SET EX 500ms");
    assert_invalid_ttl(
        w!(s.set_with(&a, "w", SetOptions::new().px(Duration::ZERO))),
        &a,
    );
    assert_eq!(w!(s.get::<String>(&a)).unwrap().as_deref(), Some("v"));
    w!(s.set_ex(&a, "x", half)).unwrap();
    expires_within!(w!(s.pttl(&a)).unwrap(), half, "set_ex 500ms");
    assert_invalid_ttl(w!(s.set_ex(&a, "y", Duration::from_nanos(1))), &a);
    assert_invalid_ttl(w!(s.set_ex(&a, "y", Duration::MAX)), &a);
    assert_eq!(w!(s.get::<String>(&a)).unwrap().as_deref(), Some("x"));
    // Models and locks go through the same conversion.
    let note = Note { id: unique("n") };
    let nk = kvdb::model::model_key(&note).unwrap();
    w!(s.set_model_ex(&note, half)).unwrap();
    expires_within!(w!(s.pttl(&nk)).unwrap(), half, "set_model_ex 500ms");
    assert_invalid_ttl(w!(s.set_model_ex(&note, Duration::ZERO)), &nk);
    let lock = format!("{p}:lock");
    assert_invalid_ttl(
        w!(s.try_lock(&lock, Duration::from_micros(10))).map(|g| g.is_some()),
        &lock,
    );
    let guard = w!(s.try_lock(&lock, half)).unwrap();
    assert!(guard.is_some());
    expires_within!(w!(s.pttl(&lock)).unwrap(), half, "lock 500ms");
    drop(guard);
    // An absolute expiry time, to the millisecond.
    let b = format!("{p}:b");
    w!(s.set(&b, "v")).unwrap();
    assert!(w!(s.expire_at(&b, SystemTime::now() + Duration::from_secs(60))).unwrap());
    expires_within!(
        w!(s.pttl(&b)).unwrap(),
        Duration::from_secs(60),
        "expire_at"
    );
    assert_invalid_ttl(
        w!(s.expire_at(&b, SystemTime::UNIX_EPOCH - Duration::from_secs(1))),
        &b,
    );
});

dual_test!(sub_millisecond_waits_never_wait_for_ever, [Json], |s, p| {
    // BLPOP's timeout 0.0001 s reached Redis as 0: wait for ever. It is at least 1 ms now.
    let q = format!("{p}:q");
    let started = std::time::Instant::now();
    assert_eq!(
        w!(s.blpop::<String>(&[q.as_str()], Duration::from_micros(100))).unwrap(),
        None
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
});

#[test]
fn scan_count_zero_means_the_default() {
    // SCAN ... COUNT 0 is a syntax error in Redis.
    let (s, p) = kvdb_tests::session(kvdb_tests::options("scan0"));
    let k = format!("{p}:k");
    s.set(&k, "v").unwrap();
    let opts = kvdb::ScanOptions::new().pattern(format!("{p}:*")).count(0);
    let keys: Vec<String> = s.scan(opts).unwrap().collect::<kvdb::Result<_>>().unwrap();
    assert_eq!(keys, vec![k]);
}

/// Every multi-key and multi-value operation with an empty list: `$check!(call, expected)`
/// for each. Shared by the test without a server (no round trip may happen) and the pipeline.
macro_rules! empty_calls {
    ($s:ident, $check:ident) => {
        let none: [&str; 0] = [];
        $check!($s.mget::<String>(&none), Vec::<Option<String>>::new());
        $check!($s.mset::<i32>(&[]), ());
        $check!($s.delete(&none), 0);
        $check!($s.hmget::<String>("h", &none), Vec::<Option<String>>::new());
        $check!($s.hset_multiple::<i32>("h", &[]), 0);
        $check!($s.hdel("h", &none), 0);
        $check!($s.sadd::<i32>("s", &[]), 0);
        $check!($s.srem::<i32>("s", &[]), 0);
        $check!($s.zadd_multiple::<i32>("z", &[]), 0);
        $check!($s.zrem::<i32>("z", &[]), 0);
        $check!($s.blpop::<String>(&none, Duration::from_secs(1)), None);
        $check!(
            $s.get_models::<Note>(&[] as &[&str]),
            Vec::<Option<Note>>::new()
        );
        $check!($s.set_models::<Note>(&[]), ());
    };
}

/// A session on a port nothing listens on: any round trip fails.
fn unreachable() -> kvdb::Session {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    KVDBClient::get_session(
        SessionOptions::new(unique("nowhere"))
            .url(format!("redis://127.0.0.1:{port}/0"))
            .serializer(kvdb::Serializer::Json)
            .connect_timeout(Duration::from_millis(200))
            .pool_timeout(Duration::from_millis(500)),
    )
    .unwrap()
}

#[test]
fn empty_calls_need_no_server_sync() {
    let s = unreachable();
    macro_rules! check {
        ($call:expr, $want:expr) => {
            assert_eq!($call.unwrap(), $want, "{}", stringify!($call))
        };
    }
    empty_calls!(s, check);
    assert!(s.exists("k").is_err(), "the server really is unreachable");
}

#[tokio::test]
async fn empty_calls_need_no_server_async() {
    let s = unreachable();
    let s = s.aio();
    macro_rules! check {
        ($call:expr, $want:expr) => {
            assert_eq!($call.await.unwrap(), $want, "{}", stringify!($call))
        };
    }
    empty_calls!(s, check);
    assert!(
        s.exists("k").await.is_err(),
        "the server really is unreachable"
    );
}

dual_test!(empty_pushes_return_the_length, [Json], |s, p| {
    let q = format!("{p}:q");
    let none: [i32; 0] = [];
    assert_eq!(w!(s.rpush(&q, &none)).unwrap(), 0);
    assert_eq!(w!(s.rpush(&q, &[1, 2])).unwrap(), 2);
    assert_eq!(w!(s.lpush(&q, &none)).unwrap(), 2);
    assert_eq!(w!(s.rpush(&q, &none)).unwrap(), 2);
});

dual_test!(empty_calls_in_a_pipeline, [Json], |s, p| {
    let n = format!("{p}:n");
    let none: [&str; 0] = [];
    for atomic in [false, true] {
        let mut pipe = if atomic {
            s.pipeline().atomic()
        } else {
            s.pipeline()
        };
        let del = pipe.delete(&none);
        let push = pipe.rpush::<i32>(&n, &[]);
        let sadd = pipe.sadd::<i32>(&n, &[]);
        let zadd = pipe.zadd_multiple::<i32>(&n, &[]);
        let incr = pipe.incr_by(&format!("{n}:c"), 1);
        let mut r = w!(s.execute(pipe)).unwrap();
        assert_eq!(r.take(del).unwrap(), 0);
        assert_eq!(r.take(push).unwrap(), 0);
        assert_eq!(r.take(sadd).unwrap(), 0);
        assert_eq!(r.take(zadd).unwrap(), 0);
        assert!(r.take(incr).unwrap() >= 1);
    }
    // Only empty calls: nothing to send.
    let mut pipe = s.pipeline();
    let del = pipe.delete(&none);
    assert_eq!(w!(s.execute(pipe)).unwrap().take(del).unwrap(), 0);
});

dual_test!(a_failing_command_fails_execute, [Json], |s, p| {
    let (h, n) = (format!("{p}:h"), format!("{p}:n"));
    w!(s.hset(&h, "f", "v")).unwrap();
    for atomic in [false, true] {
        let mut pipe = if atomic {
            s.pipeline().atomic()
        } else {
            s.pipeline()
        };
        let _ = pipe.incr_by(&h, 1); // WRONGTYPE, handle dropped
        let _ = pipe.incr_by(&n, 1);
        let e = w!(s.execute(pipe)).unwrap_err();
        assert!(e.to_string().contains("WRONGTYPE"), "{e}");
        assert_eq!(e.key(), Some(h.as_str()), "{e}");
    }
    // Redis does not roll back: the other commands ran.
    assert_eq!(w!(s.get::<i64>(&n)).unwrap(), Some(2));
    // Asking for per-command results keeps execute Ok.
    let mut pipe = s.pipeline().keep_errors();
    let bad = pipe.incr_by(&h, 1);
    let good = pipe.incr_by(&n, 1);
    let mut r = w!(s.execute(pipe)).unwrap();
    assert!(r.take(bad).is_err());
    assert_eq!(r.take(good).unwrap(), 3);
});

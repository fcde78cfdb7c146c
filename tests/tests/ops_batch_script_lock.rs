//! Typed pipelines, Lua scripts and the distributed lock, sync and async.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kvdb::{Error, Script, SetOptions};
use kvdb_tests::{Item, dual_test, item};
use serde::{Deserialize, Serialize};

dual_test!(
    pipeline_returns_each_typed_result,
    [Json, Cbor, MsgPack],
    |s, p| {
        let (a, n, l, h, z, st) = (
            format!("{p}:a"),
            format!("{p}:n"),
            format!("{p}:l"),
            format!("{p}:h"),
            format!("{p}:z"),
            format!("{p}:s"),
        );
        let mut pipe = s.pipeline();
        let set = pipe.set(&a, &item("x", 1));
        let got = pipe.get::<Item>(&a);
        let missing = pipe.get::<Item>(&format!("{p}:missing"));
        let n1 = pipe.incr_by(&n, 5);
        let n2 = pipe.incr_by(&n, -2);
        let pushed = pipe.rpush(&l, &[item("y", 2), item("z", 3)]);
        let range = pipe.lrange::<Item>(&l, 0, -1);
        let hs = pipe.hset(&h, "f", &item("h", 4));
        let hg = pipe.hget::<Item>(&h, "f");
        let hi = pipe.hincr_by(&h, "count", 3);
        let za = pipe.zadd_multiple(&z, &[(item("low", 0), 1.0), (item("high", 9), 2.0)]);
        let zr = pipe.zrange::<Item>(&z, 0, -1);
        let sa = pipe.sadd(&st, &[1, 2, 2]);
        let sm = pipe.smembers::<i32>(&st);
        let ex = pipe.exists(&a);
        let tt = pipe.pexpire(&a, Duration::from_secs(100));
        let se = pipe.set_ex(&format!("{p}:tmp"), "t", Duration::from_secs(100));
        let sw = pipe.set_with(&a, &item("nx", 0), SetOptions::new().nx());
        let del = pipe.delete(&[&l]);
        assert_eq!(pipe.len(), 19);
        let mut r = w!(s.execute(pipe)).unwrap();
        assert_eq!(r.len(), 19);
        r.take(set).unwrap();
        assert_eq!(r.take(got).unwrap(), Some(item("x", 1)));
        assert_eq!(r.take(missing).unwrap(), None);
        assert_eq!(r.take(n1).unwrap(), 5);
        assert_eq!(r.take(n2).unwrap(), 3);
        assert_eq!(r.take(pushed).unwrap(), 2);
        assert_eq!(r.take(range).unwrap(), vec![item("y", 2), item("z", 3)]);
        assert!(r.take(hs).unwrap());
        assert_eq!(r.take(hg).unwrap(), Some(item("h", 4)));
        assert_eq!(r.take(hi).unwrap(), 3);
        assert_eq!(r.take(za).unwrap(), 2);
        assert_eq!(r.take(zr).unwrap(), vec![item("low", 0), item("high", 9)]);
        assert_eq!(r.take(sa).unwrap(), 2);
        let mut members = r.take(sm).unwrap();
        members.sort();
        assert_eq!(members, vec![1, 2]);
        assert!(r.take(ex).unwrap());
        assert!(r.take(tt).unwrap());
        r.take(se).unwrap();
        assert!(!r.take(sw).unwrap());
        assert_eq!(r.take(del).unwrap(), 1);
        assert!(!w!(s.exists(&l)).unwrap());
    }
);

dual_test!(
    atomic_pipeline_and_per_command_errors,
    [Json, MsgPack],
    |s, p| {
        let (a, l, n) = (format!("{p}:a"), format!("{p}:l"), format!("{p}:n"));
        w!(s.rpush(&l, &[1])).unwrap();
        let mut pipe = s.pipeline().atomic().keep_errors();
        let set = pipe.set(&a, &item("a", 1));
        let wrong = pipe.get::<Item>(&l); // WRONGTYPE at run time
        let bad_shape = pipe.get::<u64>(&a); // a struct is not a u64
        let incr = pipe.incr_by(&n, 1);
        let mut r = w!(s.execute(pipe)).unwrap();
        r.take(set).unwrap();
        let e = r.take(wrong).unwrap_err();
        assert!(matches!(e, Error::Redis { .. }), "{e:?}");
        assert_eq!(e.key(), Some(l.as_str()));
        assert!(e.to_string().contains("WRONGTYPE"), "{e}");
        let e = r.take(bad_shape).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert_eq!(e.key(), Some(a.as_str()));
        // Redis does not roll back: the commands after the failing one ran.
        assert_eq!(r.take(incr).unwrap(), 1);
        assert_eq!(w!(s.get::<Item>(&a)).unwrap(), Some(item("a", 1)));
    }
);

dual_test!(pipeline_edge_cases, [Json], |s, p| {
    // An empty pipeline is fine.
    let r = w!(s.execute(s.pipeline())).unwrap();
    assert!(r.is_empty());
    // An encoding error fails execute before anything is sent.
    let no_ser = kvdb::KVDBClient::get_session(kvdb_tests::options("noser")).unwrap();
    let mut pipe = no_ser.pipeline();
    let k = format!("{p}:never");
    let _ = pipe.set(&format!("{p}:plain"), "ok");
    let _ = pipe.set(&k, &item("x", 1));
    let e = no_ser.execute(pipe).unwrap_err();
    assert!(matches!(e, Error::SerializerRequired { .. }), "{e:?}");
    assert_eq!(e.key(), Some(k.as_str()));
    assert!(!w!(s.exists(&format!("{p}:plain"))).unwrap());
    // A handle of another pipeline is refused.
    let mut p1 = s.pipeline();
    let h1 = p1.incr_by(&format!("{p}:n"), 1);
    let mut p2 = s.pipeline();
    let _h2 = p2.incr_by(&format!("{p}:n"), 1);
    let mut r2 = w!(s.execute(p2)).unwrap();
    assert!(matches!(r2.take(h1), Err(Error::Unsupported(_))));
});

dual_test!(scripts_with_typed_args_and_results, [Json, Cbor], |s, p| {
    let k = format!("{p}:k");
    let store =
        Script::new("redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])");
    let got: Item = w!(s.eval_script(store.call().key(&k).arg(&item("lua", 7)))).unwrap();
    assert_eq!(got, item("lua", 7));
    // The value the script stored is a normal kvdb value.
    assert_eq!(w!(s.get::<Item>(&k)).unwrap(), Some(item("lua", 7)));
    let table = Script::new("return {1, ARGV[1], redis.call('GET', KEYS[1]), false}");
    let (one, text, stored, none): (i64, String, Item, Option<String>) =
        w!(s.eval_script(table.call().key(&k).arg("txt"))).unwrap();
    assert_eq!(
        (one, text.as_str(), stored, none),
        (1, "txt", item("lua", 7), None)
    );
    let count = Script::new("return #KEYS + #ARGV");
    let n: u32 = w!(s.eval_script(count.call().key("a").key("b").arg(&1).arg(&2).arg(&3))).unwrap();
    assert_eq!(n, 5);
    // A script error names the first key.
    let boom = Script::new("return redis.error_reply('boom')");
    let e = w!(s.eval_script::<String>(boom.call().key(&k))).unwrap_err();
    assert!(matches!(e, Error::Redis { .. }), "{e:?}");
    assert_eq!(e.key(), Some(k.as_str()));
    assert!(e.to_string().contains("boom"), "{e}");
    // A result of the wrong type is a decode error.
    let e = w!(s.eval_script::<Item>(count.call())).unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
});

/// The script is not cached: EVALSHA answers NOSCRIPT, and the call falls back to EVAL
/// (which caches it). SCRIPT FLUSH only on a server this test binary started.
#[test]
fn script_not_cached_falls_back_to_eval() {
    if !kvdb_tests::server().is_owned() {
        eprintln!("KVDB_TEST_URL is set: SCRIPT FLUSH is not run on a server the tests do not own");
        return;
    }
    let (s, p) = kvdb_tests::session(kvdb_tests::options("script"));
    let unique = Script::new(&format!("return '{p}'"));
    let exists = |s: &kvdb::Session| -> bool {
        let v: Vec<bool> = s
            .query(kvdb::redis::cmd("SCRIPT").arg("EXISTS").arg(unique.hash()))
            .unwrap();
        v == [true]
    };
    s.query::<()>(kvdb::redis::cmd("SCRIPT").arg("FLUSH"))
        .unwrap();
    assert!(!exists(&s));
    let got: String = s.eval_script(unique.call()).unwrap();
    assert_eq!(got, p);
    assert!(exists(&s), "EVAL cached the script");
    // Cached now: EVALSHA runs it directly.
    assert_eq!(s.eval_script::<String>(unique.call()).unwrap(), p);
}

#[tokio::test]
async fn async_script_not_cached_falls_back_to_eval() {
    if !kvdb_tests::server().is_owned() {
        return;
    }
    let (s, p) = kvdb_tests::session(kvdb_tests::options("script"));
    let s = s.aio();
    let unique = Script::new(&format!("return '{p}-async'"));
    s.query::<()>(kvdb::redis::cmd("SCRIPT").arg("FLUSH"))
        .await
        .unwrap();
    let got: String = s.eval_script(unique.call()).await.unwrap();
    assert_eq!(got, format!("{p}-async"));
}

dual_test!(lock_has_one_holder_at_a_time, [Json], |s, p| {
    let name = format!("{p}:lock");
    let ttl = Duration::from_secs(10);
    let first = w!(s.try_lock(&name, ttl)).unwrap().expect("free");
    assert_eq!(first.key(), name);
    assert!(w!(s.try_lock(&name, ttl)).unwrap().is_none());
    let start = Instant::now();
    assert!(
        w!(s.try_lock_for(&name, ttl, Duration::from_millis(150)))
            .unwrap()
            .is_none()
    );
    assert!(
        start.elapsed() >= Duration::from_millis(140),
        "{:?}",
        start.elapsed()
    );
    // Someone else's token cannot release it.
    assert!(!w!(s.release_lock(&name, "not-the-token")).unwrap());
    assert!(w!(first.release()).unwrap());
    let second = w!(s.try_lock(&name, ttl)).unwrap().expect("released");
    let token = second.token().to_owned();
    drop(second); // sync: released now; async: released by a spawned task
    let third = w!(s.lock(&name, ttl)).unwrap();
    assert_ne!(third.token(), token);
    // An expired lock can be taken again; the old guard's release then reports false.
    let short = format!("{p}:short");
    let old = w!(s.try_lock(&short, Duration::from_millis(50)))
        .unwrap()
        .expect("free");
    std::thread::sleep(Duration::from_millis(100));
    let new = w!(s.try_lock(&short, ttl)).unwrap().expect("expired");
    assert!(!w!(old.release()).unwrap());
    assert_eq!(
        w!(s.get::<String>(&short)).unwrap().as_deref(),
        Some(new.token())
    );
    assert!(w!(new.release()).unwrap());
    // A zero ttl is refused, not sent.
    assert!(matches!(
        w!(s.try_lock(&short, Duration::ZERO)),
        Err(Error::InvalidTtl { .. })
    ));
});

/// Two threads contend for one lock with `lock` (waiting): never both inside; after the
/// winner releases, the other gets it.
#[test]
fn two_contenders_take_turns() {
    let (s, p) = kvdb_tests::session(kvdb_tests::options("lock"));
    let name = format!("{p}:lock");
    let inside = Arc::new(AtomicUsize::new(0));
    let entries = Arc::new(AtomicUsize::new(0));
    let guard = s
        .try_lock(&name, Duration::from_secs(10))
        .unwrap()
        .expect("free");
    let other = {
        let (s, name, inside, entries) = (s.clone(), name.clone(), inside.clone(), entries.clone());
        std::thread::spawn(move || {
            let g = s.lock(&name, Duration::from_secs(10)).unwrap();
            assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders");
            entries.fetch_add(1, Ordering::SeqCst);
            inside.fetch_sub(1, Ordering::SeqCst);
            g.release().unwrap()
        })
    };
    inside.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        entries.load(Ordering::SeqCst),
        0,
        "the other contender must wait"
    );
    inside.fetch_sub(1, Ordering::SeqCst);
    assert!(guard.release().unwrap());
    assert!(
        other.join().unwrap(),
        "the other contender got the lock after the release"
    );
    assert_eq!(entries.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_contenders_take_turns() {
    let (s, p) = kvdb_tests::session(kvdb_tests::options("lock"));
    let s = s.aio();
    let name = format!("{p}:lock");
    let holders = Arc::new(AtomicUsize::new(0));
    let max = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (s, name, holders, max) = (s.clone(), name.clone(), holders.clone(), max.clone());
        tasks.push(tokio::spawn(async move {
            let g = s.lock(&name, Duration::from_secs(10)).await.unwrap();
            let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
            max.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(30)).await;
            holders.fetch_sub(1, Ordering::SeqCst);
            g.release().await.unwrap()
        }));
    }
    for t in tasks {
        assert!(t.await.unwrap());
    }
    assert_eq!(max.load(Ordering::SeqCst), 1, "never two holders at once");
    assert!(
        s.try_lock(&name, Duration::from_secs(1))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn async_guard_dropped_releases_in_the_background() {
    let (s, p) = kvdb_tests::session(kvdb_tests::options("lock"));
    let s = s.aio();
    let name = format!("{p}:lock");
    drop(
        s.try_lock(&name, Duration::from_secs(30))
            .await
            .unwrap()
            .expect("free"),
    );
    let again = s
        .try_lock_for(&name, Duration::from_secs(30), Duration::from_secs(2))
        .await
        .unwrap();
    assert!(again.is_some(), "the dropped guard's lock was released");
}

dual_test!(
    lock_timeout_gives_up_after_its_wait_and_extend_keeps_the_lock,
    [Json],
    |s, p| {
        let name = format!("{p}:lock");
        let held = w!(s.lock(&name, Duration::from_secs(30))).unwrap();
        // The lock lives for its ttl, in milliseconds.
        let ttl = w!(s.pttl(&name)).unwrap().remaining().unwrap();
        assert!(
            ttl > Duration::from_secs(25) && ttl <= Duration::from_secs(30),
            "{ttl:?}"
        );
        // Held by someone else: lock_timeout waits, then gives up with a timeout error.
        let started = Instant::now();
        let err = w!(s.lock_timeout(&name, Duration::from_secs(5), Duration::from_millis(300)))
            .unwrap_err();
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "waited {:?}",
            started.elapsed()
        );
        assert!(err.is_timeout(), "{err}");
        assert!(
            matches!(&err, Error::LockTimeout { name: n, waited } if *n == name && *waited == Duration::from_millis(300)),
            "{err:?}"
        );
        // extend gives the held lock a new ttl from now.
        assert!(w!(held.extend(Duration::from_secs(120))).unwrap());
        let ttl = w!(s.pttl(&name)).unwrap().remaining().unwrap();
        assert!(ttl > Duration::from_secs(100), "extended to {ttl:?}");
        assert!(w!(held.release()).unwrap());
        // Free: lock_timeout takes it at once.
        let again =
            w!(s.lock_timeout(&name, Duration::from_millis(80), Duration::from_secs(5))).unwrap();
        // Once it has expired and someone else took it, extend says so and changes nothing.
        std::thread::sleep(Duration::from_millis(150));
        let other = w!(s.try_lock(&name, Duration::from_secs(60)))
            .unwrap()
            .unwrap();
        assert!(!w!(again.extend(Duration::from_secs(600))).unwrap());
        let ttl = w!(s.pttl(&name)).unwrap().remaining().unwrap();
        assert!(
            ttl <= Duration::from_secs(60),
            "the other holder's ttl is untouched: {ttl:?}"
        );
        assert!(w!(other.release()).unwrap());
    }
);

dual_test!(pipeline_of_models_atomic_or_not, [Json, Cbor], |s, p| {
    for atomic in [false, true] {
        let id = |n: u32| format!("{p}-{atomic}-{n}");
        let mut pipe = s.pipeline();
        if atomic {
            pipe = pipe.atomic();
        }
        let set = pipe.set_model(&Widget { id: id(1), size: 1 });
        let set_ex = pipe.set_model_ex(&Widget { id: id(2), size: 2 }, Duration::from_secs(90));
        let got = pipe.get_model::<Widget>(&id(1));
        let none = pipe.get_model::<Widget>(&id(9));
        let exists = pipe.exists_model::<Widget>(id(2).as_str());
        let any = pipe.get_any(&kvdb::model::key_of::<Widget>(&id(1)).unwrap());
        let deleted = pipe.delete_model::<Widget>(&id(1));
        let mut r = w!(s.execute(pipe)).unwrap();
        r.take(set).unwrap();
        r.take(set_ex).unwrap();
        assert_eq!(r.take(got).unwrap(), Some(Widget { id: id(1), size: 1 }));
        assert_eq!(r.take(none).unwrap(), None);
        assert!(r.take(exists).unwrap());
        let any = r.take(any).unwrap().unwrap();
        assert_eq!(
            any.downcast::<Widget>().ok(),
            Some(Widget { id: id(1), size: 1 })
        );
        assert!(r.take(deleted).unwrap());
        // Stored as models (tagged, with the TTL asked for): the session reads them back.
        assert_eq!(w!(s.get_model::<Widget>(&id(1))).unwrap(), None);
        assert_eq!(
            w!(s.get_model::<Widget>(&id(2))).unwrap(),
            Some(Widget { id: id(2), size: 2 })
        );
        let key = kvdb::model::key_of::<Widget>(&id(2)).unwrap();
        let ttl = w!(s.ttl(&key)).unwrap().remaining().unwrap();
        assert!(ttl > Duration::from_secs(80), "{ttl:?}");
    }
});

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, kvdb::KvModel)]
#[kv(tag = "batch.Widget", prefix = "widgets")]
struct Widget {
    #[kv(key)]
    id: String,
    size: u32,
}

#[test]
fn a_raw_command_in_a_pipeline_reads_like_session_query() {
    let (s, p) = kvdb_tests::session(kvdb_tests::options("pipe-query"));
    let k = format!("{p}:n");
    s.set(&k, &42).unwrap();
    let mut pipe = s.pipeline();
    let encoding = pipe.query::<String>(kvdb::redis::cmd("OBJECT").arg("ENCODING").arg(&k));
    let strlen = pipe.query::<i64>(kvdb::redis::cmd("STRLEN").arg(&k));
    let mut r = s.execute(pipe).unwrap();
    assert_eq!(r.take(encoding).unwrap(), "int");
    assert_eq!(r.take(strlen).unwrap(), 2);
}

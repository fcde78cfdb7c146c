//! Cache-aside (`get_or_set_with` and `Cache`), sync and async: hits, misses, expiry, negative
//! caching, errors, refresh-ahead, jitter, the per-call modes, invalidation, bad stored values.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kvdb::Error;
use kvdb::cache::{CacheOptions, CallMode};
use kvdb_tests::dual_test;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Report {
    id: u32,
    lines: Vec<String>,
}

fn report(id: u32) -> Report {
    Report {
        id,
        lines: vec![format!("line of {id}")],
    }
}

fn ns(p: &str) -> String {
    format!("{p}-ns")
}

dual_test!(miss_then_hit, [Json, MsgPack], |s, p| {
    let k = format!("{p}:r");
    let n = AtomicU32::new(0);
    let ttl = Duration::from_secs(60);
    let first: Report = w!(s.get_or_set_with(
        &k,
        ttl,
        compute!({
            n.fetch_add(1, Ordering::SeqCst);
            report(1)
        })
    ))
    .unwrap();
    let second: Report = w!(s.get_or_set_with(
        &k,
        ttl,
        compute!({
            n.fetch_add(1, Ordering::SeqCst);
            report(2)
        })
    ))
    .unwrap();
    assert_eq!(first, report(1));
    assert_eq!(
        second,
        report(1),
        "the second call must hit the cached value"
    );
    assert_eq!(
        n.load(Ordering::SeqCst),
        1,
        "one computation for a miss and a hit"
    );
    let left = w!(s.pttl(&k)).unwrap().remaining().unwrap();
    assert!(
        left <= ttl && left > Duration::from_secs(50),
        "stored with its ttl: {left:?}"
    );
});

dual_test!(entries_expire_after_their_ttl, [Json], |s, p| {
    let k = format!("{p}:short");
    let n = AtomicU32::new(0);
    let ttl = Duration::from_millis(150);
    let v: u32 =
        w!(s.get_or_set_with(&k, ttl, compute!(n.fetch_add(1, Ordering::SeqCst) + 10))).unwrap();
    assert_eq!(v, 10);
    let deadline = Instant::now() + Duration::from_secs(10);
    while w!(s.exists(&k)).unwrap() {
        assert!(Instant::now() < deadline, "{k} did not expire");
        std::thread::sleep(Duration::from_millis(20));
    }
    let v: u32 =
        w!(s.get_or_set_with(&k, ttl, compute!(n.fetch_add(1, Ordering::SeqCst) + 10))).unwrap();
    assert_eq!(v, 11, "an expired entry is computed again");
});

dual_test!(
    none_is_cached_only_with_a_negative_ttl,
    [Json, Cbor],
    |s, p| {
        let n = AtomicU32::new(0);
        let plain = s.cache(CacheOptions::new().namespace(ns(&p))).unwrap();
        for _ in 0..2 {
            let v: Option<Report> = w!(plain.get_or_set_with(
                "absent",
                compute!({
                    n.fetch_add(1, Ordering::SeqCst);
                    None
                })
            ))
            .unwrap();
            assert_eq!(v, None);
        }
        assert_eq!(n.load(Ordering::SeqCst), 2, "None is not cached by default");
        assert_eq!(w!(plain.get::<Option<Report>>("absent")).unwrap(), None);

        let negative = s
            .cache(
                CacheOptions::new()
                    .namespace(ns(&p))
                    .negative_ttl(Duration::from_secs(5)),
            )
            .unwrap();
        for _ in 0..2 {
            let v: Option<Report> = w!(negative.get_or_set_with(
                "absent2",
                compute!({
                    n.fetch_add(1, Ordering::SeqCst);
                    None
                })
            ))
            .unwrap();
            assert_eq!(v, None);
        }
        assert_eq!(n.load(Ordering::SeqCst), 3, "a negative ttl caches None");
        let left = w!(s.pttl(&negative.redis_key("absent2")))
            .unwrap()
            .remaining()
            .unwrap();
        assert!(
            left <= Duration::from_secs(5),
            "kept for the negative ttl: {left:?}"
        );
    }
);

dual_test!(errors_are_never_cached_unless_asked, [Json], |s, p| {
    let cache = s.cache(CacheOptions::new().namespace(ns(&p))).unwrap();
    let n = AtomicU32::new(0);
    for _ in 0..2 {
        let r: Result<u32, Error> = w!(cache.get_or_try_set_with(
            "e",
            compute!({
                n.fetch_add(1, Ordering::SeqCst);
                Err(Error::Unsupported("backend down".into()))
            })
        ));
        assert!(
            matches!(r, Err(Error::Unsupported(ref m)) if m == "backend down"),
            "{r:?}"
        );
    }
    assert_eq!(n.load(Ordering::SeqCst), 2, "an error is computed again");
    assert!(!w!(s.exists(&cache.redis_key("e"))).unwrap());

    // A Result value: its Err is not stored by default, and stored with an error ttl.
    for _ in 0..2 {
        let r: Result<u32, String> = w!(cache.get_or_set_with(
            "r",
            compute!({
                n.fetch_add(1, Ordering::SeqCst);
                Err("no".to_string())
            })
        ))
        .unwrap();
        assert_eq!(r, Err("no".to_string()));
    }
    assert_eq!(n.load(Ordering::SeqCst), 4);
    let errors = s
        .cache(
            CacheOptions::new()
                .namespace(ns(&p))
                .error_ttl(Duration::from_secs(5)),
        )
        .unwrap();
    for _ in 0..2 {
        let r: Result<u32, String> = w!(errors.get_or_set_with(
            "r",
            compute!({
                n.fetch_add(1, Ordering::SeqCst);
                Err("no".to_string())
            })
        ))
        .unwrap();
        assert_eq!(r, Err("no".to_string()));
    }
    assert_eq!(
        n.load(Ordering::SeqCst),
        5,
        "with error_ttl the Err is cached"
    );
});

dual_test!(refresh_ahead_recomputes_near_expiry, [Json], |s, p| {
    let cache = s
        .cache(
            CacheOptions::new()
                .namespace(ns(&p))
                .ttl(Duration::from_millis(1500))
                .refresh_ahead(Duration::from_millis(1000)),
        )
        .unwrap();
    let n = AtomicU32::new(0);
    let v: u32 =
        w!(cache.get_or_set_with("k", compute!(n.fetch_add(1, Ordering::SeqCst)))).unwrap();
    assert_eq!(v, 0);
    let v: u32 =
        w!(cache.get_or_set_with("k", compute!(n.fetch_add(1, Ordering::SeqCst)))).unwrap();
    assert_eq!(v, 0, "far from expiry: a plain hit");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = w!(s.pttl(&cache.redis_key("k")))
            .unwrap()
            .remaining()
            .unwrap();
        if left < Duration::from_millis(900) {
            break;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(20));
    }
    let v: u32 =
        w!(cache.get_or_set_with("k", compute!(n.fetch_add(1, Ordering::SeqCst)))).unwrap();
    assert_eq!(v, 1, "within the window the value is recomputed");
    let left = w!(s.pttl(&cache.redis_key("k")))
        .unwrap()
        .remaining()
        .unwrap();
    assert!(
        left > Duration::from_millis(1000),
        "and stored with a fresh ttl: {left:?}"
    );
});

dual_test!(jitter_spreads_ttls, [Json], |s, p| {
    let cache = s
        .cache(
            CacheOptions::new()
                .namespace(ns(&p))
                .ttl(Duration::from_secs(100))
                .jitter(0.5),
        )
        .unwrap();
    let mut ttls = std::collections::BTreeSet::new();
    for i in 0..10 {
        let key = format!("j{i}");
        let _: u32 = w!(cache.get_or_set_with(&key, compute!(i))).unwrap();
        let left = w!(s.pttl(&cache.redis_key(&key)))
            .unwrap()
            .remaining()
            .unwrap();
        assert!(
            left <= Duration::from_secs(150) && left >= Duration::from_secs(49),
            "{left:?}"
        );
        ttls.insert(left.as_secs());
    }
    assert!(
        ttls.len() >= 5,
        "10 jittered ttls should mostly differ: {ttls:?}"
    );
    assert!(matches!(
        s.cache(CacheOptions::new().jitter(1.5)),
        Err(Error::InvalidOption {
            option: "jitter",
            ..
        })
    ));
    assert!(matches!(
        s.cache(CacheOptions::new().ttl(Duration::from_micros(10))),
        Err(Error::InvalidOption { option: "ttl", .. })
    ));
});

dual_test!(disabled_and_per_call_modes, [Json], |s, p| {
    let n = AtomicU32::new(0);
    let off = s
        .cache(CacheOptions::new().namespace(ns(&p)).enabled(false))
        .unwrap();
    for _ in 0..2 {
        let _: u32 =
            w!(off.get_or_set_with("d", compute!(n.fetch_add(1, Ordering::SeqCst)))).unwrap();
    }
    assert_eq!(
        n.load(Ordering::SeqCst),
        2,
        "a disabled cache computes every time"
    );
    assert!(
        !w!(s.exists(&off.redis_key("d"))).unwrap(),
        "and stores nothing"
    );

    let cache = s.cache(CacheOptions::new().namespace(ns(&p))).unwrap();
    let v: u32 = w!(cache.get_or_set_with("m", compute!(1))).unwrap();
    assert_eq!(v, 1);
    let v: u32 = w!(cache
        .with_mode(CallMode::Bypass)
        .get_or_set_with("m", compute!(2)))
    .unwrap();
    assert_eq!(v, 2, "bypass computes");
    assert_eq!(
        w!(cache.get::<u32>("m")).unwrap(),
        Some(1),
        "bypass stores nothing"
    );
    let v: u32 = w!(cache
        .with_mode(CallMode::Overwrite)
        .get_or_set_with("m", compute!(3)))
    .unwrap();
    assert_eq!(v, 3, "overwrite computes");
    assert_eq!(
        w!(cache.get::<u32>("m")).unwrap(),
        Some(3),
        "overwrite stores"
    );
    let v: u32 = w!(cache
        .with_mode(CallMode::Invalidate)
        .get_or_set_with("m", compute!(4)))
    .unwrap();
    assert_eq!(v, 4, "invalidate drops the entry, then computes");
    let v: u32 = w!(cache.get_or_set_with("m", compute!(5))).unwrap();
    assert_eq!(v, 4);
});

dual_test!(invalidation_by_key_and_namespace, [Json], |s, p| {
    let a = s
        .cache(CacheOptions::new().namespace(format!("{p}-a*")))
        .unwrap();
    let b = s
        .cache(CacheOptions::new().namespace(format!("{p}-ab")))
        .unwrap();
    for i in 0..1203u32 {
        let _: u32 = w!(a.get_or_set_with(&i.to_string(), compute!(i))).unwrap();
    }
    let _: u32 = w!(b.get_or_set_with("x", compute!(7))).unwrap();
    assert!(w!(a.invalidate("5")).unwrap());
    assert!(!w!(a.invalidate("5")).unwrap());
    assert_eq!(w!(a.get::<u32>("5")).unwrap(), None);
    assert_eq!(
        w!(a.invalidate_all()).unwrap(),
        1202,
        "every other entry of the namespace"
    );
    assert_eq!(w!(a.get::<u32>("6")).unwrap(), None);
    assert_eq!(
        w!(b.get::<u32>("x")).unwrap(),
        Some(7),
        "a namespace whose name the other's glob would match is untouched"
    );
    let plain = s.cache(CacheOptions::new()).unwrap();
    assert!(matches!(
        w!(plain.invalidate_all()),
        Err(Error::InvalidOption {
            option: "namespace",
            ..
        })
    ));
});

dual_test!(
    a_value_that_does_not_decode_is_an_error_and_stays,
    [Json],
    |s, p| {
        let k = format!("{p}:bad");
        w!(s.set(&k, "not a report")).unwrap();
        let r: kvdb::Result<Report> =
            w!(s.get_or_set_with(&k, Duration::from_secs(9), compute!(report(1))));
        let e = r.unwrap_err();
        assert_eq!(e.key(), Some(k.as_str()), "the error names the key: {e}");
        assert_eq!(
            w!(s.get::<String>(&k)).unwrap().as_deref(),
            Some("not a report"),
            "nothing is deleted because it failed to decode"
        );
    }
);

#[test]
fn fail_open_computes_when_redis_is_down() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let session = kvdb::KVDBClient::get_session(
        kvdb::SessionOptions::new(kvdb_tests::unique("down"))
            .url(format!("redis://127.0.0.1:{port}/0"))
            .connect_timeout(Duration::from_millis(200)),
    )
    .unwrap();
    let strict = session.cache(CacheOptions::new()).unwrap();
    let e = strict.get_or_set_with("k", || 1u32).unwrap_err();
    assert!(e.is_connection_error(), "{e}");
    let open = session.cache(CacheOptions::new().fail_open(true)).unwrap();
    assert_eq!(open.get_or_set_with("k", || 2u32).unwrap(), 2);
}

/// A holder computes "k" for 1.5 s; 300 ms in, a caller that waits only 200 ms asks for it
/// (`then`, or the default, decides what it does when its wait runs out). Returns its result
/// and how long it took.
fn impatient_call(then: Option<kvdb::cache::WaitTimeout>) -> (kvdb::Result<u32>, Duration) {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("wait"));
    let slow = session
        .cache(
            CacheOptions::new()
                .namespace(ns(&p))
                .lock_ttl(Duration::from_secs(10)),
        )
        .unwrap();
    let mut opts = CacheOptions::new()
        .namespace(ns(&p))
        .wait(Duration::from_millis(200));
    if let Some(then) = then {
        opts = opts.on_wait_timeout(then);
    }
    let impatient = session.cache(opts).unwrap();
    std::thread::scope(|scope| {
        let holder = scope.spawn(|| {
            slow.get_or_set_with("k", || {
                std::thread::sleep(Duration::from_millis(1500));
                1u32
            })
        });
        std::thread::sleep(Duration::from_millis(300));
        let started = Instant::now();
        let r = impatient.get_or_set_with("k", || 2u32);
        let took = started.elapsed();
        assert_eq!(holder.join().unwrap().unwrap(), 1, "the holder's own value");
        (r, took)
    })
}

#[test]
fn a_waiter_gives_up_after_its_wait_when_told_to() {
    let (r, took) = impatient_call(Some(kvdb::cache::WaitTimeout::Fail));
    assert!(matches!(r, Err(Error::CacheWait { .. })), "{r:?}");
    assert!(
        took < Duration::from_secs(1),
        "gave up after its 200 ms wait, took {took:?}"
    );
}

#[test]
fn a_waiter_computes_itself_after_its_wait_by_default() {
    let (r, took) = impatient_call(None);
    assert_eq!(r.unwrap(), 2, "computed itself");
    assert!(
        took < Duration::from_secs(1),
        "after its 200 ms wait, took {took:?}"
    );
}

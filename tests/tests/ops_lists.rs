//! List operations and the blocking pop, sync and async.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use kvdb::Error;
use kvdb_tests::dual_test;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Job {
    id: u32,
    args: Vec<String>,
}

fn job(id: u32) -> Job {
    Job {
        id,
        args: vec![format!("arg{id}")],
    }
}

dual_test!(push_pop_range_len, [Json, Cbor, MsgPack], |s, p| {
    let k = format!("{p}:l");
    assert_eq!(w!(s.rpush(&k, &[job(2), job(3)])).unwrap(), 2);
    assert_eq!(w!(s.lpush(&k, &[job(1), job(0)])).unwrap(), 4);
    assert_eq!(w!(s.llen(&k)).unwrap(), 4);
    assert_eq!(
        w!(s.lrange::<Job>(&k, 0, -1)).unwrap(),
        vec![job(0), job(1), job(2), job(3)]
    );
    assert_eq!(w!(s.lrange::<Job>(&k, 1, 2)).unwrap(), vec![job(1), job(2)]);
    assert_eq!(w!(s.lpop::<Job>(&k)).unwrap(), Some(job(0)));
    assert_eq!(w!(s.rpop::<Job>(&k)).unwrap(), Some(job(3)));
    assert_eq!(w!(s.llen(&k)).unwrap(), 2);
    assert_eq!(w!(s.lpop::<Job>(&format!("{p}:none"))).unwrap(), None);
    assert!(
        w!(s.lrange::<Job>(&format!("{p}:none"), 0, -1))
            .unwrap()
            .is_empty()
    );
});

dual_test!(
    blpop_returns_an_element_or_times_out,
    [Json, MsgPack],
    |s, p| {
        let (a, b) = (format!("{p}:a"), format!("{p}:b"));
        w!(s.rpush(&b, &[job(7)])).unwrap();
        assert_eq!(
            w!(s.blpop::<Job>(&[&a, &b], Duration::from_secs(1))).unwrap(),
            Some((b.clone(), job(7)))
        );
        let start = Instant::now();
        assert_eq!(
            w!(s.blpop::<Job>(&[&a, &b], Duration::from_millis(300))).unwrap(),
            None
        );
        assert!(
            start.elapsed() >= Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
    }
);

dual_test!(
    a_list_element_of_the_wrong_shape_names_the_key,
    [Json],
    |s, p| {
        let k = format!("{p}:l");
        w!(s.rpush(&k, &["not a job"])).unwrap();
        let e = w!(s.lrange::<Job>(&k, 0, -1)).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert_eq!(e.key(), Some(k.as_str()));
        let s2 = format!("{p}:s");
        w!(s.set(&s2, "x")).unwrap();
        let e = w!(s.lpop::<String>(&s2)).unwrap_err();
        assert!(e.to_string().contains("WRONGTYPE"), "{e}");
        assert_eq!(e.key(), Some(s2.as_str()));
    }
);

/// BLPOP longer than the session's response timeout: the wait is added to the timeout, so
/// the call is not cut short.
#[test]
fn blpop_may_wait_longer_than_the_response_timeout() {
    let (s, p) = kvdb_tests::session(
        kvdb_tests::options("blpop").response_timeout(Some(Duration::from_millis(200))),
    );
    let k = format!("{p}:q");
    let pusher = {
        let s = s.clone();
        let k = k.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(600));
            s.rpush(&k, &["late"]).unwrap()
        })
    };
    let got = s.blpop::<String>(&[&k], Duration::from_secs(5)).unwrap();
    assert_eq!(got, Some((k, "late".to_owned())));
    pusher.join().unwrap();
    // The pooled connection got its usual timeout back.
    assert_eq!(s.incr(&format!("{p}:n")).unwrap(), 1);
}

/// An async BLPOP runs on a connection of its own: the shared connection keeps serving
/// other calls meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_blpop_does_not_stall_the_shared_connection() {
    let (s, p) = kvdb_tests::session(
        kvdb_tests::options("blpop").response_timeout(Some(Duration::from_millis(300))),
    );
    let s = s.aio();
    let k = format!("{p}:q");
    let waiter = {
        let s = s.clone();
        let k = k.clone();
        tokio::spawn(async move { s.blpop::<u32>(&[&k], Duration::from_secs(5)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    for i in 0..20 {
        assert_eq!(s.incr(&format!("{p}:n")).await.unwrap(), i + 1);
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    s.rpush(&k, &[42u32]).await.unwrap();
    assert_eq!(waiter.await.unwrap().unwrap(), Some((k, 42)));
}

//! Redis Cluster sessions: every operation family, sync and async, against a 3-primary cluster
//! started for this test binary (loopback, no persistence): keys spread over slots, the
//! cross-slot error of atomic operations, calls with empty lists, pub/sub, pools shared by
//! node set and their health. Models: `cluster_models.rs`; failover and slot moves:
//! `cluster_topology.rs`.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kvdb::{Error, KVDBClient, Script, SessionOptions, key_slot};
use kvdb_tests::unique;

#[path = "support/test_cluster.rs"]
mod test_cluster;
use test_cluster::{CLUSTER, Item, session};

kvdb_tests::dual_test!(strings_across_slots, with(session), |s, p| {
    let keys: Vec<String> = (0..40).map(|i| format!("{p}:k{i}")).collect();
    let slots: std::collections::HashSet<u16> = keys.iter().map(key_slot).collect();
    assert!(slots.len() > 30, "the keys spread over slots");
    let pairs: Vec<(&str, u32)> = keys.iter().zip(0..).map(|(k, i)| (k.as_str(), i)).collect();
    w!(s.mset(&pairs)).unwrap();
    let mut asked: Vec<&str> = keys.iter().map(String::as_str).rev().collect();
    asked.insert(3, "no-such-key-anywhere");
    let got: Vec<Option<u32>> = w!(s.mget(&asked)).unwrap();
    let mut want: Vec<Option<u32>> = (0..40).rev().map(Some).collect();
    want.insert(3, None);
    assert_eq!(got, want);
    w!(s.set(&keys[0], "text")).unwrap();
    assert_eq!(
        w!(s.get::<String>(&keys[0])).unwrap().as_deref(),
        Some("text")
    );
    assert_eq!(w!(s.incr(&keys[1])).unwrap(), 2);
    assert_eq!(w!(s.get_del::<i64>(&keys[1])).unwrap(), Some(2));
    // A key of another type reads as None, as MGET does.
    let list = format!("{p}:list");
    w!(s.rpush(&list, &[1])).unwrap();
    let got: Vec<Option<u32>> = w!(s.mget(&[list.as_str(), keys[3].as_str()])).unwrap();
    assert_eq!(got, [None, Some(3)]);
});

kvdb_tests::dual_test!(keys_across_slots, with(session), |s, p| {
    let keys: Vec<String> = (0..10).map(|i| format!("{p}:d{i}")).collect();
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    for k in &keys[..7] {
        w!(s.set(k, &1)).unwrap();
    }
    assert!(w!(s.exists(&keys[0])).unwrap());
    assert!(w!(s.expire(&keys[0], Duration::from_secs(100))).unwrap());
    assert!(w!(s.ttl(&keys[0])).unwrap().remaining().is_some());
    assert_eq!(w!(s.delete(&refs)).unwrap(), 7);
    assert!(!w!(s.exists(&keys[0])).unwrap());
    // RENAME is atomic: fine within a slot, a CrossSlot error across slots.
    let (a, b) = (format!("{{{p}}}:a"), format!("{{{p}}}:b"));
    w!(s.set(&a, &1)).unwrap();
    w!(s.rename(&a, &b)).unwrap();
    assert_eq!(w!(s.get::<i64>(&b)).unwrap(), Some(1));
    let other = format!("{p}:elsewhere");
    assert_ne!(key_slot(&b), key_slot(&other));
    match w!(s.rename(&b, &other)) {
        Err(Error::CrossSlot { keys_and_slots, .. }) => {
            assert_eq!(
                keys_and_slots,
                [(b.clone(), key_slot(&b)), (other.clone(), key_slot(&other))]
            );
        }
        other => panic!("expected CrossSlot, got {other:?}"),
    }
});

kvdb_tests::dual_test!(hashes_lists_sets_zsets, with(session), |s, p| {
    let h = format!("{p}:h");
    assert!(w!(s.hset(&h, "f", &vec![1, 2])).unwrap());
    assert_eq!(w!(s.hget::<Vec<i32>>(&h, "f")).unwrap(), Some(vec![1, 2]));
    assert_eq!(w!(s.hincr_by(&h, "n", 5)).unwrap(), 5);
    assert_eq!(w!(s.hlen(&h)).unwrap(), 2);
    let l = format!("{p}:l");
    assert_eq!(w!(s.rpush(&l, &["a", "b"])).unwrap(), 2);
    assert_eq!(w!(s.lrange::<String>(&l, 0, -1)).unwrap(), ["a", "b"]);
    let popped = w!(s.blpop::<String>(&[l.as_str()], Duration::from_secs(1))).unwrap();
    assert_eq!(popped, Some((l.clone(), "a".to_string())));
    let st = format!("{p}:s");
    assert_eq!(w!(s.sadd(&st, &[1, 2, 2])).unwrap(), 2);
    assert!(w!(s.sismember(&st, &2)).unwrap());
    let z = format!("{p}:z");
    assert!(w!(s.zadd(&z, "x", 2.0)).unwrap());
    assert!(w!(s.zadd(&z, "y", 1.0)).unwrap());
    assert_eq!(w!(s.zrange::<String>(&z, 0, -1)).unwrap(), ["y", "x"]);
    // BLPOP over keys in several slots cannot run on one node.
    let far = format!("{p}:far");
    assert_ne!(key_slot(&l), key_slot(&far));
    let e = w!(s.blpop::<String>(&[l.as_str(), far.as_str()], Duration::from_secs(1)));
    assert!(matches!(e, Err(Error::CrossSlot { .. })), "{e:?}");
});

kvdb_tests::dual_test!(pipelines, with(session), |s, p| {
    // A plain pipeline spans slots: each command goes to its node.
    let mut pipe = s.pipeline().keep_errors();
    let keys: Vec<String> = (0..20).map(|i| format!("{p}:p{i}")).collect();
    for (i, k) in keys.iter().enumerate() {
        let _ = pipe.set(k, &i);
    }
    let n = pipe.incr_by(&keys[3], 10);
    let wrong = pipe.hget::<i64>(&keys[4], "f");
    let got = pipe.get::<i64>(&keys[19]);
    let mut r = w!(s.execute(pipe)).unwrap();
    assert_eq!(r.take(n).unwrap(), 13);
    assert!(r.take(wrong).is_err(), "WRONGTYPE stays with its command");
    assert_eq!(r.take(got).unwrap(), Some(19));
    // An atomic pipeline within one slot runs; across slots it is refused, naming the slots.
    let (a, b) = (format!("{{{p}}}:x"), format!("{{{p}}}:y"));
    let mut tx = s.pipeline().atomic();
    let _ = tx.set(&a, &1);
    let y = tx.incr_by(&b, 2);
    assert_eq!(w!(s.execute(tx)).unwrap().take(y).unwrap(), 2);
    let mut tx = s.pipeline().atomic();
    let _ = tx.set(&a, &1);
    let _ = tx.set(&keys[0], &1);
    match w!(s.execute(tx)) {
        Err(e @ Error::CrossSlot { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains(&format!("(slot {})", key_slot(&keys[0]))),
                "{text}"
            );
        }
        other => panic!("expected CrossSlot, got {other:?}"),
    }
});

kvdb_tests::dual_test!(scripts_and_locks, with(session), |s, p| {
    let script =
        Script::new("redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[2])");
    let (a, b) = (format!("{{{p}}}:a"), format!("{{{p}}}:b"));
    w!(s.set(&b, &7)).unwrap();
    let v: Option<i64> =
        w!(s.eval_script(script.call().key(a.clone()).key(b.clone()).arg(&1))).unwrap();
    assert_eq!(v, Some(7));
    let far = format!("{p}:far");
    let e = w!(s.eval_script::<Option<i64>>(script.call().key(a.clone()).key(far.clone()).arg(&1)));
    assert!(matches!(e, Err(Error::CrossSlot { .. })), "{e:?}");
    let lock = w!(s.try_lock(&format!("{p}:lock"), Duration::from_secs(5))).unwrap();
    assert!(lock.is_some());
    assert!(
        w!(s.try_lock(&format!("{p}:lock"), Duration::from_secs(5)))
            .unwrap()
            .is_none()
    );
});

kvdb_tests::dual_test!(server_commands_and_query, with(session), |s, p| {
    w!(s.ping()).unwrap();
    w!(s.set(&format!("{p}:one"), &1)).unwrap();
    assert!(w!(s.dbsize()).unwrap() >= 1);
    let info = w!(s.info(Some("server"))).unwrap();
    assert_eq!(
        info.matches("redis_version").count(),
        3,
        "one part per primary"
    );
    let slot: i64 = w!(s.query(kvdb::redis::cmd("CLUSTER").arg("KEYSLOT").arg("foo"))).unwrap();
    assert_eq!(slot, 12182);
    let keys = w!(s.keys(&format!("{p}:*"))).unwrap();
    assert_eq!(keys, [format!("{p}:one")]);
});

#[tokio::test]
async fn pubsub_through_the_cluster() {
    let (s, p) = session("pubsub");
    let channel = format!("{p}:ch");
    let mut sub = s.aio().subscribe::<String>(&[&channel]).await.unwrap();
    // Published on whichever node; a cluster broadcasts it to every node.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        s.aio().publish(&channel, "hello").await.unwrap();
        if let Some(event) = sub.next_timeout(Duration::from_millis(200)).await {
            let m = event
                .into_message()
                .expect("a message, the connection is fine");
            assert_eq!(m.payload.unwrap(), "hello");
            break;
        }
        assert!(Instant::now() < deadline, "no message");
    }
    // A pattern added on the live subscription matches wherever the message is published.
    let pattern = format!("{p}:pat:*");
    sub.psubscribe(&[&pattern]).await.unwrap();
    let pch = format!("{p}:pat:x");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        s.aio().publish(&pch, "matched").await.unwrap();
        let mut matched = false;
        while let Some(event) = sub.next_timeout(Duration::from_millis(200)).await {
            let m = event
                .into_message()
                .expect("a message, the connection is fine");
            // Skip any later copy of the first loop's message.
            if m.channel != channel {
                assert_eq!((m.channel, m.pattern), (pch.clone(), Some(pattern.clone())));
                matched = true;
                break;
            }
        }
        if matched {
            break;
        }
        assert!(Instant::now() < deadline, "no message on the pattern");
    }
}

#[test]
fn cluster_sessions_share_pools_by_node_set() {
    let urls = CLUSTER.url();
    let nodes: Vec<&str> = urls
        .trim_start_matches("redis+cluster://")
        .split(',')
        .collect();
    let a = KVDBClient::get_session(SessionOptions::new(unique("pa")).url(&urls)).unwrap();
    let reversed: Vec<&str> = nodes.iter().rev().copied().collect();
    let b =
        KVDBClient::get_session(SessionOptions::new(unique("pb")).cluster_nodes(reversed)).unwrap();
    let c = KVDBClient::get_session(
        SessionOptions::new(unique("pc")).cluster_nodes(nodes[..1].iter().copied()),
    )
    .unwrap();
    assert!(a.shares_pool_with(&b));
    assert!(
        !a.shares_pool_with(&c),
        "another seed list is another fingerprint"
    );
    c.ping().unwrap();
    let e = KVDBClient::get_session(SessionOptions::new(unique("pd")).url(format!("{urls}/2")));
    assert!(matches!(e, Err(Error::InvalidOption { .. })));
    let secret = KVDBClient::get_session(
        SessionOptions::new(unique("pe"))
            .url(urls.replace("redis+cluster://", "redis+cluster://u:s3cret@")),
    )
    .unwrap();
    assert!(!format!("{secret:?} {}", secret.url()).contains("s3cret"));
    let err = secret.ping().unwrap_err().to_string();
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn health_lists_the_pool_and_check_health_reads_the_primaries() {
    let (s, _) = session("health");
    let mine = |all: Vec<kvdb::PoolHealth>| {
        all.into_iter()
            .find(|p| p.sessions.iter().any(|n| n == s.name()))
            .unwrap()
    };
    // No I/O: the seed nodes.
    let before = mine(KVDBClient::health());
    assert_eq!(before.mode, kvdb::Mode::Cluster);
    assert!(!before.tls);
    assert_eq!(before.nodes.len(), 3);
    assert_eq!(before.check, None);
    // With a round trip: the primaries from CLUSTER SLOTS, and how long the PING took.
    let after = mine(KVDBClient::check_health());
    println!("{after:?}");
    assert!(matches!(after.check, Some(Ok(_))), "{after:?}");
    let mut want: Vec<String> = CLUSTER
        .primary_ports()
        .iter()
        .map(|p| format!("127.0.0.1:{p}"))
        .collect();
    want.sort();
    assert_eq!(after.nodes, want);
    assert!(after.connections >= 1, "{after:?}");
}

kvdb_tests::dual_test!(
    empty_calls_answer_without_a_round_trip,
    with(session),
    |s, p| {
        // Each would be a syntax error in Redis; a cluster could not even route it.
        let none: [&str; 0] = [];
        assert_eq!(
            w!(s.mget::<String>(&none)).unwrap(),
            Vec::<Option<String>>::new()
        );
        w!(s.mset::<i32>(&[])).unwrap();
        assert_eq!(w!(s.delete(&none)).unwrap(), 0);
        assert_eq!(w!(s.hdel(&format!("{p}:h"), &none)).unwrap(), 0);
        assert_eq!(w!(s.sadd::<i32>(&format!("{p}:s"), &[])).unwrap(), 0);
        assert_eq!(w!(s.zrem::<i32>(&format!("{p}:z"), &[])).unwrap(), 0);
        assert_eq!(w!(s.get_models::<Item>(&[] as &[u64])).unwrap(), vec![]);
        let mut pipe = s.pipeline();
        let del = pipe.delete(&none);
        let n = pipe.incr_by(&format!("{p}:n"), 2);
        let mut r = w!(s.execute(pipe)).unwrap();
        assert_eq!((r.take(del).unwrap(), r.take(n).unwrap()), (0, 2));
    }
);

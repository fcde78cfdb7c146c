//! Redis Cluster sessions: every operation family, sync and async, against a 3-primary cluster
//! started for this test binary (loopback, no persistence); models across all slots; the
//! cross-slot error; hash-tagged model families; a failover on a cluster of its own.
#![allow(clippy::unwrap_used)]

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kvdb::testing::TestCluster;
use kvdb::{Error, KVDBClient, KvModel, ScanOptions, Script, Serializer, SessionOptions, key_slot};
use kvdb_tests::unique;
use serde::{Deserialize, Serialize};

static CLUSTER: LazyLock<TestCluster> = LazyLock::new(|| {
    TestCluster::start(3, 0).unwrap_or_else(|e| panic!("the cluster tests need redis-server: {e}"))
});

fn session(what: &str) -> (kvdb::Session, String) {
    let s = KVDBClient::get_session(
        SessionOptions::new(unique(what))
            .url(CLUSTER.url())
            .serializer(Serializer::Json),
    )
    .unwrap();
    (s, unique("c"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "cl.Item", prefix = "cl:items")]
struct Item {
    #[kv(key)]
    id: u64,
    name: String,
}

/// A model family kept in one slot: every order line of an order shares its hash tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "cl.Line",
    key = "cl:order:{order}:line:{n}",
    hash_tag = "{order}"
)]
struct Line {
    order: String,
    n: u32,
    sku: String,
}

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

kvdb_tests::dual_test!(models_across_all_slots, with(session), |s, p| {
    let base = 10_000 + 10_000 * (p.rsplit('-').next().unwrap().parse::<u64>().unwrap() % 1000);
    let items: Vec<Item> = (0..1000)
        .map(|i| Item {
            id: base + i,
            name: format!("item {i}"),
        })
        .collect();
    w!(s.set_models(&items)).unwrap();
    // Reversed, with gaps: results come back in the caller's order.
    let mut ids: Vec<u64> = items.iter().map(|i| i.id).rev().collect();
    ids.insert(500, 1);
    let got = w!(s.get_models::<Item>(&ids)).unwrap();
    assert_eq!(got.len(), 1001);
    assert_eq!(got[500], None);
    let mut want: Vec<Option<Item>> = items.iter().cloned().rev().map(Some).collect();
    want.insert(500, None);
    assert_eq!(got, want);
    let slots: std::collections::HashSet<u16> = items
        .iter()
        .map(|i| key_slot(kvdb::model::model_key(i).unwrap()))
        .collect();
    assert!(slots.len() > 900, "1000 models over {} slots", slots.len());
    // update_model's WATCH/MULTI/EXEC is on one key: one slot.
    let up = w!(s.update_model::<Item, _>(&items[7].id, |i| i.name.push('!'))).unwrap();
    assert_eq!(up.unwrap().name, "item 7!");
});

#[test]
fn scan_and_scan_models_walk_every_primary() {
    let (s, p) = session("scan");
    let base = 50_000_000;
    let items: Vec<Item> = (0..300)
        .map(|i| Item {
            id: base + i,
            name: p.clone(),
        })
        .collect();
    s.set_models(&items).unwrap();
    let mut found: Vec<u64> = s
        .scan_models::<Item>()
        .unwrap()
        .map(Result::unwrap)
        .filter(|i| i.name == p)
        .map(|i| i.id)
        .collect();
    found.sort_unstable();
    found.dedup();
    assert_eq!(found, items.iter().map(|i| i.id).collect::<Vec<_>>());
    for i in 0..50 {
        s.set(&format!("{p}:scan:{i}"), &i).unwrap();
    }
    let mut keys: Vec<String> = s
        .scan(ScanOptions::new().pattern(format!("{p}:scan:*")).count(20))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 50);
}

#[tokio::test]
async fn async_scan_models_and_scan_stream() {
    let (s, p) = session("ascan");
    let s = s.aio();
    let base = 60_000_000;
    let items: Vec<Item> = (0..200)
        .map(|i| Item {
            id: base + i,
            name: p.clone(),
        })
        .collect();
    s.set_models(&items).await.unwrap();
    let mut found: Vec<u64> = s
        .scan_models::<Item>()
        .unwrap()
        .map(Result::unwrap)
        .filter(|i| std::future::ready(i.name == p))
        .map(|i| i.id)
        .collect()
        .await;
    found.sort_unstable();
    found.dedup();
    assert_eq!(found.len(), 200);
    for i in 0..30 {
        s.set(&format!("{p}:scan:{i}"), &i).await.unwrap();
    }
    let stream = s
        .scan(ScanOptions::new().pattern(format!("{p}:scan:*")))
        .unwrap();
    let mut keys: Vec<String> = stream.map(Result::unwrap).collect().await;
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 30);
}

#[test]
fn hash_tagged_model_family_stays_in_one_slot() {
    let (s, p) = session("tagged");
    let lines: Vec<Line> = (0..20)
        .map(|n| Line {
            order: p.clone(),
            n,
            sku: format!("sku-{n}"),
        })
        .collect();
    s.set_models(&lines).unwrap();
    let mut slots = std::collections::HashSet::new();
    for line in &lines {
        let key = kvdb::model::model_key(line).unwrap();
        let server_slot: i64 = s
            .query(kvdb::redis::cmd("CLUSTER").arg("KEYSLOT").arg(&key))
            .unwrap();
        assert_eq!(server_slot, i64::from(key_slot(&key)));
        slots.insert(server_slot);
    }
    assert_eq!(slots.len(), 1, "the whole order is in one slot");
    // So an atomic pipeline over the family runs.
    let mut tx = s.pipeline().atomic();
    for line in &lines[..3] {
        let _ = tx.delete(&[kvdb::model::model_key(line).unwrap().as_str()]);
    }
    s.execute(tx).unwrap();
    let keys: Vec<(String, u32)> = lines.iter().map(|l| (l.order.clone(), l.n)).collect();
    let got = s.get_models::<Line>(&keys).unwrap();
    assert!(got[..3].iter().all(Option::is_none));
    assert!(got[3..].iter().all(Option::is_some));
}

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

/// A manual failover (`CLUSTER FAILOVER` on a replica): the same sessions keep working.
#[test]
fn sessions_follow_a_failover() {
    let cluster = TestCluster::start(3, 1).unwrap();
    let session = KVDBClient::get_session(
        SessionOptions::new(unique("failover"))
            .url(cluster.url())
            .serializer(Serializer::Json)
            // A request caught on the demoted node may wait for its reply until this runs out.
            .response_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let items: Vec<Item> = (0..200)
        .map(|i| Item {
            id: i,
            name: "before".into(),
        })
        .collect();
    session.set_models(&items).unwrap();
    rt.block_on(session.aio().set("k", &1)).unwrap();
    // Promote the replica of the first primary.
    let replica = cluster.replica_ports()[0];
    let client = kvdb::redis::Client::open(format!("redis://127.0.0.1:{replica}/")).unwrap();
    let mut conn = client.get_connection().unwrap();
    kvdb::redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .exec(&mut conn)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let role: Vec<kvdb::redis::Value> = kvdb::redis::cmd("ROLE").query(&mut conn).unwrap();
        if matches!(&role[0], kvdb::redis::Value::BulkString(b) if b == b"master") {
            break;
        }
        assert!(Instant::now() < deadline, "the replica was not promoted");
        std::thread::sleep(Duration::from_millis(10));
    }
    let promoted = Instant::now();
    // The async connection first: how soon after the promotion does it write again?
    let deadline = promoted + Duration::from_secs(15);
    loop {
        match rt.block_on(session.aio().set("k", &2)) {
            Ok(()) => break,
            Err(e) if Instant::now() < deadline => {
                eprintln!("async set after the manual failover: {e}");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("async set after the manual failover: {e}"),
        }
    }
    println!(
        "manual failover: async writes again {:?} after the promotion",
        promoted.elapsed()
    );
    cluster.wait_ok(Duration::from_secs(20)).unwrap();
    // The same session, sync and async: a failed first try is allowed while the cluster
    // settles (a redirection the client follows), but it must recover quickly.
    let ids: Vec<u64> = (0..200).collect();
    let retry = |what: &str, mut f: Box<dyn FnMut() -> kvdb::Result<()> + '_>| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match f() {
                Ok(()) => return,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("{what} after failover: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("{what} after failover: {e}"),
            }
        }
    };
    retry(
        "get_models",
        Box::new(|| {
            let got = session.get_models::<Item>(&ids)?;
            assert!(got.iter().all(Option::is_some));
            Ok(())
        }),
    );
    retry(
        "set_models",
        Box::new(|| {
            let after: Vec<Item> = (0..200)
                .map(|i| Item {
                    id: i,
                    name: "after".into(),
                })
                .collect();
            session.set_models(&after)
        }),
    );
    retry(
        "async",
        Box::new(|| {
            rt.block_on(async {
                session.aio().incr("k").await?;
                let got = session.aio().get_models::<Item>(&ids).await?;
                assert!(got.iter().all(|i| i.as_ref().unwrap().name == "after"));
                Ok(())
            })
        }),
    );
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

/// A transaction over one order's lines (one hash tag, one slot) commits on the cluster; over
/// keys in several slots it is refused before anything is sent.
#[test]
fn transactions_in_one_slot_commit_and_across_slots_are_refused() {
    let (s, p) = session("cl-tx");
    let lines = [
        Line {
            order: p.clone(),
            n: 1,
            sku: "a".into(),
        },
        Line {
            order: p.clone(),
            n: 2,
            sku: "b".into(),
        },
    ];
    s.set_models(&lines).unwrap();
    let keys: Vec<String> = lines
        .iter()
        .map(|l| kvdb::model::model_key(l).unwrap())
        .collect();
    let swapped = s
        .transaction(&[&keys[0], &keys[1]], |tx| {
            let mut one = tx.get_model::<Line>(&(p.as_str(), 1))?.unwrap();
            let mut two = tx.get_model::<Line>(&(p.as_str(), 2))?.unwrap();
            std::mem::swap(&mut one.sku, &mut two.sku);
            tx.set_model(&one).set_model(&two);
            Ok::<_, Error>(true)
        })
        .unwrap();
    assert!(swapped);
    assert_eq!(
        s.get_model::<Line>(&(p.as_str(), 1)).unwrap().unwrap().sku,
        "b"
    );
    assert_eq!(
        s.get_model::<Line>(&(p.as_str(), 2)).unwrap().unwrap().sku,
        "a"
    );

    let (a, b) = (format!("{p}:a"), format!("{p}:b"));
    assert_ne!(key_slot(&a), key_slot(&b), "the test needs two slots");
    let err = s
        .transaction(&[&a, &b], |tx| {
            tx.set(&a, &1);
            Ok::<_, Error>(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::CrossSlot { .. }), "{err:?}");
    assert_eq!(s.get::<i32>(&a).unwrap(), None, "nothing was written");
}

#[tokio::test]
async fn async_transactions_across_slots_are_refused() {
    let (s, p) = session("cl-tx-aio");
    let s = s.aio();
    let (a, b) = (format!("{p}:a"), format!("{p}:b"));
    assert_ne!(key_slot(&a), key_slot(&b), "the test needs two slots");
    let err = s
        .transaction(&[&a, &b], |_tx| Box::pin(async move { Ok::<_, Error>(()) }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CrossSlot { .. }), "{err:?}");
    // One slot: fine.
    let (c, d) = (format!("{{{p}}}:c"), format!("{{{p}}}:d"));
    let (c_ref, d_ref) = (&c, &d);
    s.transaction(&[&c, &d], |tx| {
        Box::pin(async move {
            let n: Option<i64> = tx.get(c_ref).await?;
            tx.set(c_ref, &(n.unwrap_or(0) + 1)).set(d_ref, &1);
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(s.get::<i64>(&c).await.unwrap(), Some(1));
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

/// Batches go one pipeline per node by a slot table kvdb keeps; after a slot moves to another
/// node, the old node answers `MOVED` and the command is sent again where it now lives: the
/// results stay right, sync and async, and the next batch uses a fresh table.
#[test]
fn batches_follow_a_slot_moved_to_another_node() {
    let cluster = TestCluster::start(3, 0).unwrap();
    let session = KVDBClient::get_session(
        SessionOptions::new(unique("moved"))
            .url(cluster.url())
            .serializer(Serializer::Json),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let items: Vec<Item> = (0..300)
        .map(|i| Item {
            id: i,
            name: format!("item {i}"),
        })
        .collect();
    let ids: Vec<u64> = items.iter().map(|i| i.id).collect();
    let want: Vec<Option<Item>> = items.iter().cloned().map(Some).collect();
    session.set_models(&items).unwrap();
    // The async side reads its slot table now.
    assert_eq!(
        rt.block_on(session.aio().get_models::<Item>(&ids)).unwrap(),
        want
    );

    let conn = |port: u16| {
        kvdb::redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap()
    };
    let cmd = |c: &mut kvdb::redis::Connection, args: &[&str]| -> kvdb::redis::Value {
        let mut cmd = kvdb::redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(c).unwrap()
    };
    let slot = key_slot(kvdb::model::model_key(&items[0]).unwrap());
    let ports = cluster.primary_ports();
    let owner = *ports
        .iter()
        .find(|&&p| {
            let n: i64 = kvdb::redis::cmd("CLUSTER")
                .arg("COUNTKEYSINSLOT")
                .arg(slot)
                .query(&mut conn(p))
                .unwrap();
            n > 0
        })
        .unwrap();
    let target = *ports.iter().find(|&&p| p != owner).unwrap();
    let id_of = |p: u16| -> String {
        kvdb::redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut conn(p))
            .unwrap()
    };
    let (from_id, to_id, s) = (id_of(owner), id_of(target), slot.to_string());
    cmd(
        &mut conn(target),
        &["CLUSTER", "SETSLOT", &s, "IMPORTING", &from_id],
    );
    cmd(
        &mut conn(owner),
        &["CLUSTER", "SETSLOT", &s, "MIGRATING", &to_id],
    );
    let keys: Vec<String> = kvdb::redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(1000)
        .query(&mut conn(owner))
        .unwrap();
    assert!(!keys.is_empty());
    let mut migrate = kvdb::redis::cmd("MIGRATE");
    migrate
        .arg("127.0.0.1")
        .arg(target)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS")
        .arg(&keys);
    let _: kvdb::redis::Value = migrate.query(&mut conn(owner)).unwrap();
    // The new owner first, then the old one, then the rest (as `redis-cli --cluster` does);
    // then wait until every node redirects the key to the new owner.
    let mut order = vec![target, owner];
    order.extend(ports.iter().filter(|&&p| p != target && p != owner));
    for &p in &order {
        cmd(&mut conn(p), &["CLUSTER", "SETSLOT", &s, "NODE", &to_id]);
    }
    let moved = format!("{slot} 127.0.0.1:{target}");
    let settled = || {
        order[1..].iter().all(|&p| {
            let r: Result<kvdb::redis::Value, _> =
                kvdb::redis::cmd("GET").arg(&keys[0]).query(&mut conn(p));
            matches!(r, Err(e) if e.to_string().contains(&moved))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !settled() {
        assert!(Instant::now() < deadline, "the slot move did not settle");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The async side's table still sends the slot to the old owner, which redirects it.
    assert_eq!(
        rt.block_on(session.aio().get_models::<Item>(&ids)).unwrap(),
        want
    );
    assert_eq!(
        rt.block_on(session.aio().get_models::<Item>(&ids)).unwrap(),
        want
    );
    assert_eq!(session.get_models::<Item>(&ids).unwrap(), want);
}

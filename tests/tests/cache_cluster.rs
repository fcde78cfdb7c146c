//! Caching and maps on a Redis Cluster (3 primaries started for this binary): the lock and
//! wake-up scripts keep their keys in one slot, a hash-tagged namespace keeps its entries in
//! one slot, namespace invalidation scans every node, and a hash-tagged map keeps its field
//! TTL bookkeeping in its own slot.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kvdb::cache::CacheOptions;
use kvdb::testing::TestCluster;
use kvdb::{KVDBClient, Serializer, SessionOptions, key_slot};
use kvdb_tests::unique;

static CLUSTER: LazyLock<TestCluster> = LazyLock::new(|| {
    TestCluster::start(3, 0).unwrap_or_else(|e| panic!("the cluster tests need redis-server: {e}"))
});

fn session() -> kvdb::Session {
    KVDBClient::get_session(
        SessionOptions::new(unique("cache-cluster"))
            .url(CLUSTER.url())
            .serializer(Serializer::Json),
    )
    .unwrap()
}

#[test]
fn a_hash_tagged_namespace_lives_in_one_slot_and_computes_once() {
    let s = session();
    let ns = format!("{{{}}}", unique("tagged"));
    let cache = s.cache(CacheOptions::new().namespace(&ns)).unwrap();
    let computed = AtomicU32::new(0);
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                let v: u32 = cache
                    .get_or_set_with("hot", || {
                        computed.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(200));
                        7
                    })
                    .unwrap();
                assert_eq!(v, 7);
            });
        }
    });
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    for i in 0..20u32 {
        let _: u32 = cache.get_or_set_with(&i.to_string(), || i).unwrap();
    }
    let slots: BTreeSet<u16> = (0..20u32)
        .map(|i| key_slot(cache.redis_key(&i.to_string())))
        .collect();
    assert_eq!(slots.len(), 1, "one slot family: {slots:?}");
    assert_eq!(cache.invalidate_all().unwrap(), 21);
}

#[tokio::test]
async fn namespace_invalidation_scans_every_node() {
    let s = session();
    let cache = s
        .cache(CacheOptions::new().namespace(unique("spread")))
        .unwrap()
        .aio();
    for i in 0..60u32 {
        let _: u32 = cache
            .get_or_set_with(&i.to_string(), || async move { i })
            .await
            .unwrap();
    }
    let slots: BTreeSet<u16> = (0..60u32)
        .map(|i| key_slot(cache.redis_key(&i.to_string())))
        .collect();
    assert!(
        slots.len() > 10,
        "entries spread over the cluster: {} slots",
        slots.len()
    );
    assert_eq!(cache.invalidate_all().await.unwrap(), 60);
    assert_eq!(cache.get::<u32>("5").await.unwrap(), None);
}

#[test]
fn a_hash_tagged_map_keeps_field_ttls() {
    let s = session();
    let m = s.map::<String, u32>(&format!("{{{}}}:prices", unique("m")));
    let k = "short".to_string();
    m.insert(&k, &1).unwrap();
    m.insert(&"keep".to_string(), &2).unwrap();
    assert!(m.expire(&k, Duration::from_millis(100)).unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.contains_key(&k).unwrap() {
        assert!(Instant::now() < deadline, "the field did not expire");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(m.len().unwrap(), 1);
    assert_eq!(
        m.update(&"keep".to_string(), |v| v.map(|v| v + 1)).unwrap(),
        Some(3)
    );
}

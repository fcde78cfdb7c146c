//! `KvMap`, sync and async: every operation, field TTLs (the Lua fallback on this Redis 7.0;
//! the native `HPEXPIRE` path needs 7.4), compare-and-set updates, and bad fields that are
//! errors and are never deleted.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kvdb::map::TtlMode;
use kvdb_tests::dual_test;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Item {
    name: String,
    qty: u32,
}

fn item(name: &str, qty: u32) -> Item {
    Item {
        name: name.into(),
        qty,
    }
}

dual_test!(every_operation, [Json, MsgPack], |s, p| {
    let m = s.map::<String, Item>(&format!("{p}:cart"));
    let (a, b, c) = ("a:1".to_string(), "b{x}".to_string(), "c".to_string());
    assert!(w!(m.is_empty()).unwrap());
    assert!(w!(m.insert(&a, &item("apple", 1))).unwrap(), "a new key");
    assert!(
        !w!(m.insert(&a, &item("apple", 2))).unwrap(),
        "an existing key"
    );
    assert_eq!(w!(m.get(&a)).unwrap(), Some(item("apple", 2)));
    assert_eq!(w!(m.get(&c)).unwrap(), None);
    assert_eq!(
        w!(m.insert_many(&[
            (b.clone(), item("bread", 1)),
            (c.clone(), item("cheese", 3))
        ]))
        .unwrap(),
        2
    );
    assert_eq!(w!(m.insert_many(&[])).unwrap(), 0);
    assert_eq!(w!(m.len()).unwrap(), 3);
    assert!(!w!(m.is_empty()).unwrap());
    assert!(w!(m.contains_key(&b)).unwrap());
    assert_eq!(
        w!(m.get_many(&[c.clone(), "zz".to_string(), a.clone()])).unwrap(),
        vec![Some(item("cheese", 3)), None, Some(item("apple", 2))]
    );
    assert_eq!(w!(m.get_many(&[])).unwrap(), vec![]);
    // Keys are escaped like model key parts.
    let fields: Vec<String> = w!(s.hkeys(m.name())).unwrap();
    assert!(
        fields.contains(&"a%3A1".to_string()) && fields.contains(&"b%7Bx%7D".to_string()),
        "{fields:?}"
    );
    assert!(w!(m.remove(&a)).unwrap());
    assert!(!w!(m.remove(&a)).unwrap());
    assert!(!w!(m.contains_key(&a)).unwrap());
    assert!(w!(m.clear()).unwrap());
    assert_eq!(w!(m.len()).unwrap(), 0);
    assert!(w!(m.is_empty()).unwrap());
    assert!(!w!(m.clear()).unwrap());
});

dual_test!(integer_keys_and_update_with_cas, [Json], |s, p| {
    let m = s.map::<u64, u32>(&format!("{p}:counts"));
    assert_eq!(
        w!(m.update(&7, |v| Some(v.unwrap_or(0) + 1))).unwrap(),
        Some(1)
    );
    assert_eq!(
        w!(m.update(&7, |v| Some(v.unwrap_or(0) + 1))).unwrap(),
        Some(2)
    );
    assert_eq!(w!(m.get(&7)).unwrap(), Some(2));
    assert_eq!(
        w!(m.update(&7, |_| None)).unwrap(),
        None,
        "None removes the entry"
    );
    assert!(!w!(m.contains_key(&7)).unwrap());
});

dual_test!(field_ttls_with_the_fallback, [Json], |s, p| {
    let m = s.map::<String, u32>(&format!("{p}:ttl"));
    assert_eq!(
        w!(m.ttl_mode()).unwrap(),
        TtlMode::LuaFallback,
        "this CI's Redis is 7.0"
    );
    let (k, keep) = ("short".to_string(), "keep".to_string());
    w!(m.insert(&k, &1)).unwrap();
    w!(m.insert(&keep, &2)).unwrap();
    assert_eq!(w!(m.ttl(&k)).unwrap(), None, "no ttl yet");
    assert!(!w!(m.expire(&"absent".to_string(), Duration::from_secs(1))).unwrap());
    assert!(w!(m.expire(&k, Duration::from_secs(30))).unwrap());
    let left = w!(m.ttl(&k)).unwrap().unwrap();
    assert!(
        left <= Duration::from_secs(30) && left > Duration::from_secs(25),
        "{left:?}"
    );
    assert!(w!(m.persist(&k)).unwrap());
    assert!(!w!(m.persist(&k)).unwrap());
    assert_eq!(w!(m.ttl(&k)).unwrap(), None);

    w!(m.expire(&k, Duration::from_millis(150))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while w!(m.contains_key(&k)).unwrap() {
        assert!(Instant::now() < deadline, "the field did not expire");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(w!(m.get(&k)).unwrap(), None);
    assert_eq!(w!(m.len()).unwrap(), 1);
    assert_eq!(w!(m.get(&keep)).unwrap(), Some(2), "other fields stay");

    // Overwriting a field forgets its ttl, as Redis does for native field TTLs.
    w!(m.expire(&keep, Duration::from_millis(100))).unwrap();
    w!(m.insert(&keep, &3)).unwrap();
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(w!(m.get(&keep)).unwrap(), Some(3));
    // A TTL Redis cannot keep is refused like every other TTL, naming the map and field.
    let err = w!(m.expire(&keep, Duration::from_micros(1))).unwrap_err();
    assert!(matches!(err, kvdb::Error::InvalidTtl { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!("{p}:ttl field keep")),
        "{err}"
    );
});

dual_test!(
    a_bad_value_is_an_error_naming_map_and_field_and_stays,
    [Json],
    |s, p| {
        let name = format!("{p}:bad");
        let m = s.map::<String, Item>(&name);
        w!(m.insert(&"ok".to_string(), &item("fine", 1))).unwrap();
        w!(s.hset(&name, "broken", "not an item")).unwrap();
        let e = w!(m.get(&"broken".to_string())).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(&name) && text.contains("broken"), "{text}");
        assert!(w!(s.hexists(&name, "broken")).unwrap(), "never deleted");
        let e = w!(m.update(&"broken".to_string(), |v| v)).unwrap_err();
        assert!(e.to_string().contains("broken"), "{e}");
        assert!(
            w!(s.hexists(&name, "broken")).unwrap(),
            "never deleted by update"
        );
    }
);

fn sorted<T: Ord>(mut v: Vec<T>) -> Vec<T> {
    v.sort();
    v
}

#[test]
fn iteration_is_lazy_and_skips_nothing_sync() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("map-iter"));
    let name = format!("{p}:many");
    let m = session.map::<u32, u32>(&name);
    let entries: Vec<(u32, u32)> = (0..1000).map(|i| (i, i * 2)).collect();
    m.insert_many(&entries).unwrap();
    session.hset(&name, "not-a-number", &1u32).unwrap();
    let mut seen = BTreeMap::new();
    let mut errors = Vec::new();
    for e in m.iter().unwrap() {
        match e {
            Ok((k, v)) => {
                seen.insert(k, v);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    assert_eq!(seen.len(), 1000);
    assert!(seen.iter().all(|(k, v)| *v == k * 2));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("not-a-number") && errors[0].contains(&name),
        "{errors:?}"
    );
    let keys: Vec<u32> = m.keys().unwrap().filter_map(Result::ok).collect();
    assert_eq!(sorted(keys), (0..1000).collect::<Vec<_>>());
    let (ok, bad): (Vec<_>, Vec<_>) = m.values().unwrap().partition(Result::is_ok);
    assert_eq!(
        (ok.len(), bad.len()),
        (1000, 1),
        "the entry with a bad key is one Err"
    );
    assert!(session.hexists(&name, "not-a-number").unwrap());
}

#[tokio::test]
async fn iteration_is_a_stream_async() {
    use futures_util::StreamExt;
    let (session, p) = kvdb_tests::session(kvdb_tests::options("map-iter"));
    let m = session.aio().map::<String, u32>(&format!("{p}:s"));
    let entries: Vec<(String, u32)> = (0..500).map(|i| (format!("k:{i}"), i)).collect();
    m.insert_many(&entries).await.unwrap();
    let all: Vec<(String, u32)> = m.iter().await.unwrap().map(Result::unwrap).collect().await;
    assert_eq!(sorted(all), sorted(entries.clone()));
    let keys: Vec<String> = m.keys().await.unwrap().map(Result::unwrap).collect().await;
    assert_eq!(keys.len(), 500);
    let values: Vec<u32> = m
        .values()
        .await
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(values.iter().sum::<u32>(), (0..500u32).sum::<u32>());
}

#[test]
fn concurrent_updates_lose_nothing() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("map-cas"));
    let m = session.map::<String, u64>(&format!("{p}:n"));
    let key = "n".to_string();
    // 16 writers on one field: each loses many races; none may give up.
    std::thread::scope(|scope| {
        for _ in 0..16 {
            scope.spawn(|| {
                for _ in 0..25 {
                    m.update(&key, |v| Some(v.unwrap_or(0) + 1)).unwrap();
                }
            });
        }
    });
    assert_eq!(
        m.get(&key).unwrap(),
        Some(400),
        "every compare-and-set increment counted"
    );
}

#[test]
fn the_native_mode_is_refused_by_a_server_before_7_4() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("map-native"));
    let m = session
        .map::<String, u32>(&format!("{p}:n"))
        .with_ttl_mode(TtlMode::Native);
    m.insert(&"a".to_string(), &1).unwrap();
    let e = m
        .expire(&"a".to_string(), Duration::from_secs(5))
        .unwrap_err();
    assert!(
        e.to_string().to_lowercase().contains("unknown command"),
        "{e}"
    );
}

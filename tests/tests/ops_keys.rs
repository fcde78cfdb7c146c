//! Key operations and SCAN, sync and async.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::time::Duration;

use kvdb::{Error, KeyType, ScanOptions, Ttl};
use kvdb_tests::dual_test;

dual_test!(delete_exists_remove, [Json], |s, p| {
    let (a, b, c) = (format!("{p}:a"), format!("{p}:b"), format!("{p}:c"));
    w!(s.set(&a, &1)).unwrap();
    w!(s.set(&b, &2)).unwrap();
    assert!(w!(s.exists(&a)).unwrap());
    assert!(w!(s.contains_key(&b)).unwrap());
    assert!(!w!(s.exists(&c)).unwrap());
    assert_eq!(w!(s.delete(&[&a, &c])).unwrap(), 1);
    assert!(!w!(s.exists(&a)).unwrap());
    assert!(w!(s.remove(&b)).unwrap());
    assert!(!w!(s.remove(&b)).unwrap());
});

dual_test!(expiry_ttl_persist, [Json], |s, p| {
    let k = format!("{p}:k");
    assert_eq!(w!(s.ttl(&k)).unwrap(), Ttl::Missing);
    assert_eq!(w!(s.pttl(&k)).unwrap(), Ttl::Missing);
    assert!(!w!(s.expire(&k, Duration::from_secs(10))).unwrap());
    w!(s.set(&k, "v")).unwrap();
    assert_eq!(w!(s.ttl(&k)).unwrap(), Ttl::Persistent);
    assert_eq!(w!(s.ttl(&k)).unwrap().remaining(), None);
    assert!(w!(s.expire(&k, Duration::from_secs(100))).unwrap());
    let t = w!(s.ttl(&k)).unwrap().remaining().expect("expires");
    assert!(
        t > Duration::from_secs(95) && t <= Duration::from_secs(100),
        "{t:?}"
    );
    assert!(w!(s.pexpire(&k, Duration::from_millis(5_500))).unwrap());
    let t = w!(s.pttl(&k)).unwrap().remaining().expect("expires");
    assert!(
        t > Duration::from_secs(4) && t <= Duration::from_millis(5_500),
        "{t:?}"
    );
    assert!(w!(s.persist(&k)).unwrap());
    assert!(!w!(s.persist(&k)).unwrap());
    assert_eq!(w!(s.pttl(&k)).unwrap(), Ttl::Persistent);
});

dual_test!(a_key_expires, [Json], |s, p| {
    let k = format!("{p}:short");
    w!(s.set(&k, "v")).unwrap();
    assert!(w!(s.pexpire(&k, Duration::from_millis(30))).unwrap());
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(w!(s.get::<String>(&k)).unwrap(), None);
});

dual_test!(rename_and_type, [Json], |s, p| {
    let (a, b) = (format!("{p}:a"), format!("{p}:b"));
    let e = w!(s.rename(&a, &b)).unwrap_err();
    assert!(matches!(e, Error::Redis { .. }), "{e:?}");
    assert_eq!(e.key(), Some(a.as_str()));
    w!(s.set(&a, &vec![1, 2])).unwrap();
    w!(s.rename(&a, &b)).unwrap();
    assert!(!w!(s.exists(&a)).unwrap());
    assert_eq!(w!(s.get::<Vec<i32>>(&b)).unwrap(), Some(vec![1, 2]));
    assert_eq!(w!(s.key_type(&b)).unwrap(), KeyType::String);
    assert_eq!(w!(s.key_type(&a)).unwrap(), KeyType::None);
    let (l, h, st, z) = (
        format!("{p}:l"),
        format!("{p}:h"),
        format!("{p}:s"),
        format!("{p}:z"),
    );
    w!(s.rpush(&l, &[1])).unwrap();
    w!(s.hset(&h, "f", &1)).unwrap();
    w!(s.sadd(&st, &[1])).unwrap();
    w!(s.zadd(&z, &1, 1.0)).unwrap();
    assert_eq!(w!(s.key_type(&l)).unwrap(), KeyType::List);
    assert_eq!(w!(s.key_type(&h)).unwrap(), KeyType::Hash);
    assert_eq!(w!(s.key_type(&st)).unwrap(), KeyType::Set);
    assert_eq!(w!(s.key_type(&z)).unwrap(), KeyType::ZSet);
});

dual_test!(keys_lists_by_pattern, [Json], |s, p| {
    for i in 0..5 {
        w!(s.set(&format!("{p}:k:{i}"), &i)).unwrap();
    }
    w!(s.set(&format!("{p}:other"), &0)).unwrap();
    let got: BTreeSet<String> = w!(s.keys(&format!("{p}:k:*")))
        .unwrap()
        .into_iter()
        .collect();
    let want: BTreeSet<String> = (0..5).map(|i| format!("{p}:k:{i}")).collect();
    assert_eq!(got, want);
});

fn fill(s: &kvdb::Session, p: &str, n: usize) -> BTreeSet<String> {
    let pairs: Vec<(String, usize)> = (0..n).map(|i| (format!("{p}:scan:{i}"), i)).collect();
    let refs: Vec<(&str, usize)> = pairs.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    s.mset(&refs).unwrap();
    s.set(&format!("{p}:not-scanned"), &0).unwrap();
    pairs.into_iter().map(|(k, _)| k).collect()
}

#[test]
fn scan_iterates_every_matching_key_over_several_pages() {
    let (s, p) = kvdb_tests::session(kvdb_tests::options("scan"));
    let want = fill(&s, &p, 250);
    let mut got = BTreeSet::new();
    for key in s
        .scan(ScanOptions::new().pattern(format!("{p}:scan:*")).count(20))
        .unwrap()
    {
        got.insert(key.unwrap());
    }
    assert_eq!(got, want);
    // Nothing matches: the iterator ends (after walking every page) with no item.
    let none = s
        .scan(
            ScanOptions::new()
                .pattern(format!("{p}:nothing:*"))
                .count(1000),
        )
        .unwrap()
        .count();
    assert_eq!(none, 0);
}

#[tokio::test]
async fn async_scan_streams_every_matching_key() {
    use futures_util::StreamExt;
    let (s, p) = kvdb_tests::session(kvdb_tests::options("scan"));
    let want = fill(&s, &p, 250);
    let aio = s.aio();
    let stream = aio
        .scan(ScanOptions::new().pattern(format!("{p}:scan:*")).count(20))
        .unwrap();
    let mut stream = std::pin::pin!(stream);
    let mut got = BTreeSet::new();
    while let Some(key) = stream.next().await {
        got.insert(key.unwrap());
    }
    assert_eq!(got, want);
}

#[test]
fn flushdb_dbsize_ping_info() {
    // FLUSHDB empties a whole database: only on a server this test binary started, and in a
    // database no other test uses.
    if !kvdb_tests::server().is_owned() {
        eprintln!("KVDB_TEST_URL is set: FLUSHDB is not run on a server the tests do not own");
        return;
    }
    let (s, p) = kvdb_tests::session(kvdb_tests::options("flush").db_id(9));
    s.ping().unwrap();
    assert!(s.info(None).unwrap().contains("redis_version"));
    let keyspace = s.info(Some("keyspace")).unwrap();
    assert!(keyspace.contains("# Keyspace"), "{keyspace}");
    assert!(!keyspace.contains("redis_version"), "{keyspace}");
    s.set(&format!("{p}:a"), &1).unwrap();
    s.set(&format!("{p}:b"), &2).unwrap();
    assert_eq!(s.dbsize().unwrap(), 2);
    s.flushdb().unwrap();
    assert_eq!(s.dbsize().unwrap(), 0);
}

#[tokio::test]
async fn async_flushdb_empties_the_database() {
    if !kvdb_tests::server().is_owned() {
        return;
    }
    // Its own database: no other test uses db 10.
    let (s, p) = kvdb_tests::session(kvdb_tests::options("flush").db_id(10));
    let s = s.aio();
    s.set(&format!("{p}:a"), &1).await.unwrap();
    assert_eq!(s.dbsize().await.unwrap(), 1);
    s.flushdb().await.unwrap();
    assert_eq!(s.dbsize().await.unwrap(), 0);
    assert!(!s.exists(&format!("{p}:a")).await.unwrap());
}

#[tokio::test]
async fn async_server_commands() {
    let (s, p) = kvdb_tests::session(kvdb_tests::options("server"));
    let s = s.aio();
    s.ping().await.unwrap();
    assert!(
        s.info(Some("server"))
            .await
            .unwrap()
            .contains("redis_version")
    );
    s.set(&format!("{p}:a"), &1).await.unwrap();
    assert!(s.dbsize().await.unwrap() >= 1);
}

dual_test!(escape_hatch_runs_any_command, [Json], |s, p| {
    let k = format!("{p}:n");
    w!(s.set(&k, &12345)).unwrap();
    let enc: String = w!(s.query(kvdb::redis::cmd("OBJECT").arg("ENCODING").arg(&k))).unwrap();
    assert_eq!(enc, "int");
    let len: usize = w!(s.query(kvdb::redis::cmd("STRLEN").arg(&k))).unwrap();
    assert_eq!(len, 5);
    // A server error names the key.
    let e = w!(s.query::<String>(kvdb::redis::cmd("LPOP").arg(&k))).unwrap_err();
    assert_eq!(e.key(), Some(k.as_str()));
    // A reply that is not a T is a typed error, not a panic.
    let e = w!(s.query::<i64>(kvdb::redis::cmd("GET").arg(format!("{p}:missing")))).unwrap_err();
    assert!(
        matches!(e, Error::Redis { .. } | Error::UnexpectedReply { .. }),
        "{e:?}"
    );
});

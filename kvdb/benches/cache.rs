//! Cache-aside costs (docs/caching.md): a cached hit (`get_or_set_with` on a present key)
//! against a plain `get` of the same value, sync and async (target: within 5%); and a
//! stampede: 64 threads missing one key at once, how many computations and how long.
//!
//! `cargo bench -p kvdb --bench cache --features testing` (a throwaway `redis-server`, or
//! `KVDB_BENCH_URL`). Rounds alternate the two workloads so drifts of the machine hit both.

#![allow(clippy::unwrap_used)] // a benchmark: a failed unwrap is a failed run

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kvdb::{KVDBClient, Serializer, SessionOptions};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Clone)]
struct Profile {
    id: u64,
    name: String,
    tags: Vec<String>,
}

const OPS: u32 = 2_000;
const ROUNDS: usize = 15;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Microseconds per operation of `f` run `OPS` times.
fn per_op(mut f: impl FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..OPS {
        f();
    }
    t.elapsed().as_secs_f64() * 1e6 / f64::from(OPS)
}

fn main() {
    let _server;
    let url = match std::env::var("KVDB_BENCH_URL") {
        Ok(u) => u,
        Err(_) => {
            let s = kvdb::testing::TestServer::start().unwrap();
            let u = s.url();
            _server = s;
            u
        }
    };
    let session = KVDBClient::get_session(
        SessionOptions::new("bench-cache")
            .url(&url)
            .serializer(Serializer::Json),
    )
    .unwrap();
    let value = Profile {
        id: 42,
        name: "Ada Lovelace".into(),
        tags: vec!["math".into(), "engines".into()],
    };
    let ttl = Duration::from_secs(600);
    session.set("bench:plain", &value).unwrap();
    let _: Profile = session
        .get_or_set_with("bench:cached", ttl, || value.clone())
        .unwrap();

    // Sync.
    let (mut plain, mut cached) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        plain.push(per_op(|| {
            let _: Option<Profile> = session.get("bench:plain").unwrap();
        }));
        cached.push(per_op(|| {
            let _: Profile = session
                .get_or_set_with("bench:cached", ttl, || unreachable!("a hit"))
                .unwrap();
        }));
    }
    let (p, c) = (median(plain), median(cached));
    println!("| sync get | {p:.1} µs |");
    println!(
        "| sync get_or_set_with hit | {c:.1} µs | {:+.1}% |",
        (c / p - 1.0) * 100.0
    );

    // Async.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let aio = session.aio();
    let (p, c) = rt.block_on(async {
        let (mut plain, mut cached) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            let t = Instant::now();
            for _ in 0..OPS {
                let _: Option<Profile> = aio.get("bench:plain").await.unwrap();
            }
            plain.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(OPS));
            let t = Instant::now();
            for _ in 0..OPS {
                let _: Profile = aio
                    .get_or_set_with("bench:cached", ttl, || async { unreachable!("a hit") })
                    .await
                    .unwrap();
            }
            cached.push(t.elapsed().as_secs_f64() * 1e6 / f64::from(OPS));
        }
        (median(plain), median(cached))
    });
    println!("| async get | {p:.1} µs |");
    println!(
        "| async get_or_set_with hit | {c:.1} µs | {:+.1}% |",
        (c / p - 1.0) * 100.0
    );

    // Stampede: 64 threads miss one key at once; the computation takes 100 ms.
    for round in 0..3 {
        let key = format!("bench:stampede:{round}");
        let computed = AtomicU32::new(0);
        let barrier = std::sync::Barrier::new(64);
        let started = Instant::now();
        let slowest = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..64)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        let t = Instant::now();
                        let _: Profile = session
                            .get_or_set_with(&key, ttl, || {
                                computed.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(Duration::from_millis(100));
                                value.clone()
                            })
                            .unwrap();
                        t.elapsed()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap())
                .max()
                .unwrap()
        });
        println!(
            "| stampede of 64 threads, 100 ms computation | {} computation(s) | slowest caller {:.1} ms | all done in {:.1} ms |",
            computed.load(Ordering::SeqCst),
            slowest.as_secs_f64() * 1e3,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

//! Async workloads: SET+GET pairs from 1 or 64 concurrent tokio tasks, on a multi-thread or a
//! current-thread runtime. Against [`Baseline::Raw`], (a) is raw redis-rs on pre-encoded bytes
//! and (b) the hand-written serde_json layer, each on a `MultiplexedConnection` of its own;
//! against [`Baseline::ConnectionManager`], (a) is that layer on a `MultiplexedConnection` and
//! (b) the same layer on the `redis` crate's reconnecting `ConnectionManager`. (c) is kvdb's
//! `AsyncSession` (one multiplexed connection per pool and runtime).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use kvdb::redis::{self, AsyncCommands};
use kvdb::{AsyncSession, Compression};

use crate::model::{Customer, KEYS, customer, plain_key};
use crate::stats::{Rounds, Sample, order};
use crate::sync::{kvdb_bytes, session};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    MultiThread,
    CurrentThread,
}

struct Shared {
    value: Customer,
    bytes: Vec<u8>,
    keys: Vec<String>,
}

/// What kvdb is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Baseline {
    /// (a) raw bytes and (b) the serde_json layer, both on `MultiplexedConnection`s.
    Raw,
    /// (a) the serde_json layer on a `MultiplexedConnection`, (b) on a `ConnectionManager`.
    ConnectionManager,
}

enum Client {
    Raw(redis::aio::MultiplexedConnection),
    Layer(redis::aio::MultiplexedConnection),
    Manager(redis::aio::ConnectionManager),
    Kvdb(AsyncSession),
}

// One function per client, so that a profiler (callgrind) counts each client's instructions
// (its future's `poll`) apart.

async fn task_raw(
    mut con: redis::aio::MultiplexedConnection,
    shared: Arc<Shared>,
    start: usize,
    pairs: u64,
) {
    for j in 0..pairs as usize {
        let k = &shared.keys[(start + j) % shared.keys.len()];
        let () = con.set(k, &shared.bytes[..]).await.expect("SET");
        let got: Option<Vec<u8>> = con.get(k).await.expect("GET");
        black_box(got);
    }
}

async fn task_layer<C: redis::aio::ConnectionLike + Send + Sync>(
    mut con: C,
    shared: Arc<Shared>,
    start: usize,
    pairs: u64,
) {
    for j in 0..pairs as usize {
        let k = &shared.keys[(start + j) % shared.keys.len()];
        let json = serde_json::to_vec(&shared.value).expect("json");
        let () = con.set(k, json).await.expect("SET");
        let got: Option<Vec<u8>> = con.get(k).await.expect("GET");
        black_box(got.map(|g| serde_json::from_slice::<Customer>(&g).expect("json")));
    }
}

async fn task_kvdb(s: AsyncSession, shared: Arc<Shared>, start: usize, pairs: u64) {
    for j in 0..pairs as usize {
        let k = &shared.keys[(start + j) % shared.keys.len()];
        s.set(k, &shared.value).await.expect("set");
        black_box(s.get::<Customer>(k).await.expect("get"));
    }
}

async fn round(client: &Client, shared: &Arc<Shared>, tasks: usize, pairs: u64) -> Sample {
    let per = pairs / tasks as u64;
    let t0 = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let start = t * (KEYS as usize / tasks.max(1));
            let shared = shared.clone();
            match client {
                Client::Raw(con) => tokio::spawn(task_raw(con.clone(), shared, start, per)),
                Client::Layer(con) => tokio::spawn(task_layer(con.clone(), shared, start, per)),
                Client::Manager(con) => tokio::spawn(task_layer(con.clone(), shared, start, per)),
                Client::Kvdb(s) => tokio::spawn(task_kvdb(s.clone(), shared, start, per)),
            }
        })
        .collect();
    for h in handles {
        h.await.expect("task");
    }
    Sample {
        wall_ns: t0.elapsed().as_nanos() as f64 / (per * tasks as u64) as f64,
        cpu_ns: None,
    }
}

/// `pairs` SET+GET pairs per client per round, spread over `tasks` tasks.
pub(crate) fn set_get(
    url: &str,
    baseline: Baseline,
    flavor: Flavor,
    tasks: usize,
    pairs: u64,
    rounds: usize,
) -> Rounds {
    let rt = match flavor {
        Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build()
    .expect("runtime");
    let value = customer(7);
    let shared = Arc::new(Shared {
        bytes: kvdb_bytes(&value, Compression::None, false),
        value,
        keys: (0..KEYS).map(plain_key).collect(),
    });
    let session = session(url, Compression::None).aio();
    let url = url.to_owned();
    rt.block_on(async move {
        let client = redis::Client::open(url).expect("client");
        let multiplexed = || async {
            client
                .get_multiplexed_async_connection()
                .await
                .expect("con")
        };
        let clients = match baseline {
            Baseline::Raw => [
                Client::Raw(multiplexed().await),
                Client::Layer(multiplexed().await),
                Client::Kvdb(session),
            ],
            Baseline::ConnectionManager => [
                Client::Layer(multiplexed().await),
                Client::Manager(
                    redis::aio::ConnectionManager::new(client.clone())
                        .await
                        .expect("manager"),
                ),
                Client::Kvdb(session),
            ],
        };
        for i in order(0) {
            round(&clients[i], &shared, tasks, pairs).await;
        }
        let mut out = Rounds::default();
        for r in 0..rounds {
            let mut s = [Sample {
                wall_ns: 0.0,
                cpu_ns: None,
            }; 3];
            for i in order(r) {
                s[i] = round(&clients[i], &shared, tasks, pairs).await;
            }
            out.rounds.push(s);
        }
        out
    })
}

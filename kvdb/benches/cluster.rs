//! Cluster batches against a single server: `get_models` and `set_models` of 1,000 models on
//! a local 3-primary cluster and on one server, sync and async, in interleaved rounds.
//! Starts its own servers (loopback). Prints medians (models/s) and the ratios
//! single / cluster; the target (docs/performance.md) is a cluster within 1.5× of a server.
//!
//! `cargo bench -p kvdb --features testing,cluster --bench cluster [-- ROUNDS]`

use std::time::Instant;

use kvdb::redis;
use kvdb::testing::{TestCluster, TestServer};
use kvdb::{KVDBClient, KvModel, Serializer, Session, SessionOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "bench.Item", prefix = "bench:items")]
struct Item {
    #[kv(key)]
    id: u64,
    name: String,
    tags: Vec<String>,
    score: f64,
}

const N: u64 = 1000;

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(31);
    let server = TestServer::start().expect("redis-server");
    let cluster = TestCluster::start(3, 0).expect("redis-server for the cluster");
    let open = |name: &str, url: String| -> Session {
        KVDBClient::get_session(
            SessionOptions::new(name)
                .url(url)
                .serializer(Serializer::Json),
        )
        .expect("session")
    };
    let single = open("bench-single", server.url());
    let clustered = open("bench-cluster", cluster.url());
    let items: Vec<Item> = (0..N)
        .map(|id| Item {
            id,
            name: format!("item number {id}"),
            tags: vec!["a".into(), "bb".into()],
            score: id as f64 * 0.5,
        })
        .collect();
    let ids: Vec<u64> = (0..N).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sessions = [("single", &single), ("cluster", &clustered)];
    for (_, s) in sessions {
        s.set_models(&items).expect("set_models");
        rt.block_on(s.aio().get_models::<Item>(&ids)).expect("warm");
    }
    // The physical limit: raw redis-rs reading the same stored bytes, one MGET on the server,
    // the `redis` crate's cluster pipeline of GETs (one pipeline per node) on the cluster.
    let keys: Vec<String> = ids
        .iter()
        .map(|id| kvdb::model::key_of::<Item>(id).expect("key"))
        .collect();
    let mut raw_single = redis::Client::open(server.url())
        .and_then(|c| c.get_connection())
        .expect("raw connection");
    let mut raw_cluster = redis::cluster::ClusterClient::new(
        cluster
            .primary_ports()
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}/"))
            .collect::<Vec<_>>(),
    )
    .and_then(|c| c.get_connection())
    .expect("raw cluster connection");
    // [get sync, get async, set sync, set async, raw get] x [single, cluster], models/s.
    let mut rates = vec![vec![Vec::new(); 2]; 5];
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load_start = load();
    for round in 0..rounds {
        for k in 0..2 {
            let j = (k + round) % 2;
            let s = sessions[j].1;
            let a = s.aio();
            let timed = |f: &mut dyn FnMut()| {
                let t = Instant::now();
                f();
                N as f64 / t.elapsed().as_secs_f64()
            };
            let r = timed(&mut || assert_eq!(s.get_models::<Item>(&ids).unwrap().len(), 1000));
            rates[0][j].push(r);
            let r = timed(&mut || {
                assert_eq!(rt.block_on(a.get_models::<Item>(&ids)).unwrap().len(), 1000)
            });
            rates[1][j].push(r);
            let r = timed(&mut || s.set_models(&items).unwrap());
            rates[2][j].push(r);
            let r = timed(&mut || rt.block_on(a.set_models(&items)).unwrap());
            rates[3][j].push(r);
            let r = if j == 0 {
                timed(&mut || {
                    let v: Vec<Option<Vec<u8>>> = redis::cmd("MGET")
                        .arg(&keys)
                        .query(&mut raw_single)
                        .unwrap();
                    assert_eq!(v.len(), 1000);
                })
            } else {
                timed(&mut || {
                    let mut p = redis::cluster::cluster_pipe();
                    for k in &keys {
                        p.get(k);
                    }
                    let v: Vec<Option<Vec<u8>>> = p.query(&mut raw_cluster).unwrap();
                    assert_eq!(v.len(), 1000);
                })
            };
            rates[4][j].push(r);
        }
    }
    println!(
        "{rounds} rounds of 1,000 models; load {} -> {}",
        load_start.trim(),
        load().trim()
    );
    println!(
        "| operation | single server (models/s) | 3-node cluster (models/s) | single / cluster | target ≤ 1.5× |"
    );
    println!("|---|---|---|---|---|");
    for (i, name) in [
        "get_models sync",
        "get_models async",
        "set_models sync",
        "set_models async",
        "raw redis-rs: MGET vs cluster pipeline of GETs (the limit)",
    ]
    .iter()
    .enumerate()
    {
        let ratios: Vec<f64> = rates[i][0]
            .iter()
            .zip(&rates[i][1])
            .map(|(s, c)| s / c)
            .collect();
        let (s, c, x) = (
            median(&mut rates[i][0].clone()),
            median(&mut rates[i][1].clone()),
            median(&mut ratios.clone()),
        );
        let met = if x <= 1.5 { "yes" } else { "**no**" };
        println!("| {name} | {s:.0} | {c:.0} | {x:.2}× | {met} |");
    }
}

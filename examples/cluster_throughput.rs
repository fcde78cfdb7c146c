//! `get_models` of 1,000 models: a local 3-primary Redis Cluster against a single server.
//! `cargo run --release --example cluster_throughput` (starts its own servers on loopback
//! ports, with no persistence, and stops them). The numbers are in `docs/scaling.md`.

use std::time::{Duration, Instant};

use kvdb::testing::{TestCluster, TestServer};
use kvdb::{KVDBClient, KvModel, Serializer, SessionOptions};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "bench.Order", prefix = "bench:orders")]
struct Order {
    #[kv(key)]
    id: u64,
    customer: String,
    lines: Vec<(String, u32)>,
    total_cents: u64,
}

const MODELS: u64 = 1000;
const ROUNDS: u32 = 200;

/// Models per second read by `get_models` of all 1,000, sync and async.
fn measure(name: &str, url: &str) -> Result<(f64, f64), kvdb::Error> {
    let session = KVDBClient::get_session(
        SessionOptions::new(name)
            .url(url)
            .serializer(Serializer::Json),
    )?;
    let orders: Vec<Order> = (0..MODELS)
        .map(|id| Order {
            id,
            customer: format!("customer-{}", id % 97),
            lines: vec![("sku-1".into(), 2), ("sku-2".into(), 1)],
            total_cents: id * 100,
        })
        .collect();
    session.set_models(&orders)?;
    let ids: Vec<u64> = (0..MODELS).collect();
    let rate = |elapsed: Duration| (MODELS * u64::from(ROUNDS)) as f64 / elapsed.as_secs_f64();
    for _ in 0..10 {
        session.get_models::<Order>(&ids)?; // warm-up
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        let got = session.get_models::<Order>(&ids)?;
        assert_eq!(got.len(), MODELS as usize);
    }
    let sync = rate(start.elapsed());
    let rt = tokio::runtime::Runtime::new().map_err(|e| kvdb::Error::Unsupported(e.to_string()))?;
    let aio = session.aio();
    let asynchronous = rt.block_on(async {
        for _ in 0..10 {
            aio.get_models::<Order>(&ids).await?;
        }
        let start = Instant::now();
        for _ in 0..ROUNDS {
            aio.get_models::<Order>(&ids).await?;
        }
        Ok::<_, kvdb::Error>(rate(start.elapsed()))
    })?;
    Ok((sync, asynchronous))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let single = TestServer::start()?;
    let cluster = TestCluster::start(3, 0)?;
    let (s_sync, s_async) = measure("bench-single", &single.url())?;
    let (c_sync, c_async) = measure("bench-cluster", &cluster.url())?;
    println!("get_models of {MODELS} models, {ROUNDS} rounds, models per second:");
    println!("| setup | sync | async |");
    println!("|---|---|---|");
    println!("| single server | {s_sync:.0} | {s_async:.0} |");
    println!("| 3-primary cluster | {c_sync:.0} | {c_async:.0} |");
    Ok(())
}

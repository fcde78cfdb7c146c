//! The Rust side of kvdb vs kvdb-py (kvdb/benches/run-all.sh): SET+GET pairs of the
//! pydantic-shaped `models.User` of the interop fixtures, stored as kvdb-py reads it, on the
//! server at the URL given (loopback): raw redis-rs on the pre-encoded bytes (the physical
//! limit), kvdb sync, and kvdb async with TASKS tasks on a current-thread runtime. Prints one
//! JSON line per client, in the shape of `benches/kvdb_py/pairs.py`'s.
//!
//! `cargo bench -p kvdb --bench kvdb_py_side -- URL PAIRS TASKS...` (one async run per task
//! count); `... -- chart OUT.svg < LINES` draws the async lines as throughput against tasks.

use std::time::Instant;

#[allow(dead_code)]
#[path = "compare/chart.rs"]
mod chart;

use kvdb::redis::{self, AsyncCommands as _, Commands as _};
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
    if args.first().map(String::as_str) == Some("chart") {
        return chart(
            args.get(1)
                .map_or("docs/perf/concurrency.svg", String::as_str),
        );
    }
    let url = args
        .first()
        .cloned()
        .unwrap_or_else(|| "redis://127.0.0.1:6391/0".into());
    let pairs: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let mut task_counts: Vec<usize> = args[2.min(args.len())..]
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    if task_counts.is_empty() {
        task_counts.push(64);
    }
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

    // Async: for each task count, raw MultiplexedConnection, a hand-written serde_json layer
    // on it, then kvdb, all on one current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let a = session.aio();
    let mux = rt.block_on(async {
        redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    });
    for &tasks in &task_counts {
        let per = (pairs / tasks.max(1)).max(1);
        let n = per * tasks;
        rt.block_on(async {
            let (t, c) = (Instant::now(), cpu());
            futures_util::future::join_all((0..tasks).map(|w| {
                let mut mux = mux.clone();
                let stored = &stored;
                async move {
                    for i in 0..per {
                        let k = format!("benchraw:{w}:{}", i % 100);
                        let _: () = mux.set(&k, stored).await.unwrap();
                        let v: Vec<u8> = mux.get(&k).await.unwrap();
                        assert_eq!(v.len(), stored.len());
                    }
                }
            }))
            .await;
            let wall = t.elapsed().as_secs_f64();
            report("raw redis-rs", "async", tasks, n, wall, cpu() - c, bytes);
            let (t, c) = (Instant::now(), cpu());
            futures_util::future::join_all((0..tasks).map(|w| {
                let mut mux = mux.clone();
                let user = &user;
                async move {
                    for i in 0..per {
                        let k = format!("benchhand:{w}:{}", i % 100);
                        let _: () = mux
                            .set(&k, serde_json::to_vec(user).unwrap())
                            .await
                            .unwrap();
                        let v: Vec<u8> = mux.get(&k).await.unwrap();
                        let u: User = serde_json::from_slice(&v).unwrap();
                        assert_eq!(u.id, 1);
                    }
                }
            }))
            .await;
            let wall = t.elapsed().as_secs_f64();
            report(
                "hand-written serde_json",
                "async",
                tasks,
                n,
                wall,
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
            let wall = t.elapsed().as_secs_f64();
            report("kvdb", "async", tasks, n, wall, cpu() - c, bytes);
        });
    }
}

/// `chart OUT.svg`: the async lines of stdin (this bench's and pairs.py's, with a
/// `placement`) as throughput against tasks, one line per client, medians per point.
fn chart(out: &str) {
    use std::collections::BTreeMap;
    let mut points: BTreeMap<(String, u64), Vec<f64>> = BTreeMap::new();
    let mut placement = String::from("cross");
    for line in std::io::stdin().lines().map_while(Result::ok) {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["mode"] != "async" || v["placement"] != "cross" {
            continue;
        }
        placement = v["placement"].as_str().unwrap_or_default().to_owned();
        let key = (
            v["client"].as_str().unwrap_or_default().to_owned(),
            v["tasks"].as_u64().unwrap_or(1),
        );
        points
            .entry(key)
            .or_default()
            .push(v["pairs_per_s"].as_f64().unwrap_or(0.0));
    }
    let mut series: Vec<chart::Series> = Vec::new();
    for ((client, tasks), mut rates) in points {
        rates.sort_by(f64::total_cmp);
        let median = rates[rates.len() / 2];
        match series.iter_mut().find(|s| s.name == client) {
            Some(s) => s.points.push((tasks as f64, median)),
            None => series.push(chart::Series {
                name: client,
                points: vec![(tasks as f64, median)],
            }),
        }
    }
    let order = [
        "raw redis-rs",
        "hand-written serde_json",
        "kvdb",
        "kvdb-py 0.0.2",
    ];
    series.sort_by_key(|s| order.iter().position(|o| *o == s.name).unwrap_or(9));
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let svg = chart::lines(
        "SET+GET pairs per second against concurrent tasks (async, one client thread)",
        &format!(
            "models.User, JSON; client and redis-server on different cores ({placement}); load at chart time {}",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "pairs/s",
        &series,
    );
    std::fs::write(out, svg).expect("write the chart");
}

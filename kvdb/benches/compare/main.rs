//! The comparison harness: the same workloads, in one process and alternating round by round,
//! through (a) raw redis-rs on pre-encoded bytes, (b) a hand-written serde_json layer on raw
//! redis-rs, and (c) kvdb's typed API; prints medians and the ratios (c)/(a) and (c)/(b).
//!
//! ```text
//! cargo bench -p kvdb --bench compare              # full run, a few minutes
//! cargo bench -p kvdb --bench compare -- --quick   # smoke run, seconds
//! ```
//!
//! Options: `--quick`, `--only SUBSTRING` (workloads whose name contains it), `--out DIR`
//! (where `results.md` and `compare.svg` go; default `docs/perf` for a full run, a temporary
//! directory for `--quick`), `--no-memory`, `--client a|b|c` (run only that client, for a
//! profiler or `strace -c`: the report's ratios are then meaningless). It starts its own `redis-server` on a free
//! loopback port, or uses `KVDB_BENCH_URL` (a server it may write `bench:*` keys to).
//! See `docs/performance.md`.

mod aio;
mod chart;
mod layer;
mod memory;
mod model;
mod observe;
mod report;
mod server;
mod stats;
mod sync;

use std::path::PathBuf;
use std::time::Instant;

use kvdb::Compression;

use report::{Row, Target};

pub(crate) const COMPRESSIONS: [Compression; 5] = [
    Compression::None,
    Compression::Zstd,
    Compression::Lz4,
    Compression::Gzip,
    Compression::Zlib,
];

struct Args {
    quick: bool,
    only: Option<String>,
    out: PathBuf,
    memory: bool,
    memory_case: Option<usize>,
}

fn args() -> Args {
    let mut it = std::env::args().skip(1);
    let mut a = Args {
        quick: false,
        only: None,
        out: PathBuf::new(),
        memory: true,
        memory_case: None,
    };
    let mut out = None;
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--no-memory" => a.memory = false,
            "--only" => a.only = it.next(),
            "--out" => out = it.next().map(PathBuf::from),
            "--memory-case" => a.memory_case = it.next().and_then(|v| v.parse().ok()),
            "--client" => {
                let only = it
                    .next()
                    .and_then(|c| ["a", "b", "c"].iter().position(|x| *x == c));
                let _ = stats::ONLY_CLIENT.set(only);
            }
            // `cargo bench` passes `--bench`; ignore it and anything else.
            _ => {}
        }
    }
    a.out = out.unwrap_or_else(|| {
        if a.quick {
            std::env::temp_dir().join("kvdb-bench")
        } else {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/perf"))
        }
    });
    a
}

type Job<'a> = (
    &'static str,
    String,
    &'static str,
    [&'static str; 3],
    Vec<Target>,
    Box<dyn FnOnce() -> stats::Rounds + 'a>,
);

fn main() {
    let args = args();
    if let Some(case) = args.memory_case {
        let url = std::env::var("KVDB_BENCH_URL").expect("KVDB_BENCH_URL");
        memory::child(case, &url);
        return;
    }
    let started = Instant::now();
    let server = server::Server::start();
    let url = server.url.clone();
    let machine = server::machine(&url);
    let load_before = server::load();
    eprintln!("kvdb compare harness: {url}; {}", server.placement);
    for (k, v) in &machine {
        eprintln!("  {k}: {v}");
    }
    eprintln!("  load average (1 min) at start: {load_before}");
    let observing = observe::install();
    eprintln!("  observability: {observing}");

    let env = sync::Env {
        url: url.clone(),
        rounds: if args.quick { 5 } else { 31 },
        pairs: if args.quick { 200 } else { 1000 },
        batches: if args.quick { 10 } else { 200 },
    };
    let (async_rounds, async_pairs_1, async_pairs_64) = if args.quick {
        (5, 200, 2_000)
    } else {
        (31, 1_000, 16_000)
    };
    let sync_clients = ["raw", "serde_json", "kvdb"];
    let mut jobs: Vec<Job<'_>> = Vec::new();
    jobs.push((
        "codec",
        "envelope encode+decode (no I/O)".into(),
        "op",
        ["serde_json reused buf", "serde_json to_vec", "kvdb"],
        vec![Target::TimeVsA(1.10)],
        Box::new(|| sync::envelope(env.rounds, if args.quick { 2_000 } else { 20_000 })),
    ));
    for c in COMPRESSIONS {
        let e = &env;
        jobs.push((
            "sync",
            format!("set+get JSON, {c}"),
            "pair",
            sync_clients,
            // (a) does no compression work: c/a is held to 0.95 without compression only.
            if c == Compression::None {
                vec![Target::VsA(0.95), Target::VsB(0.97)]
            } else {
                vec![Target::VsB(0.97)]
            },
            Box::new(move || sync::set_get(e, c)),
        ));
    }
    for c in [Compression::None, Compression::Zstd] {
        let e = &env;
        jobs.push((
            "sync",
            format!("set_model+get_model JSON, {c}"),
            "pair",
            sync_clients,
            if c == Compression::None {
                vec![Target::VsB(0.97), Target::VsA(0.95)]
            } else {
                vec![Target::VsB(0.97)]
            },
            Box::new(move || sync::models(e, c)),
        ));
    }
    jobs.push((
        "sync",
        "set_models of 100 vs pipelined SETs".into(),
        "key",
        sync_clients,
        vec![Target::VsBAndMicros(0.90, 2.1)],
        Box::new(|| sync::batch(&env, false)),
    ));
    jobs.push((
        "sync",
        "get_models of 100 vs MGET".into(),
        "key",
        sync_clients,
        vec![Target::VsBAndMicros(0.90, 3.2)],
        Box::new(|| sync::batch(&env, true)),
    ));
    for (flavor, fname) in [
        (aio::Flavor::MultiThread, "multi-thread"),
        (aio::Flavor::CurrentThread, "current-thread"),
    ] {
        for (tasks, pairs) in [(1usize, async_pairs_1), (64, async_pairs_64)] {
            let url = url.clone();
            let target = if tasks == 64 {
                vec![Target::VsB(0.97)]
            } else {
                vec![Target::None]
            };
            jobs.push((
                "async",
                format!(
                    "set+get JSON, {tasks} task{}, {fname}",
                    if tasks > 1 { "s" } else { "" }
                ),
                "pair",
                sync_clients,
                target,
                Box::new(move || {
                    aio::set_get(&url, aio::Baseline::Raw, flavor, tasks, pairs, async_rounds)
                }),
            ));
        }
        // The same 64 tasks against the hand-written layer on the `redis` crate's two async
        // connections: (a) MultiplexedConnection, (b) ConnectionManager.
        let url = url.clone();
        jobs.push((
            "async",
            format!("set+get JSON, 64 tasks, {fname}, vs ConnectionManager"),
            "pair",
            ["serde_json multiplexed", "serde_json manager", "kvdb"],
            vec![Target::VsB(0.97)],
            Box::new(move || {
                let b = aio::Baseline::ConnectionManager;
                aio::set_get(&url, b, flavor, 64, async_pairs_64, async_rounds)
            }),
        ));
    }
    let jobs: Vec<Job<'_>> = jobs
        .into_iter()
        .filter(|j| {
            args.only
                .as_ref()
                .is_none_or(|o| j.1.contains(o.as_str()) || j.0.contains(o.as_str()))
        })
        .collect();
    let total = jobs.len();
    let mut rows = Vec::new();
    for (i, (group, name, unit, clients, targets, job)) in jobs.into_iter().enumerate() {
        eprintln!("[{}/{total}] {group}: {name} ...", i + 1);
        let t0 = Instant::now();
        let rounds = job();
        let row = Row {
            group,
            name,
            unit,
            clients,
            rounds,
            targets,
        };
        eprintln!(
            "      {} ({:.1} s)",
            row.summary(),
            t0.elapsed().as_secs_f64()
        );
        rows.push(row);
    }
    let memory = if args.memory && args.only.is_none() {
        eprintln!("[memory] 64 MiB round trips, one child process per case ...");
        let m = memory::run(&url);
        for (name, peak, _) in &m {
            eprintln!(
                "      {name}: peak {:.0} MiB = {:.2}x the value",
                *peak as f64 / 1048576.0,
                *peak as f64 / memory::SIZE as f64
            );
        }
        m
    } else {
        Vec::new()
    };
    let load_after = server::load();
    let mut md = String::new();
    md.push_str("Machine: ");
    md.push_str(
        &machine
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join("; "),
    );
    md.push_str(&format!("; {observing}"));
    md.push_str(&format!(
        "; {}. Load average (1 min): {load_before} at start, {load_after} at end. {} rounds per workload{}; total {:.0} s.\n\nPayload sizes: {}.\n\nMedians of rounds, µs per unit; c/a and c/b are medians of the per-round throughput ratios.\n\n",
        server.placement,
        env.rounds,
        if args.quick { " (--quick)" } else { "" },
        started.elapsed().as_secs_f64(),
        sync::payload_sizes()
            .iter()
            .map(|(k, v)| format!("{k} {v} B"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    md.push_str("### Targets\n\n");
    md.push_str(&report::targets(&rows, &memory, memory::SIZE));
    md.push_str("\n### Every workload\n\n");
    md.push_str(&report::markdown(&rows, &memory, memory::SIZE));
    println!("\n{md}");
    let subtitle = format!(
        "{}; redis {}; {} rounds; load {load_before} → {load_after}",
        machine
            .iter()
            .find(|m| m.0 == "CPU")
            .map_or("", |m| m.1.as_str()),
        machine
            .iter()
            .find(|m| m.0 == "redis")
            .map_or("", |m| m.1.as_str()),
        env.rounds
    );
    if std::fs::create_dir_all(&args.out).is_ok() {
        let _ = std::fs::write(args.out.join("results.md"), &md);
        let _ = std::fs::write(args.out.join("compare.svg"), report::svg(&rows, &subtitle));
        eprintln!("wrote {}/results.md and compare.svg", args.out.display());
    }
    drop(server);
}

//! Spans and metrics of kvdb operations:
//! `cargo run -p kvdb-examples --example observability --features observability`.
//!
//! Installs a `tracing` subscriber that prints each operation's span when it closes, and
//! `metrics-util`'s debugging recorder, then runs a few operations (sync, async, a pipeline,
//! one that fails) and prints the metrics. `docs/observability.md` shows this output.

use kvdb::{Compression, KVDBClient, Serializer, SessionOptions};
use kvdb_examples::{server, step};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tracing_subscriber::fmt::format::FmtSpan;

fn main() -> kvdb::Result<()> {
    let server = server();
    tracing_subscriber::fmt()
        .with_span_events(FmtSpan::CLOSE)
        .with_target(false)
        .without_time()
        .with_ansi(false)
        // `kvdb::key=trace` would add each operation's key (and error messages, which name
        // keys) to its span.
        .with_env_filter("kvdb=info")
        .init();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().expect("no other recorder");

    let session = KVDBClient::get_session(
        SessionOptions::new("orders")
            .url(&server.url)
            .serializer(Serializer::Json)
            .compression(Compression::Zstd),
    )?;
    step(
        1,
        "A set and a get: one span each, the get's with what it read",
    );
    let order: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
    session.set("kvdb:observability:order:1", &order)?;
    let _: Option<Vec<String>> = session.get("kvdb:observability:order:1")?;

    step(2, "The same from async code");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let aio = session.aio();
        aio.incr("kvdb:observability:count").await
    })?;

    step(3, "A pipeline is one span");
    let mut p = session.pipeline();
    let _ = p.set("kvdb:observability:a", &1);
    let b = p.get::<i64>("kvdb:observability:a");
    let mut results = session.execute(p)?;
    results.take(b)?;

    step(4, "A failure is recorded on its span");
    session.hset("kvdb:observability:h", "f", &1)?;
    let _ = session.get::<String>("kvdb:observability:h");
    session.delete(&[
        "kvdb:observability:order:1",
        "kvdb:observability:count",
        "kvdb:observability:a",
        "kvdb:observability:h",
    ])?;

    step(5, "Metrics");
    let mut lines: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let labels: Vec<String> = key
                .key()
                .labels()
                .filter(|l| l.key() != "server")
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let value = match value {
                DebugValue::Counter(n) => n.to_string(),
                DebugValue::Gauge(g) => g.to_string(),
                DebugValue::Histogram(v) => format!("{} samples", v.len()),
            };
            format!("{}{{{}}} {value}", key.key().name(), labels.join(","))
        })
        .collect();
    lines.sort();
    for line in lines {
        println!("{line}");
    }
    Ok(())
}

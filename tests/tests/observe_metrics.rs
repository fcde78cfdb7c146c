//! Feature `metrics`: operation counts and latencies by operation and session, bytes written
//! and read, bytes before and after compression, pool checkouts and waits, connection errors,
//! through the `metrics` facade (checked with metrics-util's debugging recorder).
#![cfg(feature = "metrics")]

use kvdb::testing::free_port;
use kvdb::{Compression, KVDBClient, Serializer, SessionOptions};
use kvdb_tests::{options, unique};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};

/// One recorded metric: its name, labels and value.
struct Metric {
    name: String,
    labels: Vec<(String, String)>,
    value: DebugValue,
}

fn snapshot(snapshotter: &Snapshotter) -> Vec<Metric> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| Metric {
            name: key.key().name().to_owned(),
            labels: key
                .key()
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
            value,
        })
        .collect()
}

/// The metric named `name` whose labels include all of `labels`.
fn find<'a>(metrics: &'a [Metric], name: &str, labels: &[(&str, &str)]) -> &'a DebugValue {
    let found: Vec<_> = metrics
        .iter()
        .filter(|m| {
            m.name == name
                && labels
                    .iter()
                    .all(|(k, v)| m.labels.iter().any(|(mk, mv)| mk == k && mv == v))
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {name} with {labels:?}; recorded: {:?}",
        metrics
            .iter()
            .map(|m| (&m.name, &m.labels))
            .collect::<Vec<_>>()
    );
    &found[0].value
}

fn counter(metrics: &[Metric], name: &str, labels: &[(&str, &str)]) -> u64 {
    match find(metrics, name, labels) {
        DebugValue::Counter(n) => *n,
        other => panic!("{name} is not a counter: {other:?}"),
    }
}

fn histogram_len(metrics: &[Metric], name: &str, labels: &[(&str, &str)]) -> usize {
    match find(metrics, name, labels) {
        DebugValue::Histogram(v) => v.len(),
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

fn big() -> Vec<String> {
    (0..200).map(|i| format!("item number {i}")).collect()
}

#[test]
fn sync_operations_are_counted_and_timed() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let session = KVDBClient::get_session(
        options("metrics")
            .serializer(Serializer::Json)
            .compression(Compression::Zstd),
    )
    .unwrap();
    let name = session.name().to_owned();
    let key = unique("m");
    metrics::with_local_recorder(&recorder, || {
        session.set(&key, &big()).unwrap();
        for _ in 0..3 {
            assert_eq!(session.get::<Vec<String>>(&key).unwrap(), Some(big()));
        }
        session.hset(&key, "f", &1).unwrap_err();
    });
    let m = snapshot(&snapshotter);
    let s = name.as_str();
    let get = [("operation", "get"), ("session", s)];
    assert_eq!(
        counter(&m, "kvdb.operations", &[get[0], get[1], ("outcome", "ok")]),
        3
    );
    assert_eq!(histogram_len(&m, "kvdb.operation.duration", &get), 3);
    let hset = [("operation", "hset"), ("session", s), ("outcome", "error")];
    assert_eq!(counter(&m, "kvdb.operations", &hset), 1);
    // Every checkout of the sync pool, with how long it waited.
    assert_eq!(counter(&m, "kvdb.pool.checkouts", &[]), 5);
    assert_eq!(histogram_len(&m, "kvdb.pool.wait", &[]), 5);
    // Bytes on the wire, and before/after compression.
    let written = counter(&m, "kvdb.bytes.written", &[("session", s)]);
    let read = counter(&m, "kvdb.bytes.read", &[("session", s)]);
    let compress = [("algorithm", "zstd"), ("direction", "compress")];
    let raw = counter(&m, "kvdb.compression.uncompressed.bytes", &compress);
    let packed = counter(&m, "kvdb.compression.compressed.bytes", &compress);
    assert!(
        packed < raw / 2,
        "zstd packs repetitive JSON: {packed} of {raw}"
    );
    assert!(
        written > packed && read >= 3 * packed,
        "written {written}, read {read}"
    );
    let decompress = [("algorithm", "zstd"), ("direction", "decompress")];
    assert_eq!(
        counter(&m, "kvdb.compression.uncompressed.bytes", &decompress),
        3 * raw
    );
    assert_eq!(
        counter(&m, "kvdb.compression.compressed.bytes", &decompress),
        3 * packed
    );
}

#[test]
fn async_operations_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let session = KVDBClient::get_session(options("metrics-aio")).unwrap();
    let key = unique("m");
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let aio = session.aio();
            aio.set(&key, &7).await.unwrap();
            assert_eq!(aio.incr(&key).await.unwrap(), 8);
            let mut p = aio.pipeline();
            let a = p.get::<i64>(&key);
            let mut r = aio.execute(p).await.unwrap();
            assert_eq!(r.take(a).unwrap(), Some(8));
        });
    });
    let m = snapshot(&snapshotter);
    let s = session.name();
    for op in ["set", "incr", "execute"] {
        let labels = [("operation", op), ("session", s), ("outcome", "ok")];
        assert_eq!(counter(&m, "kvdb.operations", &labels), 1, "{op}");
    }
}

#[test]
fn connection_errors_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let port = free_port().unwrap();
    let session = KVDBClient::get_session(
        SessionOptions::new(unique("metrics-down"))
            .url(format!("redis://127.0.0.1:{port}"))
            .pool_timeout(std::time::Duration::from_millis(300)),
    )
    .unwrap();
    metrics::with_local_recorder(&recorder, || {
        assert!(session.ping().unwrap_err().is_connection_error());
    });
    let m = snapshot(&snapshotter);
    let labels = [("session", session.name())];
    assert_eq!(counter(&m, "kvdb.connection.errors", &labels), 1);
    let ping = [("operation", "ping"), ("outcome", "error")];
    assert_eq!(counter(&m, "kvdb.operations", &ping), 1);
    // Could not connect: sent again once (the default policy), then given up.
    assert_eq!(counter(&m, "kvdb.retries", &[]), 1);
}

#[test]
fn connections_opened_and_found_closed_are_counted() {
    let server = kvdb::testing::TestServer::start().unwrap();
    let session =
        KVDBClient::get_session(kvdb_tests::options_on(&server.url(), "metrics-conns")).unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let mut admin = kvdb_tests::admin(&server.url());
    metrics::with_local_recorder(&recorder, || {
        session.ping().unwrap();
        kvdb_tests::kill_clients(&mut admin);
        session.ping().unwrap();
    });
    let m = snapshot(&snapshotter);
    assert_eq!(counter(&m, "kvdb.connections.opened", &[]), 2);
    assert_eq!(counter(&m, "kvdb.connections.stale", &[]), 1);
    let ok = [("operation", "ping"), ("outcome", "ok")];
    assert_eq!(counter(&m, "kvdb.operations", &ok), 2);
}

#[test]
fn cache_hits_and_misses_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let session =
        KVDBClient::get_session(options("metrics-cache").serializer(Serializer::Json)).unwrap();
    let cache = session
        .cache(kvdb::cache::CacheOptions::new().namespace(unique("mc")))
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        for _ in 0..3 {
            let v: u32 = cache.get_or_set_with("k", || 7).unwrap();
            assert_eq!(v, 7);
        }
    });
    let m = snapshot(&snapshotter);
    assert_eq!(
        counter(&m, "kvdb.cache.calls", &[("outcome", "computed")]),
        1
    );
    assert_eq!(counter(&m, "kvdb.cache.calls", &[("outcome", "hit")]), 2);
    // Its round trips are operations of the session, named `cached`.
    let ops = counter(
        &m,
        "kvdb.operations",
        &[("operation", "cached"), ("outcome", "ok")],
    );
    assert!(ops >= 3, "{ops} cache round trips");
}

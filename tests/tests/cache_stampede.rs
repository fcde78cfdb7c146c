//! Stampede protection: 64 callers missing one key at once make one computation, whether
//! they are threads, tokio tasks, or threads of 4 processes (this test binary started again
//! as children, see `stampede_child`).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kvdb::Session;
use kvdb::cache::{CacheOptions, WaitTimeout};

const CALLERS: usize = 64;
const CHILDREN: usize = 4;

fn cache(session: &Session, ns: &str) -> kvdb::cache::Cache {
    session
        .cache(
            CacheOptions::new()
                .namespace(ns)
                .ttl(Duration::from_secs(60))
                // Waiters must be woken by the computation's end: a wait that runs out fails.
                .wait(Duration::from_secs(10))
                .lock_ttl(Duration::from_secs(10))
                .on_wait_timeout(WaitTimeout::Fail),
        )
        .unwrap()
}

#[test]
fn threads_compute_once() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("stampede"));
    let cache = cache(&session, &p);
    let computed = AtomicU32::new(0);
    let barrier = std::sync::Barrier::new(CALLERS);
    let values: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLERS)
            .map(|i| {
                let (cache, computed, barrier) = (&cache, &computed, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    cache
                        .get_or_set_with("hot", || {
                            computed.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(300));
                            format!("computed by {i}")
                        })
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        computed.load(Ordering::SeqCst),
        1,
        "64 threads, one computation"
    );
    assert!(
        values.iter().all(|v| *v == values[0]),
        "every caller gets the one value: {values:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tasks_compute_once() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("stampede"));
    let cache = cache(&session, &p).aio();
    let computed = Arc::new(AtomicU32::new(0));
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|i| {
            let (cache, computed, barrier) = (cache.clone(), computed.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                cache
                    .get_or_set_with("hot", || async move {
                        computed.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        format!("computed by {i}")
                    })
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut values = Vec::new();
    for t in tasks {
        values.push(t.await.unwrap());
    }
    assert_eq!(
        computed.load(Ordering::SeqCst),
        1,
        "64 tasks, one computation"
    );
    assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
}

/// Run as a child of `processes_compute_once` (does nothing otherwise): 16 threads call the
/// cache at the agreed instant; each computation increments a Redis counter.
#[test]
fn stampede_child() {
    let Ok(ns) = std::env::var("KVDB_STAMPEDE_NS") else {
        return;
    };
    let start: u128 = std::env::var("KVDB_STAMPEDE_AT").unwrap().parse().unwrap();
    let (session, _) = kvdb_tests::session(kvdb_tests::options("child"));
    let cache = cache(&session, &ns);
    let counter = format!("{ns}:computations");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    std::thread::sleep(Duration::from_millis(start.saturating_sub(now) as u64));
    std::thread::scope(|scope| {
        for _ in 0..CALLERS / CHILDREN {
            scope.spawn(|| {
                let v: String = cache
                    .get_or_set_with("hot", || {
                        session.incr(&counter).unwrap();
                        std::thread::sleep(Duration::from_millis(500));
                        format!("computed by process {}", std::process::id())
                    })
                    .unwrap();
                println!("VALUE {v}");
            });
        }
    });
}

#[test]
fn processes_compute_once() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("stampede"));
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 2000;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "stampede_child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("KVDB_TEST_URL", kvdb_tests::server().url())
                .env("KVDB_STAMPEDE_NS", &p)
                .env("KVDB_STAMPEDE_AT", start.to_string())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut values = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a child failed: {out:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        values.extend(
            text.lines()
                // libtest's own "test stampede_child ... " may precede the first line.
                .filter_map(|l| l.split_once("VALUE ").map(|(_, v)| v.to_owned())),
        );
    }
    assert_eq!(
        values.len(),
        CALLERS,
        "every caller of every process answered"
    );
    assert!(values.iter().all(|v| *v == values[0]), "{values:?}");
    let computations: Option<u32> = session.get(&format!("{p}:computations")).unwrap();
    assert_eq!(
        computations,
        Some(1),
        "4 processes × 16 threads, one computation"
    );
}

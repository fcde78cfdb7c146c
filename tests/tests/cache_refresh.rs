//! Refresh-ahead in the background (`get_or_refresh_with`), sync (a thread) and async (a tokio
//! task): a hit within the window returns the cached value at once while one background
//! computation stores a fresh one; 32 concurrent near-expiry hits start one computation; a
//! failing background refresh keeps the old value and is counted.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kvdb::Session;
use kvdb::cache::{Cache, CacheOptions};

/// The entry lives 4 s; the last 3 s are the refresh window.
const TTL: Duration = Duration::from_secs(4);
const WINDOW: Duration = Duration::from_secs(3);
/// How long a refresh computes.
const SLOW: Duration = Duration::from_millis(1000);
/// A call served from the cache returns well before the computation could have finished.
const PROMPT: Duration = Duration::from_millis(250);
const CALLERS: usize = 32;

fn cache(session: &Session, ns: &str) -> Cache {
    session
        .cache(
            CacheOptions::new()
                .namespace(ns)
                .ttl(TTL)
                .refresh_ahead(WINDOW),
        )
        .unwrap()
}

/// Blocks until the entry `key` has less than the window left (it is then due a refresh).
fn wait_until_due(cache: &Cache, session: &Session, key: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while session
        .pttl(&cache.redis_key(key))
        .unwrap()
        .remaining()
        .unwrap()
        >= WINDOW - Duration::from_millis(100)
    {
        assert!(Instant::now() < deadline, "{key} never came due");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (generously) until the entry `key` holds `want`, then checks its TTL is fresh.
fn wait_for_value(cache: &Cache, session: &Session, key: &str, want: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if cache.get::<u32>(key).unwrap() == Some(want) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the background refresh never stored {want} at {key}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = session
        .pttl(&cache.redis_key(key))
        .unwrap()
        .remaining()
        .unwrap();
    assert!(
        left > WINDOW,
        "the refreshed value has a fresh ttl: {left:?}"
    );
}

/// A computation that counts itself, takes [`SLOW`] and returns its count.
fn slow(n: &Arc<AtomicU32>) -> impl FnOnce() -> u32 + Send + 'static {
    let n = n.clone();
    move || {
        let v = n.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(SLOW);
        v
    }
}

/// [`slow`] for async callers.
fn slow_async(
    n: &Arc<AtomicU32>,
) -> impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = u32> + Send>> + Send + 'static
{
    let n = n.clone();
    move || {
        Box::pin(async move {
            let v = n.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(SLOW).await;
            v
        })
    }
}

#[test]
fn sync_hit_in_window_returns_at_once_and_refreshes_on_a_thread() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("refresh_bg"));
    let cache = cache(&session, &p);
    let n = Arc::new(AtomicU32::new(0));
    assert_eq!(cache.get_or_refresh_with("k", slow(&n)).unwrap(), 0);
    wait_until_due(&cache, &session, "k");
    let started = Instant::now();
    let v = cache.get_or_refresh_with("k", slow(&n)).unwrap();
    let took = started.elapsed();
    assert_eq!(v, 0, "the caller is served the cached value");
    assert!(
        took < PROMPT,
        "the caller does not pay the {SLOW:?} computation: {took:?}"
    );
    wait_for_value(&cache, &session, "k", 1);
    assert_eq!(n.load(Ordering::SeqCst), 2, "one refresh");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_hit_in_window_returns_at_once_and_refreshes_in_a_task() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("refresh_bg"));
    let sync = cache(&session, &p);
    let cache = sync.aio();
    let n = Arc::new(AtomicU32::new(0));
    assert_eq!(
        cache
            .get_or_refresh_with("k", slow_async(&n))
            .await
            .unwrap(),
        0
    );
    let (s, c) = (session.clone(), sync.clone());
    tokio::task::spawn_blocking(move || wait_until_due(&c, &s, "k"))
        .await
        .unwrap();
    let started = Instant::now();
    let v: u32 = cache
        .get_or_refresh_with("k", slow_async(&n))
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(v, 0, "the caller is served the cached value");
    assert!(
        took < PROMPT,
        "the caller does not pay the {SLOW:?} computation: {took:?}"
    );
    tokio::task::spawn_blocking(move || wait_for_value(&sync, &session, "k", 1))
        .await
        .unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 2, "one refresh");
}

#[test]
fn sync_concurrent_hits_in_window_start_one_refresh() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("refresh_bg"));
    let cache = cache(&session, &p);
    let n = Arc::new(AtomicU32::new(0));
    assert_eq!(cache.get_or_refresh_with("hot", slow(&n)).unwrap(), 0);
    wait_until_due(&cache, &session, "hot");
    let barrier = std::sync::Barrier::new(CALLERS);
    let values: Vec<u32> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLERS)
            .map(|_| {
                let (cache, n, barrier) = (&cache, &n, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    cache.get_or_refresh_with("hot", slow(n)).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        values.iter().all(|v| *v == 0),
        "all served the cached value: {values:?}"
    );
    wait_for_value(&cache, &session, "hot", 1);
    assert_eq!(
        n.load(Ordering::SeqCst),
        2,
        "{CALLERS} hits in the window, one background computation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn async_concurrent_hits_in_window_start_one_refresh() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("refresh_bg"));
    let sync = cache(&session, &p);
    let cache = sync.aio();
    let n = Arc::new(AtomicU32::new(0));
    assert_eq!(
        cache
            .get_or_refresh_with("hot", slow_async(&n))
            .await
            .unwrap(),
        0u32
    );
    let (s, c) = (session.clone(), sync.clone());
    tokio::task::spawn_blocking(move || wait_until_due(&c, &s, "hot"))
        .await
        .unwrap();
    let barrier = Arc::new(tokio::sync::Barrier::new(CALLERS));
    let tasks: Vec<_> = (0..CALLERS)
        .map(|_| {
            let (cache, barrier, compute) = (cache.clone(), barrier.clone(), slow_async(&n));
            tokio::spawn(async move {
                barrier.wait().await;
                cache.get_or_refresh_with("hot", compute).await.unwrap()
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 0u32, "all served the cached value");
    }
    tokio::task::spawn_blocking(move || wait_for_value(&sync, &session, "hot", 1))
        .await
        .unwrap();
    assert_eq!(
        n.load(Ordering::SeqCst),
        2,
        "{CALLERS} hits in the window, one background computation"
    );
}

/// Waits until `refresh_failed` in the cache stats passes `before`.
fn wait_for_failure_count(before: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while kvdb::cache::stats().refresh_failed <= before {
        assert!(
            Instant::now() < deadline,
            "the failed refresh was never counted"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// After a failed refresh the old value is still there, and the refresh lock is free again: a
/// later hit in the window refreshes (to 8).
fn assert_old_value_kept(cache: &Cache, key: &str) {
    assert_eq!(
        cache.get::<u32>(key).unwrap(),
        Some(7),
        "the old value stays"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let v: u32 = cache.get_or_refresh_with(key, || 8).unwrap();
        if v == 8 {
            break;
        }
        assert_eq!(v, 7, "until a refresh succeeds, the old value is served");
        assert!(
            Instant::now() < deadline,
            "the refresh lock was never released"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The stats are the process's: the tests that count failures take turns.
static COUNTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[test]
fn sync_failing_background_refresh_keeps_the_old_value_and_is_counted() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("refresh_bg"));
    let cache = cache(&session, &p);
    let _turn = COUNTING.blocking_lock();
    let v: Result<u32, kvdb::Error> = cache.get_or_try_refresh_with("f", || Ok(7));
    assert_eq!(v.unwrap(), 7);
    wait_until_due(&cache, &session, "f");
    let before = kvdb::cache::stats().refresh_failed;
    let v: Result<u32, kvdb::Error> = cache.get_or_try_refresh_with("f", || {
        Err(kvdb::Error::Unsupported("the source is down".into()))
    });
    assert_eq!(v.unwrap(), 7, "the caller is served the cached value");
    wait_for_failure_count(before);
    assert_old_value_kept(&cache, "f");
    // A panicking refresh is a failed one too.
    cache.invalidate("f").unwrap();
    assert_eq!(cache.get_or_refresh_with("f", || 7).unwrap(), 7);
    wait_until_due(&cache, &session, "f");
    let before = kvdb::cache::stats().refresh_failed;
    let v = cache
        .get_or_refresh_with("f", || -> u32 { panic!("refresh panics (expected)") })
        .unwrap();
    assert_eq!(v, 7);
    wait_for_failure_count(before);
    assert_eq!(
        cache.get::<u32>("f").unwrap(),
        Some(7),
        "the old value stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_failing_background_refresh_keeps_the_old_value_and_is_counted() {
    let (session, p) = kvdb_tests::session(kvdb_tests::options("refresh_bg"));
    let sync = cache(&session, &p);
    let cache = sync.aio();
    let _turn = COUNTING.lock().await;
    let v: Result<u32, kvdb::Error> = cache.get_or_try_refresh_with("f", || async { Ok(7) }).await;
    assert_eq!(v.unwrap(), 7);
    let (s, c) = (session.clone(), sync.clone());
    tokio::task::spawn_blocking(move || wait_until_due(&c, &s, "f"))
        .await
        .unwrap();
    let before = kvdb::cache::stats().refresh_failed;
    let v: Result<u32, kvdb::Error> = cache
        .get_or_try_refresh_with("f", || async {
            Err(kvdb::Error::Unsupported("the source is down".into()))
        })
        .await;
    assert_eq!(v.unwrap(), 7, "the caller is served the cached value");
    tokio::task::spawn_blocking(move || {
        wait_for_failure_count(before);
        assert_old_value_kept(&sync, "f");
    })
    .await
    .unwrap();
}

//! `#[kvdb::cached(refresh_ahead = ..)]`: a function whose arguments are owned refreshes in
//! the background (a thread, or a tokio task for an async fn): a call within the window
//! returns the cached value at once; one that borrows (or says `refresh_inline`) refreshes
//! inline, in the one caller that takes the refresh lock.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kvdb::{KVDBClient, Session, SessionOptions};

static APP: LazyLock<Session> = LazyLock::new(|| {
    KVDBClient::get_session(
        SessionOptions::new("cached-refresh")
            .url(kvdb_tests::server().url())
            .serializer(kvdb::Serializer::Json),
    )
    .unwrap()
});

/// The entries live 4 s; the last 3 s are the refresh window; a computation takes 1 s.
const WINDOW: Duration = Duration::from_secs(3);
const SLOW: Duration = Duration::from_millis(1000);
/// A call served from the cache returns well before the computation could have finished.
const PROMPT: Duration = Duration::from_millis(250);

static PRICES: AtomicU32 = AtomicU32::new(0);
static ASYNC_PRICES: AtomicU32 = AtomicU32::new(0);
static LABELS: AtomicU32 = AtomicU32::new(0);

#[kvdb::cached(
    session = "cached-refresh",
    ttl = "4s",
    refresh_ahead = "3s",
    key = "price:{item}"
)]
fn price(item: String) -> u32 {
    let _ = item;
    let v = PRICES.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(SLOW);
    v
}

#[kvdb::cached(
    session = "cached-refresh",
    ttl = "4s",
    refresh_ahead = "3s",
    key = "price:{item}"
)]
async fn async_price(item: String) -> u32 {
    let _ = item;
    let v = ASYNC_PRICES.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(SLOW).await;
    v
}

/// Borrows its argument: the refresh cannot move to a thread, so it runs inline.
#[kvdb::cached(
    session = "cached-refresh",
    ttl = "4s",
    refresh_ahead = "3s",
    key = "label:{name}"
)]
fn label(name: &str) -> u32 {
    let _ = name;
    LABELS.fetch_add(1, Ordering::SeqCst)
}

/// The Redis key of the entry `key` of the function `name` of this module.
fn redis_key(name: &str, key: &str) -> String {
    format!("_kvc_:{}.{name}:{key}", module_path!().replace("::", "."))
}

/// Blocks until `key` has less than the window left (it is then due a refresh).
fn wait_until_due(key: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while APP.pttl(key).unwrap().remaining().unwrap() >= WINDOW - Duration::from_millis(100) {
        assert!(Instant::now() < deadline, "{key} never came due");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (generously) until `key` holds `want` with a fresh TTL.
fn wait_for_value(key: &str, want: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while APP.get::<u32>(key).unwrap() != Some(want) {
        assert!(Instant::now() < deadline, "{key} never held {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let left = APP.pttl(key).unwrap().remaining().unwrap();
    assert!(left > WINDOW, "a fresh ttl: {left:?}");
}

#[test]
fn an_owned_sync_fn_refreshes_on_a_thread() {
    let _ = &*APP;
    let item = format!("tea{}", std::process::id());
    let key = redis_key("price", &format!("price:{item}"));
    let first = price(item.clone());
    wait_until_due(&key);
    let started = Instant::now();
    let v = price(item.clone());
    let took = started.elapsed();
    assert_eq!(v, first, "served the cached value");
    assert!(took < PROMPT, "without paying the computation: {took:?}");
    wait_for_value(&key, first + 1);
    assert_eq!(price(item), first + 1, "then the refreshed value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owned_async_fn_refreshes_in_a_task() {
    let _ = &*APP;
    let item = format!("coffee{}", std::process::id());
    let key = redis_key("async_price", &format!("price:{item}"));
    let first = async_price(item.clone()).await;
    let k = key.clone();
    tokio::task::spawn_blocking(move || wait_until_due(&k))
        .await
        .unwrap();
    let started = Instant::now();
    let v = async_price(item.clone()).await;
    let took = started.elapsed();
    assert_eq!(v, first, "served the cached value");
    assert!(took < PROMPT, "without paying the computation: {took:?}");
    tokio::task::spawn_blocking(move || wait_for_value(&key, first + 1))
        .await
        .unwrap();
    assert_eq!(
        async_price(item).await,
        first + 1,
        "then the refreshed value"
    );
}

#[test]
fn a_borrowing_fn_refreshes_inline() {
    let _ = &*APP;
    let name = format!("n{}", std::process::id());
    let key = redis_key("label", &format!("label:{name}"));
    let first = label(&name);
    wait_until_due(&key);
    assert_eq!(label(&name), first + 1, "the due caller refreshed inline");
    let left = APP.pttl(&key).unwrap().remaining().unwrap();
    assert!(left > WINDOW, "stored with a fresh ttl: {left:?}");
}

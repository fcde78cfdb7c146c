//! `#[kvdb::cached]` on sync and async functions and methods: keys from templates and from
//! the arguments' hash, `Result` caching only `Ok`, versions, per-call modes, failing open.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kvdb::cache::{CallMode, with_mode};
use kvdb::{KVDBClient, Session, SessionOptions};
use serde::{Deserialize, Serialize};

/// The session the cached functions name, registered on the test server.
static APP: LazyLock<Session> = LazyLock::new(|| {
    KVDBClient::get_session(
        SessionOptions::new("cached-app")
            .url(kvdb_tests::server().url())
            .serializer(kvdb::Serializer::Json),
    )
    .unwrap()
});

/// Computations of each cached function (tests run in parallel: one counter each).
static USERS: AtomicU32 = AtomicU32::new(0);
static ADDS: AtomicU32 = AtomicU32::new(0);
static FALLIBLE: AtomicU32 = AtomicU32::new(0);
static UNREGISTERED: AtomicU32 = AtomicU32::new(0);
static COUNTS: AtomicU32 = AtomicU32::new(0);
static NAMES: AtomicU32 = AtomicU32::new(0);
static SQUARES: AtomicU32 = AtomicU32::new(0);

fn computed(counter: &AtomicU32) -> u32 {
    counter.load(Ordering::SeqCst)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
}

#[kvdb::cached(
    session = "cached-app",
    ttl = "1m",
    namespace = "macro-users",
    key = "user:{id}"
)]
fn load_user(id: u64, name: &str) -> User {
    USERS.fetch_add(1, Ordering::SeqCst);
    User {
        id,
        name: name.to_owned(),
    }
}

#[test]
fn a_template_key_caches_by_its_placeholders() {
    let _ = &*APP;
    let id = 1_000_000 + u64::from(std::process::id());
    let before = computed(&USERS);
    let a = load_user(id, "Ada");
    let b = load_user(id, "ignored: not in the key");
    assert_eq!(a, b);
    assert_eq!(computed(&USERS) - before, 1, "one computation");
    let key = format!("_kvc_:macro-users:user:{id}");
    assert_eq!(
        APP.get::<User>(&key).unwrap(),
        Some(a.clone()),
        "stored at {key}"
    );
    let ttl = APP.pttl(&key).unwrap().remaining().unwrap();
    assert!(
        ttl <= Duration::from_secs(60) && ttl > Duration::from_secs(50),
        "{ttl:?}"
    );

    // Per-call modes.
    assert_eq!(
        with_mode(CallMode::Bypass, || load_user(id, "Bo")).name,
        "Bo"
    );
    assert_eq!(
        APP.get::<User>(&key).unwrap(),
        Some(a),
        "bypass stores nothing"
    );
    assert_eq!(
        with_mode(CallMode::Overwrite, || load_user(id, "Cy")).name,
        "Cy"
    );
    assert_eq!(
        load_user(id, "Di").name,
        "Cy",
        "overwrite stored the new value"
    );
    assert_eq!(
        with_mode(CallMode::Invalidate, || load_user(id, "Ed")).name,
        "Ed"
    );
}

#[kvdb::cached(session = "cached-app", ttl = "1m")]
fn add(a: u32, b: String) -> String {
    ADDS.fetch_add(1, Ordering::SeqCst);
    format!("{a}+{b}")
}

#[test]
fn a_derived_key_is_the_documented_hash_of_the_arguments() {
    let _ = &*APP;
    let b = format!("{}", std::process::id());
    let before = computed(&ADDS);
    assert_eq!(add(1, b.clone()), format!("1+{b}"));
    assert_eq!(add(1, b.clone()), format!("1+{b}"));
    assert_eq!(computed(&ADDS) - before, 1);
    assert_eq!(add(2, b.clone()), format!("2+{b}"));
    assert_eq!(
        computed(&ADDS) - before,
        2,
        "other arguments, another entry"
    );
    let hash = kvdb::cache::args_hash(&(1u32, b.clone())).unwrap();
    let key = format!("_kvc_:cached_macro.add:{hash}");
    assert_eq!(
        APP.get::<String>(&key).unwrap(),
        Some(format!("1+{b}")),
        "{key}"
    );
}

#[kvdb::cached(
    session = "cached-app",
    ttl = "1m",
    namespace = "macro-fallible",
    key = "{n}"
)]
fn fallible(n: u64) -> Result<u64, String> {
    FALLIBLE.fetch_add(1, Ordering::SeqCst);
    if n.is_multiple_of(2) {
        Ok(n * 10)
    } else {
        Err(format!("{n} is odd"))
    }
}

#[test]
fn a_result_caches_only_ok() {
    let _ = &*APP;
    let n = 2 * u64::from(std::process::id());
    let before = computed(&FALLIBLE);
    assert_eq!(fallible(n), Ok(n * 10));
    assert_eq!(fallible(n), Ok(n * 10));
    assert_eq!(computed(&FALLIBLE) - before, 1);
    assert_eq!(fallible(n + 1), Err(format!("{} is odd", n + 1)));
    assert_eq!(fallible(n + 1), Err(format!("{} is odd", n + 1)));
    assert_eq!(
        computed(&FALLIBLE) - before,
        3,
        "errors are computed each time"
    );
    assert!(
        !APP.exists(&format!("_kvc_:macro-fallible:{}", n + 1))
            .unwrap()
    );
}

#[kvdb::cached(
    session = "cached-app",
    ttl = "1m",
    namespace = "macro-v",
    key = "{n}",
    version = 3
)]
fn versioned(n: u64) -> u64 {
    n
}

#[test]
fn a_version_goes_into_the_namespace() {
    let _ = &*APP;
    let n = u64::from(std::process::id());
    assert_eq!(versioned(n), n);
    assert!(APP.exists(&format!("_kvc_:macro-v:v3:{n}")).unwrap());
}

#[kvdb::cached(session = "no-such-session", ttl = "1m")]
fn unregistered(n: u32) -> u32 {
    UNREGISTERED.fetch_add(1, Ordering::SeqCst);
    n
}

#[test]
fn without_its_session_a_cached_function_still_answers() {
    let before = computed(&UNREGISTERED);
    let errors = kvdb::cache::stats().errors;
    assert_eq!(unregistered(5), 5);
    assert_eq!(unregistered(5), 5);
    assert_eq!(
        computed(&UNREGISTERED) - before,
        2,
        "not cached, computed each time"
    );
    assert!(
        kvdb::cache::stats().errors >= errors + 2,
        "and counted as errors"
    );
}

struct Repo {
    tenant: String,
}

impl Repo {
    #[kvdb::cached(
        session = "cached-app",
        ttl = "1m",
        namespace = "macro-repo",
        key = "{self.tenant}:count:{extra}"
    )]
    fn count(&self, extra: u32) -> u64 {
        COUNTS.fetch_add(1, Ordering::SeqCst);
        self.tenant.len() as u64 + u64::from(extra)
    }

    #[kvdb::cached(
        session = "cached-app",
        ttl = "1m",
        namespace = "macro-repo",
        key = "{self.tenant}:name"
    )]
    async fn name(&self) -> Result<String, std::io::Error> {
        NAMES.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1)).await;
        let upper = self.tenant.to_uppercase();
        std::io::Result::Ok(upper)
    }
}

#[kvdb::cached(session = "cached-app", ttl = "1m")]
async fn slow_square(n: u64) -> u64 {
    SQUARES.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    n * n
}

#[test]
fn methods_key_by_self_fields() {
    let _ = &*APP;
    let repo = Repo {
        tenant: format!("acme:{}", std::process::id()),
    };
    let before = computed(&COUNTS);
    assert_eq!(repo.count(1), repo.tenant.len() as u64 + 1);
    assert_eq!(repo.count(1), repo.tenant.len() as u64 + 1);
    assert_eq!(computed(&COUNTS) - before, 1);
    let key = format!("_kvc_:macro-repo:acme%3A{}:count:1", std::process::id());
    assert!(
        APP.exists(&key).unwrap(),
        "the tenant is escaped like a model key part: {key}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_functions_and_methods_share_one_computation() {
    let _ = &*APP;
    let n = u64::from(std::process::id()) + 7;
    let before = computed(&SQUARES);
    let tasks: Vec<_> = (0..16).map(|_| tokio::spawn(slow_square(n))).collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), n * n);
    }
    assert_eq!(computed(&SQUARES) - before, 1, "16 tasks, one computation");

    let repo = Repo {
        tenant: format!("t{n}"),
    };
    let before = computed(&NAMES);
    assert_eq!(repo.name().await.unwrap(), format!("T{n}"));
    assert_eq!(repo.name().await.unwrap(), format!("T{n}"));
    assert_eq!(computed(&NAMES) - before, 1);
    let overwritten = kvdb::cache::with_mode_async(CallMode::Overwrite, repo.name())
        .await
        .unwrap();
    assert_eq!(overwritten, format!("T{n}"));
    assert_eq!(computed(&NAMES) - before, 2, "overwrite recomputes");
}

//! The runtime of `#[kvdb::cached]`: what the generated code calls (through
//! `kvdb::__private`). The macro only declares a [`CachedFn`] and passes it the key and the
//! function's body as a closure; everything else happens here.
//!
//! A cached function fails open: if its session is not registered, or Redis fails, the body
//! runs as if it were not cached (and [`Outcome::Error`](super::Outcome::Error) is counted).

use std::cell::Cell;
use std::convert::Infallible;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::driver::{self, Failure};
use super::flow::Flow;
use super::keys::{args_hash, entry_key};
use super::options::{CacheOptions, CallMode};
use super::{Outcome, observe};
use crate::model::{KeyPart, KeySchema};

/// The declaration of one cached function, a `static` in its body.
#[doc(hidden)]
pub struct CachedFn {
    /// The session's name in the [`KVDBClient`](crate::KVDBClient) registry.
    pub session: &'static str,
    /// `module_path!()`.
    pub module: &'static str,
    /// The function's name.
    pub function: &'static str,
    /// `namespace = "..."`, replacing `<module.path>.<function>`.
    pub namespace: Option<&'static str>,
    /// `version = N`: above 1, the namespace gains `:v<N>`.
    pub version: u32,
    /// The key template, if any.
    pub template: Option<KeySchema>,
    /// TTLs in milliseconds: entry, negative, error, refresh-ahead window, lock, wait.
    pub ttl_ms: u64,
    #[allow(missing_docs)]
    pub negative_ttl_ms: Option<u64>,
    #[allow(missing_docs)]
    pub error_ttl_ms: Option<u64>,
    #[allow(missing_docs)]
    pub refresh_ahead_ms: Option<u64>,
    #[allow(missing_docs)]
    pub lock_ttl_ms: Option<u64>,
    #[allow(missing_docs)]
    pub wait_ms: Option<u64>,
    /// `jitter = 0.1`.
    pub jitter: f64,
    /// `disabled`.
    pub disabled: bool,
    /// Built on first use.
    #[doc(hidden)]
    pub options: OnceLock<Arc<CacheOptions>>,
}

impl CachedFn {
    /// The namespace: `namespace`, or `<module.path>.<function>` (`::` written `.`, as Python
    /// names functions), then `:v<N>` for a version above 1.
    pub fn namespace(&self) -> String {
        let mut ns = match self.namespace {
            Some(ns) => ns.to_owned(),
            None => format!("{}.{}", self.module.replace("::", "."), self.function),
        };
        if self.version > 1 {
            ns.push_str(&format!(":v{}", self.version));
        }
        ns
    }

    fn options(&self) -> &CacheOptions {
        self.options.get_or_init(|| {
            let ms = Duration::from_millis;
            let mut o = CacheOptions::new()
                .namespace(self.namespace())
                .ttl(ms(self.ttl_ms))
                .jitter(self.jitter)
                .enabled(!self.disabled)
                .fail_open(true);
            if let Some(t) = self.negative_ttl_ms {
                o = o.negative_ttl(ms(t));
            }
            if let Some(t) = self.error_ttl_ms {
                o = o.error_ttl(ms(t));
            }
            if let Some(t) = self.refresh_ahead_ms {
                o = o.refresh_ahead(ms(t));
            }
            if let Some(t) = self.lock_ttl_ms {
                o = o.lock_ttl(ms(t));
            }
            if let Some(t) = self.wait_ms {
                o = o.wait(ms(t));
            }
            Arc::new(o)
        })
    }

    /// The Redis key for a call: the template filled with `parts` (escaped like model key
    /// parts), or the hash of `args`.
    pub fn key<A: Serialize + ?Sized>(&self, parts: &[&dyn KeyPart], args: &A) -> Option<String> {
        let key = match &self.template {
            Some(t) => t.format(parts).ok()?,
            None => args_hash(args).ok()?,
        };
        Some(entry_key(&self.namespace(), &key))
    }

    fn flow<T: Serialize + DeserializeOwned>(
        &self,
        core: crate::core::Core,
        key: String,
    ) -> Flow<T> {
        Flow::new(core, key, self.options().clone(), current_mode())
    }
}

thread_local! {
    static MODE: Cell<CallMode> = const { Cell::new(CallMode::Normal) };
}

#[cfg(feature = "async")]
tokio::task_local! {
    static TASK_MODE: CallMode;
}

fn current_mode() -> CallMode {
    #[cfg(feature = "async")]
    if let Ok(m) = TASK_MODE.try_with(|m| *m) {
        return m;
    }
    MODE.with(Cell::get)
}

/// Runs `f` with `mode` for the `#[kvdb::cached]` functions it calls on this thread: e.g.
/// `with_mode(CallMode::Overwrite, || report(7))` recomputes and stores `report(7)`.
pub fn with_mode<R>(mode: CallMode, f: impl FnOnce() -> R) -> R {
    struct Restore(CallMode);
    impl Drop for Restore {
        fn drop(&mut self) {
            MODE.with(|m| m.set(self.0));
        }
    }
    let _restore = Restore(MODE.with(|m| m.replace(mode)));
    f()
}

/// Awaits `fut` with `mode` for the `#[kvdb::cached]` functions it calls (a tokio task-local).
#[cfg(feature = "async")]
pub async fn with_mode_async<F: std::future::Future>(mode: CallMode, fut: F) -> F::Output {
    TASK_MODE.scope(mode, fut).await
}

/// What a flow running a cached body answers: the value, or the body's error (`Some`), or
/// a cache failure.
type Answer<T, E> = Result<T, Failure<Option<E>>>;

/// Runs a cached call: `run` drives the flow with the shared body; if the cache fails before
/// the body ran, the body runs uncached (a cached function fails open).
fn run_cached<T, E, F>(
    spec: &CachedFn,
    key: Option<String>,
    body: F,
    run: impl FnOnce(&crate::Session, Flow<T>, Body<F>) -> Answer<T, E>,
) -> Result<T, E>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Result<T, E>,
{
    let body = Body::new(body);
    if let (Some(session), Some(key)) = (crate::KVDBClient::session(spec.session), key) {
        let flow = spec.flow(*session.core(), key);
        match run(&session, flow, body.share()) {
            Ok(v) => return Ok(v),
            Err(Failure::Compute(Some(e))) => return Err(e),
            _ => {}
        }
    }
    observe(spec.function, Outcome::Error);
    match body.take() {
        Some(f) => f(),
        None => unreachable_after_compute(),
    }
}

fn infallible<T>(r: Result<T, Infallible>) -> T {
    match r {
        Ok(v) => v,
        Err(never) => match never {},
    }
}

/// The body of a sync cached function returning `T`.
#[doc(hidden)]
pub fn call<T, F>(spec: &CachedFn, key: Option<String>, body: F) -> T
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> T,
{
    infallible(call_result(spec, key, move || Ok(body())))
}

/// The body of a sync cached function returning `Result<T, E>`: only `Ok` is stored.
#[doc(hidden)]
pub fn call_result<T, E, F>(spec: &CachedFn, key: Option<String>, body: F) -> Result<T, E>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Result<T, E>,
{
    run_cached(spec, key, body, |session, flow, body| {
        driver::run_sync(session, flow, move || body.compute())
    })
}

/// The body of a sync cached function with `refresh_ahead` whose arguments are all owned
/// (`'static`) and `Send`: a due refresh runs on a background thread (see
/// [`Cache::get_or_refresh_with`](super::Cache::get_or_refresh_with)).
#[doc(hidden)]
pub fn call_owned<T, F>(spec: &CachedFn, key: Option<String>, body: F) -> T
where
    T: Serialize + DeserializeOwned + Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    infallible(call_result_owned(spec, key, move || Ok(body())))
}

/// [`call_owned`] for a function returning `Result<T, E>`: only `Ok` is stored; the `Err` of
/// a background refresh is counted as [`Outcome::RefreshFailed`] and dropped.
#[doc(hidden)]
pub fn call_result_owned<T, E, F>(spec: &CachedFn, key: Option<String>, body: F) -> Result<T, E>
where
    T: Serialize + DeserializeOwned + Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    run_cached(spec, key, body, |session, flow, body| {
        driver::run_sync_owned(session, flow, move || body.compute())
    })
}

/// [`run_cached`] for an async body.
#[cfg(feature = "async")]
async fn run_cached_async<T, E, F, Fut, R>(
    spec: &CachedFn,
    key: Option<String>,
    body: F,
    run: impl FnOnce(crate::AsyncSession, Flow<T>, Body<F>) -> R,
) -> Result<T, E>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    R: std::future::Future<Output = Answer<T, E>>,
{
    let body = Body::new(body);
    if let (Some(session), Some(key)) = (crate::KVDBClient::session(spec.session), key) {
        let flow = spec.flow(*session.core(), key);
        // Boxed: the driver's future nests the body's, and a cached async fn's future would
        // otherwise be too deep for the compiler's default query depth (one allocation per
        // call, next to a network round trip).
        match Box::pin(run(session.aio(), flow, body.share())).await {
            Ok(v) => return Ok(v),
            Err(Failure::Compute(Some(e))) => return Err(e),
            _ => {}
        }
    }
    observe(spec.function, Outcome::Error);
    match body.take() {
        Some(f) => f().await,
        None => unreachable_after_compute(),
    }
}

/// The body of an async cached function returning `T`.
#[cfg(feature = "async")]
#[doc(hidden)]
pub async fn call_async<T, F, Fut>(spec: &CachedFn, key: Option<String>, body: F) -> T
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let body = move || async move { Ok(body().await) };
    infallible(call_result_async(spec, key, body).await)
}

/// The body of an async cached function returning `Result<T, E>`: only `Ok` is stored.
#[cfg(feature = "async")]
#[doc(hidden)]
pub async fn call_result_async<T, E, F, Fut>(
    spec: &CachedFn,
    key: Option<String>,
    body: F,
) -> Result<T, E>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
{
    run_cached_async(spec, key, body, |aio, flow, body| async move {
        driver::run_async(&aio, flow, move || body.compute_async()).await
    })
    .await
}

/// The body of an async cached function with `refresh_ahead` whose arguments are all owned
/// and `Send`: a due refresh is a spawned tokio task.
#[cfg(feature = "async")]
#[doc(hidden)]
pub async fn call_async_owned<T, F, Fut>(spec: &CachedFn, key: Option<String>, body: F) -> T
where
    T: Serialize + DeserializeOwned + Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let body = move || async move { Ok(body().await) };
    infallible(call_result_async_owned(spec, key, body).await)
}

/// [`call_async_owned`] for a function returning `Result<T, E>`.
#[cfg(feature = "async")]
#[doc(hidden)]
pub async fn call_result_async_owned<T, E, F, Fut>(
    spec: &CachedFn,
    key: Option<String>,
    body: F,
) -> Result<T, E>
where
    T: Serialize + DeserializeOwned + Send + 'static,
    E: 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<T, E>> + Send + 'static,
{
    run_cached_async(spec, key, body, |aio, flow, body| async move {
        driver::run_async_owned(&aio, flow, move || body.compute_async()).await
    })
    .await
}

/// Pins the type of an async block's output, so `?` inside a cached async body knows its
/// error type.
#[doc(hidden)]
pub fn typed<T, F: std::future::Future<Output = T>>(f: F) -> F {
    f
}

/// The body of a cached function, shared by the call (which runs it uncached if the cache
/// fails first) and the computation it hands to the flow (which may move it to a background
/// refresh): taken once. A mutex, not a cell: it must be `Send + Sync` when the body is `Send`.
struct Body<F>(Arc<std::sync::Mutex<Option<F>>>);

impl<F> Body<F> {
    fn new(f: F) -> Self {
        Body(Arc::new(std::sync::Mutex::new(Some(f))))
    }

    fn share(&self) -> Self {
        Body(self.0.clone())
    }

    fn take(&self) -> Option<F> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Runs the body for the flow: its value, its error (`Some`), or `Err(None)` if it is
    /// gone.
    fn compute<T, E>(self) -> Result<T, Option<E>>
    where
        F: FnOnce() -> Result<T, E>,
    {
        match self.take() {
            Some(f) => f().map_err(Some),
            None => Err(None),
        }
    }

    /// [`compute`](Self::compute) for an async body.
    #[cfg(feature = "async")]
    async fn compute_async<T, E, Fut>(self) -> Result<T, Option<E>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
    {
        match self.take() {
            Some(f) => f().await.map_err(Some),
            None => Err(None),
        }
    }
}

#[cold]
fn unreachable_after_compute() -> ! {
    // An internal invariant, not an input: a flow that fails open returns the value it
    // computed, so the body is never consumed without an answer.
    panic!("kvdb internal error: a cached function's body ran but its value was lost")
}

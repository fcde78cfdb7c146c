//! The runtime of `#[kvdb::cached]`: what the generated code calls (through
//! `kvdb::__private`). The macro only declares a [`CachedFn`] and passes it the key and the
//! function's body as a closure; everything else happens here.
//!
//! A cached function fails open: if its session is not registered, or Redis fails, the body
//! runs as if it were not cached (and [`Outcome::Error`](super::Outcome::Error) is counted).

use std::cell::Cell;
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

/// The body of a sync cached function returning `T`.
#[doc(hidden)]
pub fn call<T, F>(spec: &CachedFn, key: Option<String>, body: F) -> T
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> T,
{
    let slot = Cell::new(Some(body));
    let run = || slot.take().map(|f| f());
    if let (Some(session), Some(key)) = (crate::KVDBClient::session(spec.session), key) {
        let flow = spec.flow(*session.core(), key);
        let r = driver::run_sync(&session, flow, || run().ok_or(()));
        if let Ok(v) = r {
            return v;
        }
    }
    observe(spec.function, Outcome::Error);
    match slot.take() {
        Some(f) => f(),
        // The flow returns the computed value whenever it fails open after computing.
        None => unreachable_after_compute(),
    }
}

/// The body of a sync cached function returning `Result<T, E>`: only `Ok` is stored.
#[doc(hidden)]
pub fn call_result<T, E, F>(spec: &CachedFn, key: Option<String>, body: F) -> Result<T, E>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Result<T, E>,
{
    let slot = Cell::new(Some(body));
    if let (Some(session), Some(key)) = (crate::KVDBClient::session(spec.session), key) {
        let flow = spec.flow(*session.core(), key);
        let r = driver::run_sync(&session, flow, || match slot.take() {
            Some(f) => f().map_err(Some),
            None => Err(None),
        });
        match r {
            Ok(v) => return Ok(v),
            Err(Failure::Compute(Some(e))) => return Err(e),
            _ => {}
        }
    }
    observe(spec.function, Outcome::Error);
    match slot.take() {
        Some(f) => f(),
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
    // A mutex, not a cell: the future must stay `Send` when the body's is.
    let slot = Slot::new(body);
    if let (Some(session), Some(key)) = (crate::KVDBClient::session(spec.session), key) {
        let flow = spec.flow(*session.core(), key);
        let aio = session.aio();
        let r = driver::run_async(&aio, flow, || async {
            match slot.take() {
                Some(f) => Ok(f().await),
                None => Err(()),
            }
        })
        .await;
        if let Ok(v) = r {
            return v;
        }
    }
    observe(spec.function, Outcome::Error);
    match slot.take() {
        Some(f) => f().await,
        None => unreachable_after_compute(),
    }
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
    let slot = Slot::new(body);
    if let (Some(session), Some(key)) = (crate::KVDBClient::session(spec.session), key) {
        let flow = spec.flow(*session.core(), key);
        let aio = session.aio();
        let r = driver::run_async(&aio, flow, || async {
            match slot.take() {
                Some(f) => f().await.map_err(Some),
                None => Err(None),
            }
        })
        .await;
        match r {
            Ok(v) => return Ok(v),
            Err(Failure::Compute(Some(e))) => return Err(e),
            _ => {}
        }
    }
    observe(spec.function, Outcome::Error);
    match slot.take() {
        Some(f) => f().await,
        None => unreachable_after_compute(),
    }
}

/// Pins the type of an async block's output, so `?` inside a cached async body knows its
/// error type.
#[doc(hidden)]
pub fn typed<T, F: std::future::Future<Output = T>>(f: F) -> F {
    f
}

/// The body, taken once (a `Sync` cell).
#[cfg(feature = "async")]
struct Slot<F>(std::sync::Mutex<Option<F>>);

#[cfg(feature = "async")]
impl<F> Slot<F> {
    fn new(f: F) -> Self {
        Slot(std::sync::Mutex::new(Some(f)))
    }

    fn take(&self) -> Option<F> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

#[cold]
fn unreachable_after_compute() -> ! {
    // An internal invariant, not an input: a flow that fails open returns the value it
    // computed, so the body is never consumed without an answer.
    panic!("kvdb internal error: a cached function's body ran but its value was lost")
}

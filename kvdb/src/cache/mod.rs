//! Cache-aside in Redis: return the cached value of a key, or compute it once (however many
//! callers, threads, tasks and processes miss it at the same moment), store it with a TTL and
//! return it. See `docs/caching.md`.
//!
//! ```no_run
//! # fn main() -> kvdb::Result<()> {
//! # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
//! use kvdb::cache::CacheOptions;
//! use std::time::Duration;
//!
//! # fn slow_report(_: u32) -> Vec<u64> { vec![] }
//! // One key, one TTL:
//! let report: Vec<u64> = session.get_or_set_with("report:7", Duration::from_secs(60), || slow_report(7))?;
//!
//! // A namespace with options, invalidated together:
//! let users = session.cache(CacheOptions::new().namespace("users").ttl(Duration::from_secs(300)))?;
//! let name: Option<String> = users.get_or_set_with("42", || Some("Ada".to_string()))?;
//! users.invalidate_all()?;
//! # Ok(()) }
//! ```
//!
//! Every call ends in one [`Outcome`], and every background refresh in one more, counted in
//! [`stats`]: the one place where hits, misses and refreshes are observed.

mod driver;
mod flight;
mod flow;
mod handle;
mod keys;
pub(crate) mod macro_rt;
mod options;
mod probe;

use std::sync::atomic::{AtomicU64, Ordering};

#[cfg(feature = "async")]
pub use handle::AsyncCache;
pub use handle::Cache;
pub use keys::{PREFIX, args_hash};
pub use macro_rt::with_mode;
#[cfg(feature = "async")]
pub use macro_rt::with_mode_async;
pub use options::{CacheOptions, CallMode, WaitTimeout};

/// How one cache-aside call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// The value was in the cache.
    Hit,
    /// The value was computed by another caller, which this one waited for.
    Waited,
    /// This call computed the value (a miss, an overwrite or a refresh).
    Computed,
    /// This call's computation failed and nothing was cached.
    ComputeFailed,
    /// The cache was off for this call (disabled, or [`CallMode::Bypass`]).
    Bypassed,
    /// Redis failed and the call computed without the cache ([`CacheOptions::fail_open`]).
    Error,
    /// A background refresh-ahead stored a new value (besides the [`Hit`](Self::Hit) of the
    /// call that started it).
    Refreshed,
    /// A background refresh-ahead failed (the computation returned an error or panicked, or
    /// Redis failed): the old value stays until it expires, nothing else is stored.
    RefreshFailed,
}

/// Counts of [`Outcome`]s in this process since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// [`Outcome::Hit`]s.
    pub hits: u64,
    /// [`Outcome::Waited`]s.
    pub waited: u64,
    /// [`Outcome::Computed`]s.
    pub computed: u64,
    /// [`Outcome::ComputeFailed`]s.
    pub compute_failed: u64,
    /// [`Outcome::Bypassed`]s.
    pub bypassed: u64,
    /// [`Outcome::Error`]s.
    pub errors: u64,
    /// [`Outcome::Refreshed`]s: background refreshes that stored a new value.
    pub refreshed: u64,
    /// [`Outcome::RefreshFailed`]s: background refreshes that failed.
    pub refresh_failed: u64,
}

static COUNTS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];

/// Records how a call on `key` ended. Metrics and tracing of cache hits and misses belong
/// here, and only here.
pub(crate) fn observe(_key: &str, outcome: Outcome) {
    let slot = match outcome {
        Outcome::Hit => 0,
        Outcome::Waited => 1,
        Outcome::Computed => 2,
        Outcome::ComputeFailed => 3,
        Outcome::Bypassed => 4,
        Outcome::Error => 5,
        Outcome::Refreshed => 6,
        Outcome::RefreshFailed => 7,
    };
    COUNTS[slot].fetch_add(1, Ordering::Relaxed);
    // Hits and misses for the `metrics` facade too (docs/observability.md).
    #[cfg(feature = "metrics")]
    {
        const NAMES: [&str; 6] = [
            "hit",
            "waited",
            "computed",
            "compute_failed",
            "bypassed",
            "error",
        ];
        metrics::counter!("kvdb.cache.calls", "outcome" => NAMES[slot]).increment(1);
    }
}

/// The counts of every cache-aside call of this process so far.
pub fn stats() -> CacheStats {
    let n = |i: usize| COUNTS[i].load(Ordering::Relaxed);
    CacheStats {
        hits: n(0),
        waited: n(1),
        computed: n(2),
        compute_failed: n(3),
        bypassed: n(4),
        errors: n(5),
        refreshed: n(6),
        refresh_failed: n(7),
    }
}

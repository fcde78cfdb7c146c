//! [`CacheOptions`]: what a [`Cache`](super::Cache) does on a miss, how long it keeps what it
//! computed, and how callers missing the same key at once share one computation.

use std::time::Duration;

/// How a cache behaves; built with chained setters, checked when the cache is created.
///
/// | option | default | what it does |
/// |---|---|---|
/// | [`namespace`](Self::namespace) | none | entries live at `_kvc_:<namespace>:<key>` and can be invalidated together |
/// | [`ttl`](Self::ttl) | 10 minutes | how long a computed value is kept |
/// | [`negative_ttl`](Self::negative_ttl) | never | keep a computed `None` (or `Ok(None)`) this long |
/// | [`error_ttl`](Self::error_ttl) | never | keep a computed `Err` (of a `Result` value) this long |
/// | [`refresh_ahead`](Self::refresh_ahead) | off | a hit this close to expiry recomputes the value once: in the background with [`get_or_refresh_with`](super::Cache::get_or_refresh_with), inline in one caller with `get_or_set_with` |
/// | [`jitter`](Self::jitter) | 0 | spread each TTL by up to this fraction either way |
/// | [`enabled`](Self::enabled) | true | `false`: compute every time, touch nothing |
/// | [`lock_ttl`](Self::lock_ttl) | 30 s | how long one computation may hold the single-flight lock |
/// | [`wait`](Self::wait) | 30 s | how long a caller waits for another's computation |
/// | [`on_wait_timeout`](Self::on_wait_timeout) | compute | what a caller does when that wait runs out |
/// | [`fail_open`](Self::fail_open) | false | on a Redis error, compute (and return) instead of failing |
///
/// ```
/// use kvdb::cache::{CacheOptions, WaitTimeout};
/// use std::time::Duration;
///
/// let opts = CacheOptions::new()
///     .namespace("users")
///     .ttl(Duration::from_secs(300))
///     .negative_ttl(Duration::from_secs(10))
///     .jitter(0.1)
///     .refresh_ahead(Duration::from_secs(30))
///     .wait(Duration::from_secs(5))
///     .on_wait_timeout(WaitTimeout::Fail);
/// # let _ = opts;
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct CacheOptions {
    pub(crate) namespace: Option<String>,
    pub(crate) ttl: Duration,
    pub(crate) negative_ttl: Option<Duration>,
    pub(crate) error_ttl: Option<Duration>,
    pub(crate) refresh_ahead: Option<Duration>,
    pub(crate) jitter: f64,
    pub(crate) enabled: bool,
    pub(crate) lock_ttl: Duration,
    pub(crate) wait: Duration,
    pub(crate) on_wait_timeout: WaitTimeout,
    pub(crate) fail_open: bool,
}

/// What a caller does when it has waited [`CacheOptions::wait`] for another caller's
/// computation and no value has appeared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitTimeout {
    /// Compute the value itself (and store it).
    Compute,
    /// Fail with [`Error::CacheWait`](crate::Error::CacheWait).
    Fail,
}

/// What one call does besides the usual lookup (kvdb-py's `cache_overwrite`,
/// `cache_invalidate` and `cache_disable` keywords).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallMode {
    /// Return the cached value, or compute and store it.
    #[default]
    Normal,
    /// Compute and store, whatever is cached.
    Overwrite,
    /// Delete the entry first, then as `Normal`.
    Invalidate,
    /// Compute without reading or writing the cache.
    Bypass,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheOptions {
    /// The defaults (see the table above).
    pub fn new() -> Self {
        CacheOptions {
            namespace: None,
            ttl: Duration::from_secs(600),
            negative_ttl: None,
            error_ttl: None,
            refresh_ahead: None,
            jitter: 0.0,
            enabled: true,
            lock_ttl: Duration::from_secs(30),
            wait: Duration::from_secs(30),
            on_wait_timeout: WaitTimeout::Compute,
            fail_open: false,
        }
    }

    /// Entries live at `_kvc_:<namespace>:<key>`; [`Cache::invalidate_all`](super::Cache::invalidate_all)
    /// removes them all. Without a namespace, keys are used as given.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// How long a computed value is kept (at least one millisecond).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Keep a computed `None` (or `()`, or `Ok(None)`) for `ttl`; by default it is never
    /// stored, so the next call computes again.
    pub fn negative_ttl(mut self, ttl: Duration) -> Self {
        self.negative_ttl = Some(ttl);
        self
    }

    /// Keep a computed `Err` for `ttl`, when the cached type is a `Result`; by default errors
    /// are never stored. (With [`Cache::get_or_try_set_with`](super::Cache::get_or_try_set_with)
    /// an error is the caller's and never stored.)
    pub fn error_ttl(mut self, ttl: Duration) -> Self {
        self.error_ttl = Some(ttl);
        self
    }

    /// When a hit has less than `window` left to live, the value is recomputed once (the
    /// caller that takes the refresh lock, in any process) while every other caller keeps
    /// getting the cached one. With an owned computation
    /// ([`Cache::get_or_refresh_with`](super::Cache::get_or_refresh_with)) that caller too
    /// returns the cached value at once and the refresh runs on a background thread or tokio
    /// task; with a borrowed one ([`Cache::get_or_set_with`](super::Cache::get_or_set_with))
    /// it recomputes inline. A failed refresh keeps the cached value.
    pub fn refresh_ahead(mut self, window: Duration) -> Self {
        self.refresh_ahead = Some(window);
        self
    }

    /// Spread each TTL by a random amount up to `fraction` of it either way (0 to 1), so that
    /// entries written together do not expire together.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = fraction;
        self
    }

    /// `false` turns the cache off: every call computes, nothing is read or written.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// How long one computation may hold the single-flight lock; when it runs longer (or the
    /// process dies), another caller may compute too. Set it above the computation's time.
    pub fn lock_ttl(mut self, ttl: Duration) -> Self {
        self.lock_ttl = ttl;
        self
    }

    /// How long a caller waits for another caller's computation of the same key.
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// What to do when [`wait`](Self::wait) runs out.
    pub fn on_wait_timeout(mut self, then: WaitTimeout) -> Self {
        self.on_wait_timeout = then;
        self
    }

    /// On a Redis error (server down, a value that does not decode is *not* one: that stays
    /// an error), compute and return the value instead of failing: the cache then costs
    /// availability nothing. What `#[kvdb::cached]` uses.
    pub fn fail_open(mut self, on: bool) -> Self {
        self.fail_open = on;
        self
    }

    /// Checks the options: TTLs of at least a millisecond, a jitter between 0 and 1.
    pub(crate) fn validate(&self) -> crate::Result<()> {
        use super::keys::ttl_millis;
        ttl_millis(self.ttl, "ttl")?;
        ttl_millis(self.lock_ttl, "lock_ttl")?;
        if let Some(t) = self.negative_ttl {
            ttl_millis(t, "negative_ttl")?;
        }
        if let Some(t) = self.error_ttl {
            ttl_millis(t, "error_ttl")?;
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err(crate::Error::InvalidOption {
                option: "jitter",
                reason: format!("{} is not a fraction between 0 and 1", self.jitter),
            });
        }
        Ok(())
    }
}

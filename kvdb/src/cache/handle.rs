//! [`Cache`] and [`AsyncCache`]: a session plus [`CacheOptions`], and the session's own
//! `get_or_set_with`.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::driver::{self, Failure};
use super::flow::Flow;
use super::keys::{entry_key, namespace_pattern};
use super::options::{CacheOptions, CallMode};
use crate::error::{Error, Result};
use crate::{ScanOptions, Session};

/// How many keys namespace invalidation deletes per `DEL`.
const DELETE_BATCH: usize = 500;

/// A cache over a session: [`CacheOptions`] and, with a namespace, its keys. Cheap to clone.
/// From [`Session::cache`]; [`aio`](Self::aio) gives the async twin.
#[derive(Clone, Debug)]
pub struct Cache {
    session: Session,
    opts: Arc<CacheOptions>,
    mode: CallMode,
}

/// The async twin of a [`Cache`], from [`Cache::aio`] or [`AsyncSession::cache`](crate::AsyncSession::cache).
#[cfg(feature = "async")]
#[derive(Clone, Debug)]
pub struct AsyncCache {
    session: crate::AsyncSession,
    opts: Arc<CacheOptions>,
    mode: CallMode,
}

fn full_key(opts: &CacheOptions, key: &str) -> String {
    match &opts.namespace {
        Some(ns) => entry_key(ns, key),
        None => key.to_owned(),
    }
}

fn no_namespace() -> Error {
    Error::InvalidOption {
        option: "namespace",
        reason: "invalidate_all needs a cache with a namespace (CacheOptions::namespace)".into(),
    }
}

fn unwrap_infallible<T>(r: std::result::Result<T, Failure<std::convert::Infallible>>) -> Result<T> {
    match r {
        Ok(v) => Ok(v),
        Err(Failure::Cache(e)) => Err(e),
        Err(Failure::Compute(never)) => match never {},
    }
}

fn into_caller<T, E: From<Error>>(
    r: std::result::Result<T, Failure<E>>,
) -> std::result::Result<T, E> {
    r.map_err(|f| match f {
        Failure::Cache(e) => e.into(),
        Failure::Compute(e) => e,
    })
}

impl Session {
    /// A cache with `options` over this session; fails if an option is invalid (a TTL under
    /// a millisecond, a jitter outside 0..=1).
    pub fn cache(&self, options: CacheOptions) -> Result<Cache> {
        options.validate()?;
        Ok(Cache {
            session: self.clone(),
            opts: Arc::new(options),
            mode: CallMode::Normal,
        })
    }

    /// Returns the value at `key`, or computes it, stores it for `ttl` and returns it; of the
    /// callers that miss `key` at once, in any thread or process, one computes and the others
    /// wait for its value. The default [`CacheOptions`] otherwise (`None` is not cached; see
    /// [`cache`](Self::cache) for more).
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use std::time::Duration;
    /// let total: u64 = session.get_or_set_with("stats:total", Duration::from_secs(60), || {
    ///     (1..=1_000_000u64).sum() // slow
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn get_or_set_with<T, F>(&self, key: &str, ttl: Duration, compute: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        self.cache(CacheOptions::new().ttl(ttl))?
            .get_or_set_with(key, compute)
    }
}

impl Cache {
    /// The same cache with `mode` for the calls made through the returned handle.
    pub fn with_mode(&self, mode: CallMode) -> Cache {
        Cache {
            mode,
            ..self.clone()
        }
    }

    /// The options.
    pub fn options(&self) -> &CacheOptions {
        &self.opts
    }

    /// The Redis key of the entry `key` (`_kvc_:<namespace>:<key>`, or `key` without a
    /// namespace).
    pub fn redis_key(&self, key: &str) -> String {
        full_key(&self.opts, key)
    }

    /// The async twin of this cache.
    #[cfg(feature = "async")]
    pub fn aio(&self) -> AsyncCache {
        AsyncCache {
            session: self.session.aio(),
            opts: self.opts.clone(),
            mode: self.mode,
        }
    }

    fn flow<T: Serialize + DeserializeOwned>(&self, key: &str) -> Flow<T> {
        Flow::new(
            *self.session.core(),
            self.redis_key(key),
            (*self.opts).clone(),
            self.mode,
        )
    }

    /// The cached value of `key`, or `compute()`'s, stored (see [`CacheOptions`] for what is
    /// stored for how long). The computation may borrow, so a due
    /// [`refresh_ahead`](CacheOptions::refresh_ahead) runs inline in the one caller that takes
    /// the refresh lock (the others are served the cached value); for a background refresh
    /// pass an owned computation to [`get_or_refresh_with`](Self::get_or_refresh_with).
    pub fn get_or_set_with<T, F>(&self, key: &str, compute: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> T,
    {
        let flow = self.flow(key);
        unwrap_infallible(driver::run_sync(&self.session, flow, || Ok(compute())))
    }

    /// As [`get_or_set_with`](Self::get_or_set_with) for a computation that can fail: only
    /// `Ok` values are stored; an `Err` is returned to this caller and never cached (the
    /// callers waiting for this computation then compute themselves).
    pub fn get_or_try_set_with<T, E, F>(&self, key: &str, compute: F) -> std::result::Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Error>,
        F: FnOnce() -> std::result::Result<T, E>,
    {
        let flow = self.flow(key);
        into_caller(driver::run_sync(&self.session, flow, compute))
    }

    /// As [`get_or_set_with`](Self::get_or_set_with), for an owned computation (`Send +
    /// 'static`: it borrows nothing, e.g. a `move` closure over cloned inputs): with
    /// [`refresh_ahead`](CacheOptions::refresh_ahead), a hit within the window returns the
    /// cached value at once and recomputes on a background thread, which holds the refresh
    /// lock (so one caller in all processes refreshes), stores the new value with a fresh TTL
    /// and releases the lock. A failed background refresh (the computation panics, or its
    /// value is not to be stored, or Redis fails) keeps the old value and is counted as
    /// [`Outcome::RefreshFailed`](super::Outcome::RefreshFailed) in [`stats`](super::stats).
    /// On a miss the computation runs in this caller, as with `get_or_set_with`.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use kvdb::cache::CacheOptions;
    /// use std::time::Duration;
    /// # fn load_rates(_: &str) -> Vec<f64> { vec![] }
    /// let rates = session.cache(
    ///     CacheOptions::new()
    ///         .namespace("rates")
    ///         .ttl(Duration::from_secs(300))
    ///         .refresh_ahead(Duration::from_secs(60)),
    /// )?;
    /// let currency = "EUR".to_string();
    /// let key = currency.clone();
    /// // In the last minute of the entry, callers get the cached rates at once while one
    /// // background thread loads fresh ones.
    /// let eur: Vec<f64> = rates.get_or_refresh_with(&key, move || load_rates(&currency))?;
    /// # Ok(()) }
    /// ```
    pub fn get_or_refresh_with<T, F>(&self, key: &str, compute: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let flow = self.flow(key);
        unwrap_infallible(driver::run_sync_owned(&self.session, flow, move || {
            Ok(compute())
        }))
    }

    /// As [`get_or_try_set_with`](Self::get_or_try_set_with), for an owned computation that
    /// refreshes in the background (see [`get_or_refresh_with`](Self::get_or_refresh_with)):
    /// an `Err` of a background refresh is counted as
    /// [`Outcome::RefreshFailed`](super::Outcome::RefreshFailed) and dropped (no caller is
    /// waiting for it), and the old value stays.
    pub fn get_or_try_refresh_with<T, E, F>(
        &self,
        key: &str,
        compute: F,
    ) -> std::result::Result<T, E>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        E: From<Error>,
        F: FnOnce() -> std::result::Result<T, E> + Send + 'static,
    {
        let flow = self.flow(key);
        into_caller(driver::run_sync_owned(&self.session, flow, compute))
    }

    /// The cached value of `key`, if any (no computation).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.session.get(&self.redis_key(key))
    }

    /// Removes the entry `key`; returns whether it existed.
    pub fn invalidate(&self, key: &str) -> Result<bool> {
        Ok(self.session.delete(&[&self.redis_key(key)])? > 0)
    }

    /// Removes every entry of the namespace (found with `SCAN`, never `KEYS`, deleted in
    /// batches); returns how many. On a Cluster every node is scanned.
    pub fn invalidate_all(&self) -> Result<u64> {
        let ns = self.opts.namespace.as_deref().ok_or_else(no_namespace)?;
        let mut batch = Vec::with_capacity(DELETE_BATCH);
        let mut deleted = 0;
        let keys = self.session.scan(
            ScanOptions::new()
                .pattern(namespace_pattern(ns))
                .count(1000),
        )?;
        for key in keys {
            batch.push(key?);
            if batch.len() == DELETE_BATCH {
                deleted += self.delete_batch(&mut batch)?;
            }
        }
        Ok(deleted + self.delete_batch(&mut batch)?)
    }

    fn delete_batch(&self, batch: &mut Vec<String>) -> Result<u64> {
        if batch.is_empty() {
            return Ok(0);
        }
        let keys: Vec<&str> = batch.iter().map(String::as_str).collect();
        let n = self.session.delete(&keys)?;
        batch.clear();
        Ok(n)
    }
}

#[cfg(feature = "async")]
impl crate::AsyncSession {
    /// A cache with `options` over this session (see [`Session::cache`]).
    pub fn cache(&self, options: CacheOptions) -> Result<AsyncCache> {
        Ok(self.blocking().cache(options)?.aio())
    }

    /// Returns the value at `key`, or awaits `compute()`, stores it for `ttl` and returns it
    /// (see [`Session::get_or_set_with`]).
    ///
    /// ```no_run
    /// # async fn run(session: kvdb::AsyncSession) -> kvdb::Result<()> {
    /// use std::time::Duration;
    /// let page: String = session
    ///     .get_or_set_with("page:/", Duration::from_secs(30), || async { "<html>".to_string() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_or_set_with<T, F, Fut>(
        &self,
        key: &str,
        ttl: Duration,
        compute: F,
    ) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        self.cache(CacheOptions::new().ttl(ttl))?
            .get_or_set_with(key, compute)
            .await
    }
}

#[cfg(feature = "async")]
impl AsyncCache {
    /// The same cache with `mode` for the calls made through the returned handle.
    pub fn with_mode(&self, mode: CallMode) -> AsyncCache {
        AsyncCache {
            mode,
            ..self.clone()
        }
    }

    /// The blocking twin of this cache.
    pub fn blocking(&self) -> Cache {
        Cache {
            session: self.session.blocking(),
            opts: self.opts.clone(),
            mode: self.mode,
        }
    }

    /// The Redis key of the entry `key`.
    pub fn redis_key(&self, key: &str) -> String {
        full_key(&self.opts, key)
    }

    fn flow<T: Serialize + DeserializeOwned>(&self, key: &str) -> Flow<T> {
        Flow::new(
            *self.session.core(),
            self.redis_key(key),
            (*self.opts).clone(),
            self.mode,
        )
    }

    /// See [`Cache::get_or_set_with`].
    pub async fn get_or_set_with<T, F, Fut>(&self, key: &str, compute: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = T>,
    {
        let flow = self.flow(key);
        let compute = || async { Ok(compute().await) };
        unwrap_infallible(driver::run_async(&self.session, flow, compute).await)
    }

    /// See [`Cache::get_or_try_set_with`].
    pub async fn get_or_try_set_with<T, E, F, Fut>(
        &self,
        key: &str,
        compute: F,
    ) -> std::result::Result<T, E>
    where
        T: Serialize + DeserializeOwned,
        E: From<Error>,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<T, E>>,
    {
        let flow = self.flow(key);
        into_caller(driver::run_async(&self.session, flow, compute).await)
    }

    /// See [`Cache::get_or_refresh_with`]: a due refresh-ahead is spawned on the current
    /// tokio runtime, and this call returns the cached value at once.
    ///
    /// ```no_run
    /// # async fn run(rates: kvdb::cache::AsyncCache) -> kvdb::Result<()> {
    /// # async fn load_rates(_: &str) -> Vec<f64> { vec![] }
    /// let currency = "EUR".to_string();
    /// let eur: Vec<f64> = rates
    ///     .get_or_refresh_with("EUR", move || async move { load_rates(&currency).await })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn get_or_refresh_with<T, F, Fut>(&self, key: &str, compute: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = T> + Send + 'static,
    {
        let flow = self.flow(key);
        let compute = move || async move { Ok(compute().await) };
        unwrap_infallible(driver::run_async_owned(&self.session, flow, compute).await)
    }

    /// See [`Cache::get_or_try_refresh_with`].
    pub async fn get_or_try_refresh_with<T, E, F, Fut>(
        &self,
        key: &str,
        compute: F,
    ) -> std::result::Result<T, E>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
        E: From<Error>,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: std::future::Future<Output = std::result::Result<T, E>> + Send + 'static,
    {
        let flow = self.flow(key);
        into_caller(driver::run_async_owned(&self.session, flow, compute).await)
    }

    /// See [`Cache::get`].
    pub async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        self.session.get(&self.redis_key(key)).await
    }

    /// See [`Cache::invalidate`].
    pub async fn invalidate(&self, key: &str) -> Result<bool> {
        Ok(self.session.delete(&[&self.redis_key(key)]).await? > 0)
    }

    /// See [`Cache::invalidate_all`].
    pub async fn invalidate_all(&self) -> Result<u64> {
        use futures_util::StreamExt;
        let ns = self.opts.namespace.as_deref().ok_or_else(no_namespace)?;
        let keys = self.session.scan(
            ScanOptions::new()
                .pattern(namespace_pattern(ns))
                .count(1000),
        )?;
        let mut keys = std::pin::pin!(keys.chunks(DELETE_BATCH));
        let mut deleted = 0;
        while let Some(chunk) = keys.next().await {
            let chunk: Vec<String> = chunk.into_iter().collect::<Result<_>>()?;
            let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
            deleted += self.session.delete(&refs).await?;
        }
        Ok(deleted)
    }
}

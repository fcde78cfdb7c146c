//! [`KvMap`]: a typed map over one Redis hash, kvdb-py's `PersistentDict` done typed; and its
//! async twin [`AsyncKvMap`]. From [`Session::map`](crate::Session::map).
//!
//! Keys are [`KeyPart`]s (integers, `bool`, `char`, strings, your own types) written as hash
//! fields escaped like model key parts; values are in the session's format (self-describing).
//! Per-field TTLs use Redis 7.4's `HPEXPIRE` when the server has it, else a Lua fallback (see
//! [`TtlMode`]). A field or value that does not decode is an `Err` naming the map and the
//! field; nothing is ever deleted because of it.
//!
//! ```no_run
//! # fn main() -> kvdb::Result<()> {
//! # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
//! use std::time::Duration;
//! let prices = session.map::<String, f64>("prices");
//! prices.insert(&"apple".to_string(), &1.25)?;
//! prices.expire(&"apple".to_string(), Duration::from_secs(60))?;
//! let bumped = prices.update(&"apple".to_string(), |p| p.map(|p| p * 1.1))?;
//! for entry in prices.iter()? {
//!     let (name, price) = entry?;
//!     println!("{name}: {price}");
//! }
//! # Ok(()) }
//! ```

pub(crate) mod ops;
pub(crate) mod ttl;
mod update;

use crate::retry::Safety;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use ttl::TtlMode;

use crate::error::Result;
use crate::model::KeyPart;

/// A typed map over the Redis hash `name`. Cheap to clone.
pub struct KvMap<K, V> {
    session: crate::Session,
    name: String,
    deadlines: String,
    mode: Arc<OnceLock<TtlMode>>,
    _types: PhantomData<fn() -> (K, V)>,
}

/// The async twin of a [`KvMap`], from [`AsyncSession::map`](crate::AsyncSession::map) or
/// [`KvMap::aio`].
#[cfg(feature = "async")]
pub struct AsyncKvMap<K, V> {
    session: crate::AsyncSession,
    name: String,
    deadlines: String,
    mode: Arc<OnceLock<TtlMode>>,
    _types: PhantomData<fn() -> (K, V)>,
}

macro_rules! common {
    ($ty:ident, $session:ty) => {
        impl<K, V> Clone for $ty<K, V> {
            fn clone(&self) -> Self {
                $ty {
                    session: self.session.clone(),
                    name: self.name.clone(),
                    deadlines: self.deadlines.clone(),
                    mode: self.mode.clone(),
                    _types: PhantomData,
                }
            }
        }

        impl<K, V> std::fmt::Debug for $ty<K, V> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    .field("name", &self.name)
                    .field("ttl_mode", &self.mode.get())
                    .finish_non_exhaustive()
            }
        }

        impl<K, V> $ty<K, V> {
            fn new(session: $session, name: &str) -> Self {
                $ty {
                    session,
                    name: name.to_owned(),
                    deadlines: format!("{name}:_kvdb_ttl"),
                    mode: Arc::new(OnceLock::new()),
                    _types: PhantomData,
                }
            }

            /// The Redis key of the hash.
            pub fn name(&self) -> &str {
                &self.name
            }

            /// The same map with its TTL mode set instead of detected from the server's
            /// version (e.g. to use the Lua fallback on a 7.4 server).
            pub fn with_ttl_mode(self, mode: TtlMode) -> Self {
                let cell = OnceLock::new();
                let _ = cell.set(mode);
                $ty {
                    mode: Arc::new(cell),
                    ..self
                }
            }
        }
    };
}

common!(KvMap, crate::Session);
#[cfg(feature = "async")]
common!(AsyncKvMap, crate::AsyncSession);

impl crate::Session {
    /// A typed map over the Redis hash `name` (no I/O until used).
    pub fn map<K, V>(&self, name: &str) -> KvMap<K, V> {
        KvMap::new(self.clone(), name)
    }
}

#[cfg(feature = "async")]
impl crate::AsyncSession {
    /// A typed map over the Redis hash `name` (no I/O until used).
    pub fn map<K, V>(&self, name: &str) -> AsyncKvMap<K, V> {
        AsyncKvMap::new(self.clone(), name)
    }
}

/// Declares map methods once for [`KvMap`] and [`AsyncKvMap`]: each builds a `MapOp` from the
/// core, the map's keys and its TTL mode, and the transport runs it (after the fallback's
/// purge when the mode needs it). The marker in brackets is the retry safety, as in
/// `session_methods!`: `read` (`HGET`, `HLEN`...) or `idempotent` (`HSET`, `HDEL`, `DEL`);
/// the Lua fallback's purge, sent with it, is idempotent too.
macro_rules! map_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident $([$($gen:tt)*])? ($($arg:ident : $ty:ty),* $(,)?) -> $out:ty
            = [$safety:ident] |$core:ident, $map:ident, $dl:ident, $mode:ident| $op:expr;
    )*) => {
        /// Each map method and its retry safety marker, for the safety tests.
        #[cfg(test)]
        pub(crate) const RETRY_SAFETY: &[(&str, &str)] = &[
            $((stringify!($name), stringify!($safety)),)*
        ];

        impl<K: KeyPart + DeserializeOwned, V: Serialize + DeserializeOwned> KvMap<K, V> {
            $(
                $(#[$meta])*
                pub fn $name $(<$($gen)*>)? (&self, $($arg: $ty),*) -> Result<$out> {
                    let $mode = self.ttl_mode()?;
                    let ($core, $map, $dl) = (self.session.core(), &self.name, &self.deadlines);
                    let op = ttl::prepare($op?, $mode, $map, $dl);
                    let safety = op.safety_with(map_methods!(@safety $safety));
                    let info = self.session.op_info(stringify!($name)).with_safety(safety);
                    self.session.pool().sync.run(op, info)
                }
            )*
        }

        #[cfg(feature = "async")]
        impl<K: KeyPart + DeserializeOwned, V: Serialize + DeserializeOwned> AsyncKvMap<K, V> {
            $(
                $(#[$meta])*
                pub async fn $name $(<$($gen)*>)? (&self, $($arg: $ty),*) -> Result<$out> {
                    let $mode = self.ttl_mode().await?;
                    let ($core, $map, $dl) = (self.session.core(), &self.name, &self.deadlines);
                    let op = ttl::prepare($op?, $mode, $map, $dl);
                    let safety = op.safety_with(map_methods!(@safety $safety));
                    let info = self.session.op_info(stringify!($name)).with_safety(safety);
                    self.session.pool().aio.run(op, info).await
                }
            )*
        }
    };
    (@safety read) => { Safety::Read };
    (@safety idempotent) => { Safety::Idempotent };
}

map_methods! {
    /// The value of `key`, if present.
    fn get(key: &K) -> Option<V> = [read] |core, map, _dl, _mode| ops::get::<K, V>(core, map, key);

    /// Sets `key` to `value` (and forgets any TTL the field had); whether `key` is new.
    fn insert(key: &K, value: &V) -> bool = [idempotent] |core, map, dl, _mode| ops::insert(core, map, dl, key, value);

    /// Sets every entry in one command; how many keys are new.
    fn insert_many(entries: &[(K, V)]) -> u64 = [idempotent] |core, map, dl, _mode| ops::insert_many(core, map, dl, entries);

    /// The values of `keys`, in order (`None` where absent).
    fn get_many(keys: &[K]) -> Vec<Option<V>> = [read] |core, map, _dl, _mode| ops::get_many::<K, V>(core, map, keys);

    /// Removes `key`; whether it was present.
    fn remove(key: &K) -> bool = [idempotent] |_core, map, dl, _mode| ops::remove(map, dl, key);

    /// Whether `key` is present.
    fn contains_key(key: &K) -> bool = [read] |_core, map, _dl, _mode| ops::contains_key(map, key);

    /// The number of entries.
    fn len() -> u64 = [read] |_core, map, _dl, _mode| ops::len(map);

    /// Whether the map has no entries.
    fn is_empty() -> bool = [read] |_core, map, _dl, _mode| ops::is_empty(map);

    /// Removes every entry (deletes the hash); whether it existed.
    fn clear() -> bool = [idempotent] |_core, map, dl, _mode| ops::clear(map, dl);

    /// Makes the entry `key` expire after `ttl` (at least a millisecond); whether it exists.
    fn expire(key: &K, ttl: Duration) -> bool = [idempotent] |_core, map, dl, mode| ttl::expire(map, dl, key, ttl, mode);

    /// The time the entry `key` has left; `None` if it has no TTL or does not exist.
    fn ttl(key: &K) -> Option<Duration> = [read] |_core, map, dl, mode| ttl::ttl(map, dl, key, mode);

    /// Removes the TTL of the entry `key`; whether it had one.
    fn persist(key: &K) -> bool = [idempotent] |_core, map, dl, mode| ttl::persist(map, dl, key, mode);
}

impl<K, V> KvMap<K, V> {
    /// How this map keeps per-field TTLs (asks the server its version once).
    pub fn ttl_mode(&self) -> Result<TtlMode> {
        if let Some(m) = self.mode.get() {
            return Ok(*m);
        }
        let m = self.session.pool().sync.run(
            ttl::detect(),
            self.session
                .op_info("map_ttl_mode")
                .with_safety(Safety::Read),
        )?;
        Ok(*self.mode.get_or_init(|| m))
    }
}

impl<K: KeyPart + DeserializeOwned, V: Serialize + DeserializeOwned> KvMap<K, V> {
    /// The async twin of this map.
    #[cfg(feature = "async")]
    pub fn aio(&self) -> AsyncKvMap<K, V> {
        AsyncKvMap {
            session: self.session.aio(),
            name: self.name.clone(),
            deadlines: self.deadlines.clone(),
            mode: self.mode.clone(),
            _types: PhantomData,
        }
    }

    /// Reads the entry `key`, computes its new value with `f` (`None` removes it) and writes
    /// it only if the entry has not changed meanwhile (compare-and-set; on a conflict, read
    /// again after a short random pause, up to 1,000 times, then
    /// [`Error::Conflict`](crate::Error::Conflict)); returns the value written.
    pub fn update<F>(&self, key: &K, f: F) -> Result<Option<V>>
    where
        F: FnMut(Option<V>) -> Option<V>,
    {
        let mode = self.ttl_mode()?;
        self.purge(mode)?;
        let conv = update::update(
            self.session.core(),
            &self.name,
            &self.deadlines,
            mode,
            key,
            f,
        )?;
        self.session
            .pool()
            .sync
            .converse(conv, self.session.op_info("map_update"))
    }

    fn purge(&self, mode: TtlMode) -> Result<()> {
        if mode == TtlMode::LuaFallback {
            self.session.pool().sync.run(
                ttl::purge(&self.name, &self.deadlines),
                self.session
                    .op_info("map_purge")
                    .with_safety(Safety::Idempotent),
            )?;
        }
        Ok(())
    }

    /// Every entry, read lazily with `HSCAN` (a page at a time); an entry that does not
    /// decode is an `Err` item, and the iteration goes on.
    pub fn iter(&self) -> Result<impl Iterator<Item = Result<(K, V)>> + '_> {
        self.purge(self.ttl_mode()?)?;
        let core = *self.session.core();
        let scan = ops::Scan {
            map: self.name.clone(),
        };
        Ok(self
            .session
            .pool()
            .sync
            .pages(scan, self.session.op_info("map_iter"))
            .map(move |raw| raw.and_then(|e| ops::entry(&core, &self.name, e))))
    }

    /// Every key (see [`iter`](Self::iter)).
    pub fn keys(&self) -> Result<impl Iterator<Item = Result<K>> + '_> {
        Ok(self.iter()?.map(|e| e.map(|(k, _)| k)))
    }

    /// Every value (see [`iter`](Self::iter)).
    pub fn values(&self) -> Result<impl Iterator<Item = Result<V>> + '_> {
        Ok(self.iter()?.map(|e| e.map(|(_, v)| v)))
    }
}

#[cfg(feature = "async")]
impl<K, V> AsyncKvMap<K, V> {
    /// How this map keeps per-field TTLs (asks the server its version once).
    pub async fn ttl_mode(&self) -> Result<TtlMode> {
        if let Some(m) = self.mode.get() {
            return Ok(*m);
        }
        let m = self
            .session
            .pool()
            .aio
            .run(
                ttl::detect(),
                self.session
                    .op_info("map_ttl_mode")
                    .with_safety(Safety::Read),
            )
            .await?;
        Ok(*self.mode.get_or_init(|| m))
    }
}

#[cfg(feature = "async")]
impl<K, V> AsyncKvMap<K, V>
where
    K: KeyPart + DeserializeOwned + Send + 'static,
    V: Serialize + DeserializeOwned + Send + 'static,
{
    async fn purge(&self, mode: TtlMode) -> Result<()> {
        if mode == TtlMode::LuaFallback {
            self.session
                .pool()
                .aio
                .run(
                    ttl::purge(&self.name, &self.deadlines),
                    self.session
                        .op_info("map_purge")
                        .with_safety(Safety::Idempotent),
                )
                .await?;
        }
        Ok(())
    }

    /// See [`KvMap::update`].
    pub async fn update<F>(&self, key: &K, f: F) -> Result<Option<V>>
    where
        F: FnMut(Option<V>) -> Option<V> + Send,
    {
        let mode = self.ttl_mode().await?;
        self.purge(mode).await?;
        let conv = update::update(
            self.session.core(),
            &self.name,
            &self.deadlines,
            mode,
            key,
            f,
        )?;
        self.session
            .pool()
            .aio
            .converse(conv, self.session.op_info("map_update"))
            .await
    }

    /// Every entry as a stream, read lazily with `HSCAN` (see [`KvMap::iter`]).
    pub async fn iter(
        &self,
    ) -> Result<impl futures_core::Stream<Item = Result<(K, V)>> + Send + '_> {
        use futures_util::StreamExt;
        self.purge(self.ttl_mode().await?).await?;
        let core = *self.session.core();
        let scan = ops::Scan {
            map: self.name.clone(),
        };
        Ok(self
            .session
            .pool()
            .aio
            .pages(scan, self.session.op_info("map_iter"))
            .map(move |raw| raw.and_then(|e| ops::entry(&core, &self.name, e))))
    }

    /// Every key as a stream (see [`iter`](Self::iter)).
    pub async fn keys(&self) -> Result<impl futures_core::Stream<Item = Result<K>> + Send + '_> {
        use futures_util::StreamExt;
        Ok(self.iter().await?.map(|e| e.map(|(k, _)| k)))
    }

    /// Every value as a stream (see [`iter`](Self::iter)).
    pub async fn values(&self) -> Result<impl futures_core::Stream<Item = Result<V>> + Send + '_> {
        use futures_util::StreamExt;
        Ok(self.iter().await?.map(|e| e.map(|(_, v)| v)))
    }
}

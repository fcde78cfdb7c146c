//! kvdb: typed values and models in Redis.
//!
//! kvdb stores Rust values in Redis through named sessions, each with its own serializer and
//! compression, and reads them back as their exact types. Every stored value describes itself
//! (codec, compression, type tag, schema version), so sessions with different settings read
//! each other's data, and scalars stay plain Redis values that `INCR` and other clients
//! understand. It is a Rust port, and an improvement, of the Python library kvdb-py.
//!
//! ```no_run
//! use kvdb::{Compression, KVDBClient, Serializer, SessionOptions};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize)]
//! struct User { id: u64, name: String }
//!
//! let session = KVDBClient::get_session(
//!     SessionOptions::new("app")
//!         .url("redis://localhost:6379/0")
//!         .serializer(Serializer::Json)
//!         .compression(Compression::Zstd),
//! )?;
//! session.set("users:42", &User { id: 42, name: "Alice".into() })?;
//! let user: Option<User> = session.get("users:42")?;
//! session.set("visits", &1)?; // stored as the plain string "1": INCR works on it
//! # Ok::<(), kvdb::Error>(())
//! ```
//!
//! The same methods exist on [`AsyncSession`] (from [`Session::aio`]) as `async fn`s. **Inside
//! async code, use `aio()`**: a blocking [`Session`] method holds the runtime's worker thread
//! for the whole round trip. Async scans and subscriptions are [`Stream`]s: `use
//! kvdb::StreamExt;` gives them `next().await`.
//!
//! # Pipelines and transactions of models
//!
//! Every single-command operation of [`Session`] is also on [`Pipeline`] (same name, same
//! arguments, a typed [`Handle`] to its result), models included; several keys change
//! together with [`Session::transaction`] (optimistic: `WATCH`, read, queue writes, `EXEC`,
//! re-run on conflict):
//!
//! ```no_run
//! use kvdb::KvModel;
//! use kvdb::model::key_of;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, KvModel)]
//! #[kv(prefix = "stock")]
//! struct Stock { #[kv(key)] sku: String, qty: u32 }
//!
//! # fn demo(session: &kvdb::Session) -> kvdb::Result<()> {
//! let mut p = session.pipeline().atomic();
//! let stored = p.set_model(&Stock { sku: "A".into(), qty: 7 });
//! let a = p.get_model::<Stock>("A");
//! let mut results = session.execute(p)?;
//! results.take(stored)?;
//! assert_eq!(results.take(a)?.map(|s| s.qty), Some(7));
//!
//! // Move 5 from A to B, only if A has enough.
//! let keys = [key_of::<Stock>("A")?, key_of::<Stock>("B")?];
//! let moved = session.transaction(&[&keys[0], &keys[1]], |tx| {
//!     let (Some(mut a), Some(mut b)) = (tx.get_model::<Stock>("A")?, tx.get_model::<Stock>("B")?)
//!     else { return Ok(false) };
//!     if a.qty < 5 {
//!         return Ok(false); // nothing is written
//!     }
//!     (a.qty, b.qty) = (a.qty - 5, b.qty + 5);
//!     tx.set_model(&a).set_model(&b);
//!     Ok::<_, kvdb::Error>(true)
//! })?;
//! # Ok(()) }
//! ```
//!
//! # Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `derive` | yes | `#[derive(KvModel)]` |
//! | `async` | yes | [`AsyncSession`], on tokio (`redis` with `tokio-comp` and `connection-manager`) |
//! | `cbor` | yes | [`Serializer::Cbor`] (ciborium) |
//! | `msgpack` | yes | [`Serializer::MsgPack`] (rmp-serde) |
//! | `zstd` | yes | [`Compression::Zstd`] |
//! | `lz4` | yes | [`Compression::Lz4`] (LZ4 frame format, lz4_flex) |
//! | `gzip` | yes | [`Compression::Gzip`] (flate2) |
//! | `zlib` | yes | [`Compression::Zlib`] (flate2) |
//! | `tls` | no | `rediss://` (and `rediss+cluster://`, `rediss+sentinel://`) with rustls (ring provider): [`SessionOptions::tls_ca_cert`] and client certificates |
//! | `cluster` | no | Redis Cluster sessions (`redis+cluster://h1:p1,h2:p2`, [`SessionOptions::cluster_nodes`]); pulls in the `redis` crate's cluster clients (and its tokio support) |
//! | `sentinel` | no | Sentinel sessions that follow failovers (`redis+sentinel://s1:p1,s2:p2/mymaster/0`, [`SessionOptions::sentinel`]), with sentinel credentials and replica reads |
//! | `uuid` | no | `uuid::Uuid` as a model key part ([`model::key_features`]) |
//! | `ulid` | no | `ulid::Ulid` as a model key part |
//! | `chrono` | no | `chrono::NaiveDate` as a model key part |
//! | `time` | no | `time::Date` as a model key part |
//! | `tracing` | no | a `tracing` span per session operation, with OpenTelemetry database fields (`docs/observability.md`) |
//! | `metrics` | no | operation counts and latencies, bytes, compression, pool and connection-error metrics through the `metrics` facade (`docs/observability.md`) |
//! | `testing` | no | [`testing::TestServer`], `TestCluster`, `TestSentinel`: throwaway servers for tests and examples |
//!
//! JSON is always available. A value written with a codec or compression that this build
//! lacks reads as [`Error::NotCompiledIn`], naming the feature to enable.
//!
//! # Cluster and Sentinel
//!
//! With the `cluster` or `sentinel` feature, a session can talk to a Redis Cluster or to a
//! sentinel-managed primary with the same API. Multi-key operations (`mget`, `get_models`,
//! `set_models`, plain pipelines, `delete`, `scan`) are split by hash slot
//! ([`key_slot`]); atomic ones over several slots fail with [`Error::CrossSlot`]. See
//! `docs/scaling.md`.
//!
//! ```no_run
//! # fn main() -> kvdb::Result<()> {
//! use kvdb::{KVDBClient, SessionOptions};
//! let session = KVDBClient::get_session(
//!     SessionOptions::new("orders").url("redis+cluster://127.0.0.1:7000,127.0.0.1:7001"),
//! )?;
//! let counts: Vec<Option<u64>> = session.mget(&["a", "b", "c"])?; // three slots, one call
//! # Ok(()) }
//! ```
//!
//! # Caching and maps
//!
//! [`Session::get_or_set_with`] (and [`cache::Cache`], [`#[kvdb::cached]`](macro@cached))
//! return a cached value or compute it once, however many threads, tasks and processes miss it
//! at once; [`Session::map`] gives a typed map over one hash ([`map::KvMap`]) with per-field
//! TTLs. See `docs/caching.md`.
//!
//! # Pub/sub
//!
//! [`Session::subscribe`] and [`Session::psubscribe`] (and their async twins) return a
//! subscription on a connection of its own that yields [`Event`]s: typed messages, and news
//! of its connection, which it re-establishes by itself (every channel and pattern subscribed
//! again, with a bounded backoff). Channels and patterns can be added and removed while it
//! runs. See `docs/reliability.md` for what each failure looks like.
//!
//! ```no_run
//! # fn main() -> kvdb::Result<()> {
//! # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("ps"))?;
//! use kvdb::Event;
//! use std::time::Duration;
//! let mut orders = session.psubscribe::<u64>(&["orders:*"])?;
//! orders.subscribe(&["alerts"])?; // more, on the live subscription
//! loop {
//!     match orders.next_timeout(Duration::from_secs(5)) {
//!         Some(Event::Message(m)) => println!("{} ({:?}): {:?}", m.channel, m.pattern, m.payload),
//!         Some(Event::Resubscribed { down_for, .. }) => {
//!             println!("back after {down_for:?}: messages published meanwhile were missed")
//!         }
//!         Some(other) => println!("{other:?}"), // Disconnected: kvdb is reconnecting
//!         None => println!("a quiet 5 s"),
//!     }
//! }
//! # }
//! ```
//!
//! # The stored format
//!
//! See [`format`](mod@format) and `docs/wire-format.md`. Pickle is not offered: unpickling runs code
//! chosen by whoever wrote the bytes.
#![warn(missing_docs)]
// Library code never unwraps: bad input gets a typed error. Tests may.
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

// Lets the derive's `::kvdb::...` paths resolve inside this crate's own tests and docs.
extern crate self as kvdb;

pub mod cache;
pub mod error;
pub mod format;
mod health;
pub mod map;
pub mod model;
mod options;
mod retry;
mod settings;
mod slot;
mod transport;

pub use error::{Error, Result};
pub use format::{Codec, Compression, Format, Serializer, SerializerOptions};
pub use health::{Mode, PoolHealth};
#[cfg(feature = "derive")]
pub use kvdb_derive::KvModel;
#[cfg(feature = "derive")]
#[doc = include_str!("cache/cached.md")]
pub use kvdb_derive::cached;
pub use model::{AnyModel, KvModel, registry};
pub use options::{DEFAULT_URL, SessionOptions};
pub use retry::{Backoff, Retry};
pub use settings::Protocol;
pub use slot::{SLOT_COUNT, key_slot};

mod client;
mod core;
#[macro_use]
mod ops;
mod pool;
pub mod py;
mod session;

pub use client::KVDBClient;
/// The async counterpart of `Iterator`, which the async scans and subscriptions return.
#[cfg(feature = "async")]
pub use futures_core::Stream;
/// `next()`, `map()`, `collect()`... on a [`Stream`]: `use kvdb::StreamExt;` then
/// `while let Some(item) = stream.next().await`.
#[cfg(feature = "async")]
pub use futures_util::StreamExt;
#[cfg(feature = "async")]
pub use ops::{AsyncLockGuard, AsyncTransaction, Subscription, TxFuture};
pub use ops::{
    Event, Handle, KeyType, LockGuard, Message, Pipeline, PipelineResults, ScanOptions, Script,
    ScriptCall, SetOptions, Subscriber, Transaction, Ttl,
};
/// The `redis` crate kvdb is built on, for [`Session::query`] and its commands.
pub use redis;
#[cfg(feature = "async")]
pub use session::AsyncSession;
pub use session::{Session, SessionHandle};
#[cfg(feature = "testing")]
pub mod testing;

#[doc(hidden)]
pub mod fuzzing;

/// What `#[derive(KvModel)]` expands to refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::format::PyKind;
    pub use crate::model::stored::migrate;
    pub use crate::model::{KeyPart, KeySchema, KvModel, Migration, Registration, Segment, Stored};
    pub use ::core::option::Option;
    pub use ::core::primitive::{str, u32};
    pub use ::core::time::Duration;
    pub use inventory;

    // `#[kvdb::cached]`.
    pub use crate::cache::macro_rt::{
        CachedFn, call, call_owned, call_result, call_result_owned, typed,
    };
    #[cfg(feature = "async")]
    pub use crate::cache::macro_rt::{
        call_async, call_async_owned, call_result_async, call_result_async_owned,
    };
    pub use ::core::module_path;
    pub use ::std::sync::OnceLock;
}

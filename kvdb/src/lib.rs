//! kvdb: typed values and models in Redis.
#![warn(missing_docs)]

pub mod error;
pub mod format;
mod options;
mod settings;
mod transport;

pub use error::{Error, Result};
pub use format::{Codec, Compression, Serializer, SerializerOptions};
pub use options::{DEFAULT_URL, SessionOptions};
pub use settings::Protocol;

mod client;
mod core;
#[macro_use]
mod ops;
mod pool;
mod session;

pub use client::KVDBClient;
#[cfg(feature = "async")]
pub use ops::{AsyncLockGuard, Subscription};
pub use ops::{
    Handle, KeyType, LockGuard, Message, Pipeline, PipelineResults, ScanOptions, Script,
    ScriptCall, SetOptions, Subscriber, Ttl,
};
/// The `redis` crate kvdb is built on, for [`Session::query`] and its commands.
pub use redis;
#[cfg(feature = "async")]
pub use session::AsyncSession;
pub use session::Session;
#[cfg(feature = "testing")]
pub mod testing;

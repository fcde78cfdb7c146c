//! kvdb: typed values and models in Redis.
#![warn(missing_docs)]

// Lets the derive's `::kvdb::...` paths resolve inside this crate's own tests and docs.
extern crate self as kvdb;

pub mod error;
pub mod format;
pub mod model;
mod options;
mod settings;
mod transport;

pub use error::{Error, Result};
pub use format::{Codec, Compression, Serializer, SerializerOptions};
#[cfg(feature = "derive")]
pub use kvdb_derive::KvModel;
pub use model::{AnyModel, KvModel, registry};
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
pub use session::AsyncSession;
pub use session::Session;
#[cfg(feature = "testing")]
pub mod testing;

/// What `#[derive(KvModel)]` expands to refers to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::model::stored::migrate;
    pub use crate::model::{KeyPart, KeySchema, KvModel, Migration, Registration, Segment, Stored};
    pub use ::core::option::Option;
    pub use ::core::primitive::{str, u32};
    pub use ::core::time::Duration;
    pub use inventory;
}

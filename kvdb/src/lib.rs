//! kvdb: typed values and models in Redis.
#![warn(missing_docs)]

pub mod error;
pub mod format;

pub use error::{Error, Result};
pub use format::{Codec, Compression, Serializer, SerializerOptions};

//! The stored-value format: pure code, no I/O.
//!
//! Every value kvdb writes is either a *plain* Redis value (strings, integers, floats, booleans,
//! byte strings: exactly the bytes `redis-cli` would show, so `INCR` and `APPEND` keep working)
//! or a *self-describing* value: a short ASCII header followed by the payload.
//!
//! ```text
//! kv1 j z users.User @2 | <payload>
//! ^^^ ^ ^ ^^^^^^^^^^ ^^ ^
//! |   | | |          |  end of header
//! |   | | |          optional schema version (absent = 1)
//! |   | | optional type tag
//! |   | compression: - none, z zstd, l lz4, g gzip, d zlib
//! |   codec: r raw, j JSON, c CBOR, m MessagePack
//! magic "kv" + format version '1'
//! ```
//!
//! The full contract, with worked examples of real bytes, is `docs/wire-format.md`.
//! [`Encoder::encode`] and [`decode`] are the entry points; [`Header::parse`] reads a header alone.

/// Calls `$m!` with every numeric `deserialize_*` method, its `visit_*` and its type: for the
/// deserializers that parse numbers from text (plain values, kvdb-py dict keys).
macro_rules! with_numbers {
    ($m:ident) => {
        $m!(
            deserialize_i8 => visit_i8: i8, deserialize_i16 => visit_i16: i16,
            deserialize_i32 => visit_i32: i32, deserialize_i64 => visit_i64: i64,
            deserialize_i128 => visit_i128: i128, deserialize_u8 => visit_u8: u8,
            deserialize_u16 => visit_u16: u16, deserialize_u32 => visit_u32: u32,
            deserialize_u64 => visit_u64: u64, deserialize_u128 => visit_u128: u128,
            deserialize_f32 => visit_f32: f32, deserialize_f64 => visit_f64: f64
        );
    };
}

mod compress;
mod describe;
mod header;
mod kvdb_py;
mod plain_de;
mod plain_ser;
mod python;
mod serde_codec;
mod value;

use std::fmt;

pub(crate) use compress::decompress_into;
pub use compress::{CompressionOptions, DEFAULT_MAX_DECOMPRESSED};
pub use describe::{Description, Origin, describe, describe_with_limit};
pub use header::{Header, MAGIC, MAX_TAG_LEN, validate_tag};
pub use kvdb_py::{PyClass, PyKind};
pub(crate) use kvdb_py::{PyDoc, default_level as kvdb_py_default_level, model_json};
pub(crate) use serde_codec::{feature_of as codec_feature, is_compiled_in as codec_compiled_in};
pub use value::{Encoder, StoredKind, decode, decode_as, decode_with_limit, inspect};
pub(crate) use value::{Sink, decode_for, decode_payload, split};

pub(crate) use plain_de::PlainDeserializer;

/// The codec of a stored payload, as written in the header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Codec {
    /// Not serialized: the payload is the value's own bytes (a plain scalar, or a raw string
    /// that had to be escaped because it began with a header magic).
    Raw,
    /// JSON (`serde_json`).
    Json,
    /// CBOR (`ciborium`).
    Cbor,
    /// MessagePack (`rmp-serde`, structs as maps).
    MsgPack,
}

impl Codec {
    /// The header byte of this codec.
    pub const fn byte(self) -> u8 {
        match self {
            Codec::Raw => b'r',
            Codec::Json => b'j',
            Codec::Cbor => b'c',
            Codec::MsgPack => b'm',
        }
    }

    /// The codec for a header byte.
    pub const fn from_byte(b: u8) -> Option<Codec> {
        Some(match b {
            b'r' => Codec::Raw,
            b'j' => Codec::Json,
            b'c' => Codec::Cbor,
            b'm' => Codec::MsgPack,
            _ => return None,
        })
    }

    /// The lower-case name: `raw`, `json`, `cbor`, `msgpack`.
    pub const fn name(self) -> &'static str {
        match self {
            Codec::Raw => "raw",
            Codec::Json => "json",
            Codec::Cbor => "cbor",
            Codec::MsgPack => "msgpack",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A compression algorithm, as chosen in the session options and written in the header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Compression {
    /// Stored uncompressed.
    #[default]
    None,
    /// Zstandard (feature `zstd`). Default level 3.
    Zstd,
    /// LZ4, frame format (feature `lz4`).
    Lz4,
    /// gzip (feature `gzip`). Default level 6.
    Gzip,
    /// zlib (feature `zlib`). Default level 6.
    Zlib,
}

impl Compression {
    /// Every algorithm, in order of preference for automatic choice.
    pub const PREFERENCE: [Compression; 4] = [
        Compression::Zstd,
        Compression::Lz4,
        Compression::Zlib,
        Compression::Gzip,
    ];

    /// The header byte.
    pub const fn byte(self) -> u8 {
        match self {
            Compression::None => b'-',
            Compression::Zstd => b'z',
            Compression::Lz4 => b'l',
            Compression::Gzip => b'g',
            Compression::Zlib => b'd',
        }
    }

    /// The compression for a header byte.
    pub const fn from_byte(b: u8) -> Option<Compression> {
        Some(match b {
            b'-' => Compression::None,
            b'z' => Compression::Zstd,
            b'l' => Compression::Lz4,
            b'g' => Compression::Gzip,
            b'd' => Compression::Zlib,
            _ => return None,
        })
    }

    /// The lower-case name: `none`, `zstd`, `lz4`, `gzip`, `zlib`.
    pub const fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::Gzip => "gzip",
            Compression::Zlib => "zlib",
        }
    }

    /// The cargo feature that compiles this algorithm in.
    pub const fn feature(self) -> &'static str {
        match self {
            Compression::None => "default",
            Compression::Zstd => "zstd",
            Compression::Lz4 => "lz4",
            Compression::Gzip => "gzip",
            Compression::Zlib => "zlib",
        }
    }

    /// Whether this build can compress and decompress with this algorithm.
    pub const fn is_compiled_in(self) -> bool {
        match self {
            Compression::None => true,
            Compression::Zstd => cfg!(feature = "zstd"),
            Compression::Lz4 => cfg!(feature = "lz4"),
            Compression::Gzip => cfg!(feature = "gzip"),
            Compression::Zlib => cfg!(feature = "zlib"),
        }
    }

    /// The best algorithm compiled into this build (zstd > lz4 > zlib > gzip), if any.
    pub fn best_available() -> Option<Compression> {
        Self::PREFERENCE.into_iter().find(|c| c.is_compiled_in())
    }

    /// The default level, and the accepted range of levels, of this algorithm.
    ///
    /// LZ4 has no levels in the frame encoder kvdb uses: its only accepted level is 0.
    pub const fn levels(self) -> (i32, std::ops::RangeInclusive<i32>) {
        match self {
            Compression::None => (0, 0..=0),
            Compression::Zstd => (3, 1..=22),
            Compression::Lz4 => (0, 0..=0),
            Compression::Gzip | Compression::Zlib => (6, 0..=9),
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The serializer a session uses for structured values.
///
/// Scalars (strings, integers, floats, booleans, byte strings) are stored in plain Redis form
/// whatever the serializer, so other clients and commands like `INCR` keep working on them.
/// Pickle is not offered and never will be: unpickling runs arbitrary code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Serializer {
    /// No serializer (the default, as in kvdb-py): only scalars can be stored; structured
    /// values are refused with [`Error::SerializerRequired`](crate::Error::SerializerRequired).
    #[default]
    None,
    /// Pick one automatically: JSON.
    Auto,
    /// JSON (`serde_json`).
    Json,
    /// CBOR (`ciborium`, feature `cbor`).
    Cbor,
    /// MessagePack (`rmp-serde`, feature `msgpack`).
    MsgPack,
}

impl Serializer {
    /// The codec this serializer writes, or `None` for [`Serializer::None`].
    pub const fn codec(self) -> Option<Codec> {
        match self {
            Serializer::None => None,
            Serializer::Auto | Serializer::Json => Some(Codec::Json),
            Serializer::Cbor => Some(Codec::Cbor),
            Serializer::MsgPack => Some(Codec::MsgPack),
        }
    }

    /// The lower-case name.
    pub const fn name(self) -> &'static str {
        match self {
            Serializer::None => "none",
            Serializer::Auto => "auto",
            Serializer::Json => "json",
            Serializer::Cbor => "cbor",
            Serializer::MsgPack => "msgpack",
        }
    }
}

impl fmt::Display for Serializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The stored-value format a session writes. Every session reads both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Format {
    /// kvdb's self-describing format (`docs/wire-format.md`).
    #[default]
    Native,
    /// Exactly what the Python library kvdb-py writes (`_kvdbenc_` + JSON envelope or
    /// MessagePack), so Python services read it (`docs/kvdb-py.md`). Readers in this format
    /// also take a plain `null` for `None`, as kvdb-py does.
    KvdbPy,
}

/// Options of the JSON codec (the analogue of kvdb-py's `serializer_kwargs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SerializerOptions {
    /// Write indented JSON (easier to read in `redis-cli`, larger). Default: compact.
    pub pretty_json: bool,
}

impl SerializerOptions {
    /// Compact JSON (the default).
    pub const fn new() -> Self {
        SerializerOptions { pretty_json: false }
    }

    /// Indented JSON.
    pub const fn pretty(mut self, pretty: bool) -> Self {
        self.pretty_json = pretty;
        self
    }
}

#[cfg(test)]
mod tests;

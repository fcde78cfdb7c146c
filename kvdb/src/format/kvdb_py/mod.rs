//! kvdb-py's stored-value format, read and written exactly (see `docs/kvdb-py.md` and
//! `../shared/kvdb-py/FORMAT.md`).
//!
//! Scalars are plain (`repr` numbers, `True`/`False`, `null` for `None`); everything else is
//! `_kvdbenc_` + optional compression frame + either Python `json.dumps` text of the
//! `__type__`/`__class__`/`value` envelope, or MessagePack with extension type 2 for models.

mod msgpack;
mod pyjson;
mod read;
mod unpack;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) use msgpack::model_json;

use super::compress::{self, CompressionOptions};
use super::plain_ser::{PlainStyle, write_plain_styled};
use super::python::KVDB_PY_PREFIX;
use super::{Codec, Compression, Serializer};
use crate::error::{Error, KeyContext, Result};

/// How kvdb-py wraps a model: a pydantic model or a dataclass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PyKind {
    /// `{"__type__": "pydantic", ...}`; MessagePack extension type 2.
    #[default]
    Pydantic,
    /// `{"__type__": "dataclass", ...}`.
    Dataclass,
}

impl PyKind {
    /// The `__type__` of the envelope: `pydantic` or `dataclass`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            PyKind::Pydantic => "pydantic",
            PyKind::Dataclass => "dataclass",
        }
    }
}

/// The Python class a model corresponds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PyClass<'a> {
    /// Pydantic or dataclass.
    pub kind: PyKind,
    /// The dotted class path, e.g. `models.User`.
    pub name: &'a str,
}

/// kvdb-py's default levels: zstd 19, gzip 9, zlib 6; lz4 has no levels here.
pub(crate) fn default_level(alg: Compression) -> i32 {
    match alg {
        Compression::Zstd => 19,
        Compression::Gzip => 9,
        other => other.levels().0,
    }
}

fn encode_error(codec: Codec, type_name: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Encode {
        key: KeyContext::default(),
        type_name,
        codec,
        source: format!("kvdb-py {codec}: {e}").into(),
    }
}

/// Appends `value` to `out` as kvdb-py writes it.
pub(crate) fn encode_into<T: Serialize + ?Sized>(
    value: &T,
    class: Option<PyClass<'_>>,
    serializer: Serializer,
    compression: &CompressionOptions,
    out: &mut Vec<u8>,
) -> Result<()> {
    let no_serializer = serializer == Serializer::None;
    if class.is_none() && write_plain_styled(value, out, PlainStyle::Python, no_serializer) {
        return Ok(());
    }
    let type_name = std::any::type_name::<T>();
    let codec = serializer.codec().ok_or(Error::SerializerRequired {
        key: KeyContext::default(),
        type_name,
    })?;
    let mut payload = Vec::new();
    match codec {
        Codec::Json => {
            let r = match class {
                Some(c) => pyjson::to_writer(&mut payload, &Envelope { class: c, value }),
                None => pyjson::to_writer(&mut payload, value),
            };
            r.map_err(|e| encode_error(codec, type_name, e))?;
        }
        Codec::MsgPack => msgpack::write(&mut payload, value, class)
            .map_err(|e| encode_error(codec, type_name, e))?,
        other => {
            return Err(Error::Unsupported(format!(
                "kvdb-py has no {other} serializer; use JSON or MessagePack with Format::KvdbPy"
            )));
        }
    }
    out.extend_from_slice(KVDB_PY_PREFIX);
    // kvdb-py compresses every serialized payload when a compressor is set: no threshold.
    compress::compress_into(compression.algorithm, compression.level, &payload, out)
}

/// `{"__type__": kind, "__class__": name, "value": value}`, keys in kvdb-py's order.
struct Envelope<'a, T: ?Sized> {
    class: PyClass<'a>,
    value: &'a T,
}

impl<T: Serialize + ?Sized> Serialize for Envelope<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("__type__", self.class.kind.name())?;
        m.serialize_entry("__class__", self.class.name)?;
        m.serialize_entry("value", self.value)?;
        m.end()
    }
}

/// A parsed kvdb-py payload (what follows `_kvdbenc_`): JSON text, or MessagePack read into
/// the same tree of envelopes (`unpack.rs`), so one reader handles both.
#[derive(Debug)]
pub(crate) struct PyDoc {
    codec: Codec,
    value: Value,
}

fn decode_error(codec: Codec, type_name: &'static str, e: impl std::fmt::Display) -> Error {
    Error::Decode {
        key: KeyContext::default(),
        type_name,
        codec,
        source: format!("kvdb-py {codec}: {e}").into(),
    }
}

impl PyDoc {
    /// Decompresses (by the frame's magic, capped at `limit`) and parses a payload.
    pub(crate) fn parse(payload: &[u8], limit: usize) -> Result<PyDoc> {
        Ok(Self::parse_framed(payload, limit)?.0)
    }

    /// [`parse`](Self::parse), also telling the payload's compression and its size once
    /// decompressed.
    pub(crate) fn parse_framed(
        payload: &[u8],
        limit: usize,
    ) -> Result<(PyDoc, Compression, usize)> {
        let alg = match payload {
            [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
            [0x04, 0x22, 0x4d, 0x18, ..] => Compression::Lz4,
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [0x78, 0x01 | 0x5e | 0x9c | 0xda, ..] => Compression::Zlib,
            _ => Compression::None,
        };
        let mut buf = Vec::new();
        let bytes = if alg == Compression::None {
            payload
        } else {
            compress::decompress_into(alg, payload, limit, &mut buf)?;
            &buf[..]
        };
        Ok((Self::parse_plain(bytes)?, alg, bytes.len()))
    }

    /// Parses a decompressed payload.
    fn parse_plain(bytes: &[u8]) -> Result<PyDoc> {
        match bytes.first() {
            // JSON text starts with ASCII; MessagePack of a container, bytes or a model does
            // not.
            Some(b) if *b >= 0x80 => Ok(PyDoc {
                codec: Codec::MsgPack,
                value: unpack::to_tree(bytes)
                    .map_err(|e| decode_error(Codec::MsgPack, "MessagePack", e))?,
            }),
            _ => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| decode_error(Codec::Json, "JSON text", e))?;
                let text = read::replace_non_finite(text);
                let value = serde_json::from_str(&text)
                    .map_err(|e| decode_error(Codec::Json, "JSON text", e))?;
                Ok(PyDoc {
                    codec: Codec::Json,
                    value,
                })
            }
        }
    }

    /// The payload's codec: JSON or MessagePack.
    pub(crate) fn codec(&self) -> Codec {
        self.codec
    }

    /// The Python class of a model value, if the value is one.
    pub(crate) fn class(&self) -> Option<&str> {
        match &self.value {
            Value::Object(m) => match (m.get("__type__"), m.get("__class__")) {
                (Some(Value::String(t)), Some(Value::String(c)))
                    if t == "pydantic" || t == "dataclass" =>
                {
                    Some(c)
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// Deserializes the value as a `T`.
    pub(crate) fn deserialize<T: DeserializeOwned>(&self) -> Result<T> {
        T::deserialize(read::PyValue(&self.value))
            .map_err(|e| decode_error(self.codec, std::any::type_name::<T>(), e))
    }
}

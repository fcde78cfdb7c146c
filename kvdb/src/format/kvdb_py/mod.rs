//! kvdb-py's stored-value format, read and written exactly (see `docs/kvdb-py.md` and
//! `../shared/kvdb-py/FORMAT.md`).
//!
//! Scalars are plain (`repr` numbers, `True`/`False`, `null` for `None`); everything else is
//! `_kvdbenc_` + optional compression frame + either Python `json.dumps` text of the
//! `__type__`/`__class__`/`value` envelope, or MessagePack with extension type 2 for models.

mod msgpack;
mod pyjson;
mod read;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub(crate) use pyjson::float_repr;

use super::compress::{self, CompressionOptions};
use super::plain_ser::{KVDB_PY_PREFIX, PlainStyle, write_plain_styled};
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
    fn name(self) -> &'static str {
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
    if class.is_none() && write_plain_styled(value, out, PlainStyle::Python) {
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

/// A parsed kvdb-py payload (what follows `_kvdbenc_`).
#[derive(Debug)]
pub(crate) enum PyDoc {
    /// JSON text, parsed.
    Json(Value),
    /// MessagePack of anything but a model.
    MsgPack(Vec<u8>),
    /// MessagePack extension type 2: a model's JSON with its class.
    MsgPackModel { json: Value, class: String },
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
            // JSON text starts with ASCII; MessagePack of a container or nil does not.
            Some(b) if *b >= 0x80 => match msgpack::split_model(bytes) {
                Some((json, class)) => Ok(PyDoc::MsgPackModel { json, class }),
                None => Ok(PyDoc::MsgPack(bytes.to_vec())),
            },
            _ => {
                let text = std::str::from_utf8(bytes)
                    .map_err(|e| decode_error(Codec::Json, "JSON text", e))?;
                let text = read::replace_non_finite(text);
                let v = serde_json::from_str(&text)
                    .map_err(|e| decode_error(Codec::Json, "JSON text", e))?;
                Ok(PyDoc::Json(v))
            }
        }
    }

    /// The Python class of a model value, if the value is one.
    pub(crate) fn class(&self) -> Option<&str> {
        match self {
            PyDoc::Json(Value::Object(m)) => match (m.get("__type__"), m.get("__class__")) {
                (Some(Value::String(t)), Some(Value::String(c)))
                    if t == "pydantic" || t == "dataclass" =>
                {
                    Some(c)
                }
                _ => None,
            },
            PyDoc::MsgPackModel { class, .. } => Some(class),
            _ => None,
        }
    }

    /// Deserializes the value as a `T`.
    pub(crate) fn deserialize<T: DeserializeOwned>(&self) -> Result<T> {
        let type_name = std::any::type_name::<T>();
        match self {
            PyDoc::Json(v) => T::deserialize(read::PyValue(v))
                .map_err(|e| decode_error(Codec::Json, type_name, e)),
            PyDoc::MsgPackModel { json, .. } => T::deserialize(read::PyValue(json))
                .map_err(|e| decode_error(Codec::MsgPack, type_name, e)),
            PyDoc::MsgPack(bytes) => {
                rmp_decode(bytes).map_err(|e| decode_error(Codec::MsgPack, type_name, e))
            }
        }
    }
}

#[cfg(feature = "msgpack")]
fn rmp_decode<T: DeserializeOwned>(bytes: &[u8]) -> std::result::Result<T, String> {
    rmp_serde::from_slice(bytes).map_err(|e| e.to_string())
}

#[cfg(not(feature = "msgpack"))]
fn rmp_decode<T: DeserializeOwned>(_: &[u8]) -> std::result::Result<T, String> {
    Err("kvdb was built without the `msgpack` feature".into())
}

#[cfg(test)]
mod tests;

//! A serde `Deserializer` over a whole reply whose leaves are stored values.
//!
//! Used where a reply is more than one stored value and is read into one Rust type: a hash
//! read as a struct (field name → stored value), a Lua script's table. Each bulk-string leaf
//! is decoded by its own header (plain, JSON, CBOR, MessagePack, compressed or not), exactly
//! as [`Core::decode_value`](crate::core::Core::decode_value) would.

use std::borrow::Cow;
use std::fmt;

use redis::Value;
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};

use crate::error::{Error, KeyContext, Result};
use crate::format::{Codec, Compression, PlainDeserializer, StoredKind, decompress_into, split};

/// The error of reading a reply into a type: a message, or a kvdb error met on a leaf
/// (corrupt header, codec not compiled in, decompression bomb).
#[derive(Debug)]
pub(crate) enum DeError {
    Msg(String),
    Kvdb(Box<Error>),
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeError::Msg(m) => f.write_str(m),
            DeError::Kvdb(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DeError::Msg(msg.to_string())
    }
}

fn msg(e: impl fmt::Display) -> DeError {
    DeError::Msg(e.to_string())
}

/// Reads `T` from `de`, turning a failure into [`Error::Decode`] (or the leaf's own error).
pub(crate) fn read<'a, T: DeserializeOwned>(
    de: impl de::Deserializer<'a, Error = DeError>,
    codec: Codec,
) -> Result<T> {
    T::deserialize(de).map_err(|e| match e {
        DeError::Kvdb(e) => *e,
        DeError::Msg(m) => Error::Decode {
            key: KeyContext::default(),
            type_name: std::any::type_name::<T>(),
            codec,
            source: m.into(),
        },
    })
}

/// Reads `T` from field/value pairs (a hash), as a map or a struct.
pub(crate) fn read_fields<T: DeserializeOwned>(
    pairs: &[(String, Value)],
    limit: usize,
) -> Result<T> {
    let codec = pairs
        .iter()
        .find_map(|(_, v)| stored_codec(v))
        .unwrap_or(Codec::Raw);
    let de = MapDeserializer::new(
        pairs
            .iter()
            .map(|(k, v)| (k.as_str(), ValueDe { value: v, limit })),
    );
    read(de, codec)
}

/// Reads `T` from a whole reply.
pub(crate) fn read_value<T: DeserializeOwned>(value: &Value, limit: usize) -> Result<T> {
    let codec = stored_codec(value).unwrap_or(Codec::Raw);
    read(ValueDe { value, limit }, codec)
}

fn stored_codec(v: &Value) -> Option<Codec> {
    match v {
        Value::BulkString(b) => match split(b) {
            Ok((StoredKind::Kvdb(h), _)) => Some(h.codec),
            _ => None,
        },
        _ => None,
    }
}

/// A reply (or part of one).
#[derive(Clone, Copy)]
pub(crate) struct ValueDe<'a> {
    value: &'a Value,
    limit: usize,
}

impl<'a> IntoDeserializer<'a, DeError> for ValueDe<'a> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'a> ValueDe<'a> {
    fn items(
        self,
        items: &'a [Value],
    ) -> SeqDeserializer<impl Iterator<Item = ValueDe<'a>>, DeError> {
        let limit = self.limit;
        SeqDeserializer::new(items.iter().map(move |value| ValueDe { value, limit }))
    }
}

/// Forwards the listed methods: a bulk string to its stored value, anything else to
/// `deserialize_any`.
macro_rules! value_forward {
    ($($m:ident($($arg:ident: $t:ty),*)),* $(,)?) => {$(
        fn $m<V: Visitor<'a>>(self, $($arg: $t,)* visitor: V) -> Result<V::Value, DeError> {
            match self.value {
                Value::BulkString(b) => Stored { bytes: b, limit: self.limit }.$m($($arg,)* visitor),
                _ => self.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'a> de::Deserializer<'a> for ValueDe<'a> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Nil => visitor.visit_unit(),
            Value::Int(i) => visitor.visit_i64(*i),
            Value::Double(d) => visitor.visit_f64(*d),
            Value::Boolean(b) => visitor.visit_bool(*b),
            Value::Okay => visitor.visit_borrowed_str("OK"),
            Value::SimpleString(s) => visitor.visit_borrowed_str(s),
            Value::VerbatimString { text, .. } => visitor.visit_borrowed_str(text),
            Value::BulkString(b) => Stored {
                bytes: b,
                limit: self.limit,
            }
            .deserialize_any(visitor),
            Value::Array(items) | Value::Set(items) => {
                let mut seq = self.items(items);
                let v = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(v)
            }
            Value::Map(pairs) => {
                let limit = self.limit;
                let mut map = MapDeserializer::new(
                    pairs
                        .iter()
                        .map(|(k, v)| (ValueDe { value: k, limit }, ValueDe { value: v, limit })),
                );
                let v = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(v)
            }
            Value::ServerError(e) => Err(msg(format!("the reply is a server error: {e:?}"))),
            other => Err(msg(format!("unsupported reply {other:?}"))),
        }
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.value {
            Value::Nil => visitor.visit_none(),
            // A stored value may itself be a serialized `None`.
            Value::BulkString(b) => Stored {
                bytes: b,
                limit: self.limit,
            }
            .deserialize_option(visitor),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match self.value {
            Value::BulkString(b) => Stored {
                bytes: b,
                limit: self.limit,
            }
            .deserialize_newtype_struct(name, visitor),
            _ => visitor.visit_newtype_struct(self),
        }
    }

    value_forward!(
        deserialize_bool(), deserialize_i8(), deserialize_i16(), deserialize_i32(),
        deserialize_i64(), deserialize_i128(), deserialize_u8(), deserialize_u16(),
        deserialize_u32(), deserialize_u64(), deserialize_u128(), deserialize_f32(),
        deserialize_f64(), deserialize_char(), deserialize_str(), deserialize_string(),
        deserialize_bytes(), deserialize_byte_buf(), deserialize_unit(),
        deserialize_unit_struct(name: &'static str), deserialize_seq(),
        deserialize_tuple(len: usize), deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(), deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    );
}

/// One stored value, read by its header.
struct Stored<'a> {
    bytes: &'a [u8],
    limit: usize,
}

/// What a stored value's payload is to be read with.
enum Payload<'a> {
    Plain(&'a [u8]),
    Coded(Codec, Cow<'a, [u8]>),
    /// Read through a JSON value: codecs with no public streaming deserializer (CBOR) and
    /// kvdb-py documents.
    Value(serde_json::Value),
}

impl<'a> Stored<'a> {
    fn payload(&self) -> Result<Payload<'a>, DeError> {
        let kvdb = |e: Error| DeError::Kvdb(Box::new(e));
        let (kind, payload) = split(self.bytes).map_err(kvdb)?;
        match kind {
            StoredKind::Plain => Ok(Payload::Plain(payload)),
            StoredKind::KvdbPy => crate::format::decode_payload(kind, payload, self.limit)
                .map(Payload::Value)
                .map_err(kvdb),
            StoredKind::Kvdb(h) if h.codec == Codec::Raw && h.compression == Compression::None => {
                Ok(Payload::Plain(payload))
            }
            StoredKind::Kvdb(h) => {
                if !crate::format::codec_compiled_in(h.codec) {
                    return Err(kvdb(Error::NotCompiledIn {
                        key: KeyContext::default(),
                        what: format!("the {} codec", h.codec),
                        feature: crate::format::codec_feature(h.codec),
                    }));
                }
                if h.compression == Compression::None {
                    return Ok(Payload::Coded(h.codec, Cow::Borrowed(payload)));
                }
                let mut out = Vec::new();
                decompress_into(h.compression, payload, self.limit, &mut out).map_err(kvdb)?;
                Ok(Payload::Coded(h.codec, Cow::Owned(out)))
            }
        }
    }
}

/// Forwards every method to the deserializer of the stored value's codec.
macro_rules! stored_forward {
    ($($m:ident($($arg:ident: $t:ty),*)),* $(,)?) => {$(
        fn $m<V: Visitor<'a>>(self, $($arg: $t,)* visitor: V) -> Result<V::Value, DeError> {
            match self.payload()? {
                Payload::Plain(b) => PlainDeserializer::new(b).$m($($arg,)* visitor).map_err(msg),
                Payload::Coded(Codec::Json, b) => {
                    let mut d = serde_json::Deserializer::from_reader(&b[..]);
                    let v = (&mut d).$m($($arg,)* visitor).map_err(msg)?;
                    d.end().map_err(msg)?;
                    Ok(v)
                }
                // ciborium has no public streaming deserializer: go through a JSON value
                // (byte strings nested in a CBOR leaf cannot be read this way).
                #[cfg(feature = "cbor")]
                Payload::Coded(Codec::Cbor, b) => {
                    let v: serde_json::Value = ciborium::from_reader(&b[..]).map_err(msg)?;
                    v.$m($($arg,)* visitor).map_err(msg)
                }
                Payload::Value(v) => v.$m($($arg,)* visitor).map_err(msg),
                #[cfg(feature = "msgpack")]
                Payload::Coded(Codec::MsgPack, b) => {
                    let mut d = rmp_serde::Deserializer::new(&b[..]);
                    (&mut d).$m($($arg,)* visitor).map_err(msg)
                }
                Payload::Coded(codec, _) => Err(msg(format!("cannot read {codec} data"))),
            }
        }
    )*};
}

impl<'a> de::Deserializer<'a> for Stored<'a> {
    type Error = DeError;

    stored_forward!(
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(), deserialize_option(),
        deserialize_unit(), deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str), deserialize_seq(),
        deserialize_tuple(len: usize), deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(), deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(), deserialize_ignored_any(),
    );
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::Serializer;
    use crate::format::Encoder;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    struct User {
        name: String,
        age: u32,
        tags: Vec<String>,
    }

    fn bulk(b: Vec<u8>) -> Value {
        Value::BulkString(b)
    }

    #[test]
    fn reads_a_struct_from_fields_of_any_codec() {
        for ser in [Serializer::Json, Serializer::Cbor, Serializer::MsgPack] {
            let enc = Encoder::new(ser);
            let pairs = vec![
                ("name".to_owned(), bulk(enc.encode("Ada").unwrap())),
                ("age".to_owned(), bulk(enc.encode(&36u32).unwrap())),
                (
                    "tags".to_owned(),
                    bulk(enc.encode(&vec!["a", "b"]).unwrap()),
                ),
            ];
            let u: User = read_fields(&pairs, 1 << 20).unwrap();
            assert_eq!(u.name, "Ada");
            assert_eq!(u.age, 36);
            assert_eq!(u.tags, ["a", "b"]);
        }
    }

    #[test]
    fn a_missing_field_is_a_decode_error() {
        let pairs = vec![("name".to_owned(), bulk(b"Ada".to_vec()))];
        let e = read_fields::<User>(&pairs, 1 << 20).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert!(e.to_string().contains("missing field `age`"), "{e}");
    }

    #[test]
    fn reads_nested_replies() {
        let enc = Encoder::new(Serializer::Json);
        let v = Value::Array(vec![
            Value::Int(3),
            bulk(b"7".to_vec()),
            Value::Nil,
            bulk(enc.encode(&vec![1, 2]).unwrap()),
        ]);
        let got: (i64, u8, Option<String>, Vec<i32>) = read_value(&v, 1 << 20).unwrap();
        assert_eq!(got, (3, 7, None, vec![1, 2]));
    }
}

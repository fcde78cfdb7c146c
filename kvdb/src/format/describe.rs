//! Describing any stored bytes without knowing their type: who wrote them, how, and their
//! value as JSON. What `kvdb get` and `kvdb decode` print.

use serde_json::Value;

use super::compress::{self, DEFAULT_MAX_DECOMPRESSED};
use super::kvdb_py::PyDoc;
use super::serde_codec::{self, deserialize_from};
use super::{Codec, Compression, StoredKind, split};
use crate::error::Result;

/// Who wrote a stored value, as far as its bytes tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// A plain Redis value: a scalar written by kvdb or kvdb-py, or anything another client
    /// wrote.
    Plain,
    /// A kvdb value with a header (`kv1...|`).
    Kvdb,
    /// A kvdb-py value (`_kvdbenc_` prefix).
    KvdbPy,
}

impl Origin {
    /// `plain`, `kvdb` or `kvdb-py`.
    pub const fn name(self) -> &'static str {
        match self {
            Origin::Plain => "plain",
            Origin::Kvdb => "kvdb",
            Origin::KvdbPy => "kvdb-py",
        }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What [`describe`] found in stored bytes.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Description {
    /// Who wrote the value.
    pub origin: Origin,
    /// The payload's codec ([`Codec::Raw`] for plain values).
    pub codec: Codec,
    /// The payload's compression.
    pub compression: Compression,
    /// A kvdb model's type tag.
    pub tag: Option<String>,
    /// A kvdb model's schema version (with its tag).
    pub version: Option<u32>,
    /// A kvdb-py model's Python class (`models.User`).
    pub python_class: Option<String>,
    /// Whether the value is bytes that are not UTF-8 text: [`value`](Self::value) is then
    /// their hex.
    pub binary: bool,
    /// The stored size in bytes (header and compressed payload).
    pub stored_size: usize,
    /// The payload's size once decompressed.
    pub decoded_size: usize,
    /// The value as JSON. Plain values read as the JSON scalar they spell (`42`, `2.5`,
    /// kvdb-py's `True`/`False`, `null`), otherwise as a string.
    pub value: Value,
}

/// Describes stored bytes: their origin, codec, compression, tag or Python class, sizes, and
/// their value as JSON, whatever kvdb serializer, compression or kvdb-py format wrote them.
/// Pure (no I/O); decompression is capped at [`DEFAULT_MAX_DECOMPRESSED`].
///
/// ```
/// use kvdb::format::{describe, Encoder, Origin};
/// use kvdb::{Codec, Compression, Serializer};
///
/// let mut bytes = Vec::new();
/// Encoder::new(Serializer::Json).encode_into(&vec![1, 2], Some(("app.Pair", 2)), &mut bytes)?;
/// let d = describe(&bytes)?;
/// assert_eq!((d.origin, d.codec, d.compression), (Origin::Kvdb, Codec::Json, Compression::None));
/// assert_eq!((d.tag.as_deref(), d.version), (Some("app.Pair"), Some(2)));
/// assert_eq!(d.value, serde_json::json!([1, 2]));
///
/// assert_eq!(describe(b"42")?.value, serde_json::json!(42));
/// assert_eq!(describe(b"_kvdbenc_{\"a\": 1}")?.origin, Origin::KvdbPy);
/// // Corrupt bytes are an error naming what is wrong, never a panic.
/// assert!(describe(b"kv1j?|{}").is_err());
/// # Ok::<(), kvdb::Error>(())
/// ```
pub fn describe(bytes: &[u8]) -> Result<Description> {
    describe_with_limit(bytes, DEFAULT_MAX_DECOMPRESSED)
}

/// [`describe`] with a cap, in bytes, on the decompressed payload.
pub fn describe_with_limit(bytes: &[u8], limit: usize) -> Result<Description> {
    let (kind, payload) = split(bytes)?;
    let mut d = Description {
        origin: Origin::Plain,
        codec: Codec::Raw,
        compression: Compression::None,
        tag: None,
        version: None,
        python_class: None,
        binary: false,
        stored_size: bytes.len(),
        decoded_size: payload.len(),
        value: Value::Null,
    };
    match kind {
        StoredKind::Plain => {
            (d.value, d.binary) = plain(payload);
        }
        StoredKind::Kvdb(h) => {
            d.origin = Origin::Kvdb;
            d.codec = h.codec;
            d.compression = h.compression;
            if let Some(tag) = h.tag {
                d.tag = Some(tag.to_owned());
                d.version = Some(h.version);
            }
            let mut buf = Vec::new();
            let payload = if h.compression == Compression::None {
                payload
            } else {
                compress::decompress_into(h.compression, payload, limit, &mut buf)?;
                &buf[..]
            };
            d.decoded_size = payload.len();
            if h.codec == Codec::Raw {
                (d.value, d.binary) = text_or_hex(payload);
            } else if !serde_codec::is_compiled_in(h.codec) {
                return Err(serde_codec::not_compiled(h.codec));
            } else {
                d.value = deserialize_from(h.codec, payload)?;
            }
        }
        StoredKind::KvdbPy => {
            d.origin = Origin::KvdbPy;
            let (doc, compression, size) = PyDoc::parse_framed(payload, limit)?;
            d.compression = compression;
            d.decoded_size = size;
            d.codec = doc.codec();
            d.python_class = doc.class().map(str::to_owned);
            d.value = doc.deserialize()?;
        }
    }
    Ok(d)
}

/// A plain value as the JSON scalar it spells, else as text (or hex, and `true`, for bytes
/// that are not UTF-8).
fn plain(bytes: &[u8]) -> (Value, bool) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return text_or_hex(bytes);
    };
    let value = match text {
        "True" => Value::Bool(true),
        "False" => Value::Bool(false),
        "null" => Value::Null,
        t if looks_numeric(t) => match serde_json::from_str::<Value>(t) {
            Ok(n @ Value::Number(_)) => n,
            _ => Value::String(t.to_owned()),
        },
        t => Value::String(t.to_owned()),
    };
    (value, false)
}

/// Whether `t` is written like a JSON number (so `" 1"`, `"1."` or `"0x1"` stay text).
fn looks_numeric(t: &str) -> bool {
    let digits = t.strip_prefix('-').unwrap_or(t);
    digits.starts_with(|c: char| c.is_ascii_digit())
        && t.ends_with(|c: char| c.is_ascii_digit())
        && t.bytes()
            .all(|b| b.is_ascii_digit() || b"-+.eE".contains(&b))
}

fn text_or_hex(bytes: &[u8]) -> (Value, bool) {
    match std::str::from_utf8(bytes) {
        Ok(t) => (Value::String(t.to_owned()), false),
        Err(_) => {
            let hex = bytes.iter().map(|b| format!("{b:02x}")).collect();
            (Value::String(hex), true)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::format::{CompressionOptions, Encoder, PyClass, PyKind};
    use crate::{Format, Serializer};

    #[test]
    fn plain_values_read_as_the_scalar_they_spell() {
        let cases: [(&[u8], Value); 9] = [
            (b"42", json!(42)),
            (b"-2.5", json!(-2.5)),
            (b"1e3", json!(1000.0)),
            (b"True", json!(true)),
            (b"null", Value::Null),
            (b"hello", json!("hello")),
            (b" 1", json!(" 1")),
            (b"0x10", json!("0x10")),
            (b"", json!("")),
        ];
        for (bytes, expected) in cases {
            let d = describe(bytes).unwrap();
            assert_eq!(d.value, expected, "{:?}", String::from_utf8_lossy(bytes));
            assert_eq!(
                (d.origin, d.codec, d.binary),
                (Origin::Plain, Codec::Raw, false)
            );
            assert_eq!((d.stored_size, d.decoded_size), (bytes.len(), bytes.len()));
        }
    }

    #[test]
    fn binary_plain_values_are_hex() {
        let d = describe(b"\x00\x01hello\xff").unwrap();
        assert!(d.binary);
        assert_eq!(d.value, json!("000168656c6c6fff"));
    }

    #[test]
    fn every_codec_and_compression_is_described() {
        let value = json!({"name": "ada", "tags": vec!["x"; 40], "n": 3});
        for ser in [Serializer::Json, Serializer::Cbor, Serializer::MsgPack] {
            for alg in [
                Compression::None,
                Compression::Zstd,
                Compression::Lz4,
                Compression::Gzip,
                Compression::Zlib,
            ] {
                let enc = Encoder::new(ser).with_compression(CompressionOptions {
                    min_size: 0,
                    ..CompressionOptions::new(alg)
                });
                let mut bytes = Vec::new();
                enc.encode_into(&value, Some(("t.Doc", 3)), &mut bytes)
                    .unwrap();
                let d = describe(&bytes).unwrap();
                let what = format!("{ser:?} {alg:?}");
                assert_eq!(d.value, value, "{what}");
                assert_eq!((d.origin, d.compression), (Origin::Kvdb, alg), "{what}");
                assert_eq!(Some(d.codec), ser.codec(), "{what}");
                assert_eq!(
                    (d.tag.as_deref(), d.version),
                    (Some("t.Doc"), Some(3)),
                    "{what}"
                );
                assert_eq!(d.stored_size, bytes.len(), "{what}");
                if alg != Compression::None {
                    assert!(d.decoded_size > d.stored_size - 10, "{what}: {d:?}");
                }
            }
        }
    }

    #[test]
    fn kvdb_py_values_name_their_class_and_compression() {
        let enc = Encoder {
            format: Format::KvdbPy,
            ..Encoder::new(Serializer::Json)
        }
        .with_compression(CompressionOptions::new(Compression::Zstd));
        let mut bytes = Vec::new();
        let class = PyClass {
            kind: PyKind::Pydantic,
            name: "models.Point",
        };
        enc.encode_py_model(&json!({"x": 1, "y": 2.5}), class, &mut bytes)
            .unwrap();
        let d = describe(&bytes).unwrap();
        assert_eq!(
            (d.origin, d.codec, d.compression),
            (Origin::KvdbPy, Codec::Json, Compression::Zstd)
        );
        assert_eq!(d.python_class.as_deref(), Some("models.Point"));
        assert_eq!(d.value, json!({"x": 1, "y": 2.5}));
    }

    #[test]
    fn an_escaped_raw_string_reads_as_itself() {
        let bytes = Encoder::new(Serializer::Json)
            .encode("kv1 looks like a header")
            .unwrap();
        let d = describe(&bytes).unwrap();
        assert_eq!((d.origin, d.codec), (Origin::Kvdb, Codec::Raw));
        assert_eq!(d.value, json!("kv1 looks like a header"));
    }

    #[test]
    fn corrupt_bytes_are_errors() {
        for bytes in [
            &b"kv1j?|{}"[..],
            b"kv1jz|not zstd",
            b"kv1j-|{not json",
            b"kv9j-|{}",
            b"_kvdbenc_{broken",
        ] {
            let e = describe(bytes).unwrap_err();
            assert!(!e.to_string().is_empty(), "{bytes:?}");
        }
    }

    #[test]
    fn the_decompression_cap_holds() {
        let enc = Encoder::new(Serializer::Json).with_compression(CompressionOptions {
            min_size: 0,
            ..CompressionOptions::new(Compression::Zstd)
        });
        let bytes = enc.encode(&vec![7u32; 100_000]).unwrap();
        let e = describe_with_limit(&bytes, 1000).unwrap_err();
        assert!(
            matches!(e, crate::Error::DecompressedTooLarge { .. }),
            "{e}"
        );
    }
}

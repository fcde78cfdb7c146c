//! Encoding a value into stored bytes, and reading stored bytes back.

use std::cell::RefCell;
use std::io::Write;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::compress::{self, CompressionOptions, DEFAULT_MAX_DECOMPRESSED};
use super::header::{Header, looks_like_header};
use super::kvdb_py::{self, PyClass, PyDoc, PyKind};
use super::plain_ser::write_plain;
use super::python::KVDB_PY_PREFIX;
use super::serde_codec::{self, deserialize_from, serialize_into};
use super::{Codec, Compression, Format, Serializer, SerializerOptions};
use crate::error::{Error, KeyContext, Result};

/// Scratch buffers larger than this are not kept for reuse by the thread.
const KEEP_SCRATCH: usize = 1024 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// A second buffer, for the compressed form of what is in `SCRATCH`.
    static SCRATCH2: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's scratch buffer (empty), or a fresh one if it is in use.
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    scratch(&SCRATCH, f)
}

fn scratch<R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<u8>>>,
    f: impl FnOnce(&mut Vec<u8>) -> R,
) -> R {
    key.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            buf.clear();
            let r = f(&mut buf);
            if buf.capacity() > KEEP_SCRATCH {
                *buf = Vec::new();
            }
            r
        }
        Err(_) => f(&mut Vec::new()),
    })
}

/// Where an encoder writes: bytes through `io::Write`, and, for what must be built in one
/// piece (a plain value, which the probe may take back; a kvdb-py document), a buffer whose
/// contents count as written.
pub(crate) trait Sink: Write {
    /// The buffer; what is appended to it is part of the output, after what was written
    /// before.
    fn buffer(&mut self) -> &mut Vec<u8>;
}

impl Sink for Vec<u8> {
    fn buffer(&mut self) -> &mut Vec<u8> {
        self
    }
}

/// How a session writes values: its serializer and compression. Pure: no I/O.
///
/// ```
/// use kvdb::format::{Encoder, decode};
/// use kvdb::Serializer;
///
/// let enc = Encoder::new(Serializer::Json);
/// let bytes = enc.encode(&vec![1, 2, 3]).unwrap();
/// assert_eq!(bytes, b"kv1j-|[1,2,3]");
/// assert_eq!(decode::<Vec<i32>>(&bytes).unwrap(), vec![1, 2, 3]);
/// // Scalars stay plain, so INCR and other clients keep working on them.
/// assert_eq!(enc.encode(&42).unwrap(), b"42");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Encoder {
    /// The stored-value format.
    pub format: Format,
    /// The serializer for structured values.
    pub serializer: Serializer,
    /// Serializer options (JSON layout).
    pub serializer_options: SerializerOptions,
    /// Compression of structured payloads.
    pub compression: CompressionOptions,
}

impl Encoder {
    /// An encoder with `serializer` and no compression.
    pub const fn new(serializer: Serializer) -> Self {
        Encoder {
            format: Format::Native,
            serializer,
            serializer_options: SerializerOptions::new(),
            compression: CompressionOptions::none(),
        }
    }

    /// This encoder with `compression`.
    pub const fn with_compression(mut self, compression: CompressionOptions) -> Self {
        self.compression = compression;
        self
    }

    /// Encodes `value` into new bytes.
    pub fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        self.encode_into(value, None, &mut out)?;
        Ok(out)
    }

    /// Appends `value` to `out`; `model` is the type tag and schema version of a model, which
    /// is always stored with a header (and so needs a serializer).
    pub fn encode_into<T: Serialize + ?Sized>(
        &self,
        value: &T,
        model: Option<(&str, u32)>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        self.encode_to(value, model, out)
    }

    /// Writes `value` to `sink` (a `Vec`, or a command's next argument: no intermediate copy
    /// of the whole value); like [`encode_into`](Self::encode_into).
    pub(crate) fn encode_to<T: Serialize + ?Sized, S: Sink>(
        &self,
        value: &T,
        model: Option<(&str, u32)>,
        sink: &mut S,
    ) -> Result<()> {
        if self.format == Format::KvdbPy {
            let class = model.map(|(name, _)| PyClass {
                kind: PyKind::Pydantic,
                name,
            });
            let out = sink.buffer();
            return kvdb_py::encode_into(value, class, self.serializer, &self.compression, out);
        }
        let no_serializer = self.serializer == Serializer::None;
        if model.is_none() && write_plain(value, sink.buffer(), no_serializer) {
            return Ok(());
        }
        self.encode_structured(value, model, sink)
    }

    /// A value through the serializer, with a header.
    fn encode_structured<T: Serialize + ?Sized, W: Sink>(
        &self,
        value: &T,
        model: Option<(&str, u32)>,
        w: &mut W,
    ) -> Result<()> {
        let codec = self.serializer.codec().ok_or(Error::SerializerRequired {
            key: KeyContext::default(),
            type_name: std::any::type_name::<T>(),
        })?;
        let mut header = Header::new(codec, Compression::None);
        if let Some((tag, version)) = model {
            header.tag = Some(tag);
            header.version = version;
        }
        if self.compression.algorithm == Compression::None {
            header.write_to(w).map_err(encode_io::<T>)?;
            return serialize_into(codec, self.serializer_options, value, w);
        }
        with_scratch(|payload| {
            serialize_into(codec, self.serializer_options, value, payload)?;
            header.compression = self.compression.algorithm_for(payload.len());
            header.write_to(w).map_err(encode_io::<T>)?;
            if header.compression == Compression::None {
                return w.write_all(payload).map_err(encode_io::<T>);
            }
            scratch(&SCRATCH2, |packed| {
                compress::compress_into(
                    header.compression,
                    self.compression.level,
                    payload,
                    packed,
                )?;
                w.write_all(packed).map_err(encode_io::<T>)
            })
        })
    }
}

fn encode_io<T: ?Sized>(e: std::io::Error) -> Error {
    Error::Encode {
        key: KeyContext::default(),
        type_name: std::any::type_name::<T>(),
        codec: Codec::Raw,
        source: e.into(),
    }
}

impl Encoder {
    /// Appends a model that corresponds to the Python class `class`, in
    /// [`Format::KvdbPy`] (a pydantic or dataclass envelope, or MessagePack extension type 2),
    /// whatever this encoder's format.
    ///
    /// ```
    /// use kvdb::format::{Encoder, PyClass, PyKind};
    /// use kvdb::Serializer;
    ///
    /// #[derive(serde::Serialize)]
    /// struct Point { x: i64, y: f64, label: String }
    ///
    /// let mut out = Vec::new();
    /// Encoder::new(Serializer::Json).encode_py_model(
    ///     &Point { x: 1, y: 2.5, label: "origin".into() },
    ///     PyClass { kind: PyKind::Dataclass, name: "models.Point" },
    ///     &mut out,
    /// )?;
    /// assert_eq!(
    ///     String::from_utf8(out).unwrap(),
    ///     r#"_kvdbenc_{"__type__": "dataclass", "__class__": "models.Point", "value": {"x": 1, "y": 2.5, "label": "origin"}}"#
    /// );
    /// # Ok::<(), kvdb::Error>(())
    /// ```
    pub fn encode_py_model<T: Serialize + ?Sized>(
        &self,
        value: &T,
        class: PyClass<'_>,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        kvdb_py::encode_into(value, Some(class), self.serializer, &self.compression, out)
    }
}

/// Decodes stored bytes as a reader of `format` would: like [`decode`], except that a
/// [`Format::KvdbPy`] reader takes the plain bytes `null` for `None`, as kvdb-py does.
pub fn decode_as<T: DeserializeOwned>(format: Format, bytes: &[u8]) -> Result<T> {
    decode_for(bytes, DEFAULT_MAX_DECOMPRESSED, format)
}

/// What a stored value is, read from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoredKind<'a> {
    /// A plain Redis value (not written by a kvdb serializer, or a scalar).
    Plain,
    /// A kvdb value with this header.
    Kvdb(Header<'a>),
    /// A value written by the Python library kvdb-py (`_kvdbenc_` prefix).
    KvdbPy,
}

/// Tells what `bytes` hold without decoding the payload. Errors only on a malformed kvdb
/// header.
///
/// ```
/// use kvdb::format::{inspect, StoredKind};
/// assert_eq!(inspect(b"hello").unwrap(), StoredKind::Plain);
/// match inspect(b"kv1j-users.User@2|{}").unwrap() {
///     StoredKind::Kvdb(h) => assert_eq!((h.tag, h.version), (Some("users.User"), 2)),
///     other => panic!("{other:?}"),
/// }
/// ```
pub fn inspect(bytes: &[u8]) -> Result<StoredKind<'_>> {
    Ok(split(bytes)?.0)
}

/// Splits stored bytes into what they are and the payload after the header.
pub(crate) fn split(bytes: &[u8]) -> Result<(StoredKind<'_>, &[u8])> {
    if looks_like_header(bytes) {
        let (h, payload) = Header::parse(bytes)?;
        Ok((StoredKind::Kvdb(h), payload))
    } else if bytes.starts_with(KVDB_PY_PREFIX) {
        Ok((StoredKind::KvdbPy, &bytes[KVDB_PY_PREFIX.len()..]))
    } else {
        Ok((StoredKind::Plain, bytes))
    }
}

/// Decodes stored bytes into a `T`, whatever serializer and compression wrote them, with the
/// default decompression cap ([`DEFAULT_MAX_DECOMPRESSED`]).
///
/// Plain bytes (written by another client, or a scalar) read as strings, numbers, booleans and
/// byte strings; asking for a structured type from plain bytes is an [`Error::Decode`].
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    decode_with_limit(bytes, DEFAULT_MAX_DECOMPRESSED)
}

/// [`decode`] with a cap, in bytes, on the decompressed payload.
pub fn decode_with_limit<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T> {
    decode_for(bytes, limit, Format::Native)
}

/// [`decode_with_limit`] as a reader of `format`: a kvdb-py reader takes a plain `null` for
/// `None`.
pub(crate) fn decode_for<T: DeserializeOwned>(
    bytes: &[u8],
    limit: usize,
    format: Format,
) -> Result<T> {
    let (kind, payload) = split(bytes)?;
    if kind == StoredKind::Plain && format == Format::KvdbPy {
        return T::deserialize(super::PlainDeserializer::new(payload).null_is_none()).map_err(
            |e| Error::Decode {
                key: KeyContext::default(),
                type_name: std::any::type_name::<T>(),
                codec: Codec::Raw,
                source: e.into(),
            },
        );
    }
    decode_payload(kind, payload, limit)
}

/// Decodes the payload of a value already split by [`inspect`].
pub(crate) fn decode_payload<T: DeserializeOwned>(
    kind: StoredKind<'_>,
    payload: &[u8],
    limit: usize,
) -> Result<T> {
    match kind {
        StoredKind::Plain => deserialize_from(Codec::Raw, payload),
        StoredKind::KvdbPy => PyDoc::parse(payload, limit)?.deserialize(),
        StoredKind::Kvdb(h) => {
            if !serde_codec::is_compiled_in(h.codec) {
                return Err(serde_codec::not_compiled(h.codec));
            }
            if h.compression == Compression::None {
                return deserialize_from(h.codec, payload);
            }
            with_scratch(|buf| {
                compress::decompress_into(h.compression, payload, limit, buf)?;
                deserialize_from(h.codec, buf)
            })
        }
    }
}

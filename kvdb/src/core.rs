//! What every operation needs from its session: the encoder and the size limits.
//! Pure: encodes arguments and decodes replies, no I/O.

use redis::{RedisWrite, Value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, KeyContext, Result};
use crate::format::{Encoder, Format, Sink, decode_for};
use crate::model::KvModel;
use crate::options::Limits;

/// The codec side of a session, copied into each operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Core {
    pub(crate) encoder: Encoder,
    pub(crate) limits: Limits,
}

/// Bytes written to a command argument pass through this buffer, a chunk at a time: small
/// values take one copy into the command, as from any buffer, and a large one never exists
/// twice in full (the serializers make many small writes, which a `Vec` takes inline while
/// the command's own writer would be a call each).
const CHUNK: usize = 64 * 1024;

thread_local! {
    static ARG: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

struct Chunked<'a, W: std::io::Write> {
    buf: &'a mut Vec<u8>,
    inner: W,
    /// Bytes passed on to `inner`.
    passed: usize,
}

impl<W: std::io::Write> Chunked<'_, W> {
    fn pass(&mut self) -> std::io::Result<()> {
        self.inner.write_all(self.buf)?;
        self.passed += self.buf.len();
        self.buf.clear();
        Ok(())
    }

    /// The buffer is full: pass it on, then `bytes` (directly if they are a chunk or more).
    #[cold]
    #[inline(never)]
    fn spill(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.pass()?;
        if bytes.len() >= CHUNK {
            self.inner.write_all(bytes)?;
            self.passed += bytes.len();
        } else {
            self.buf.extend_from_slice(bytes);
        }
        Ok(())
    }
}

impl<W: std::io::Write> std::io::Write for Chunked<'_, W> {
    #[inline]
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.write_all(bytes)?;
        Ok(bytes.len())
    }

    #[inline]
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if self.buf.len() + bytes.len() <= CHUNK {
            self.buf.extend_from_slice(bytes);
            Ok(())
        } else {
            self.spill(bytes)
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.pass()
    }
}

impl<W: std::io::Write> crate::format::Sink for Chunked<'_, W> {
    fn buffer(&mut self) -> &mut Vec<u8> {
        self.buf
    }
}

/// What goes into one command argument, written to a [`Sink`].
trait ArgValue {
    /// The type, for errors.
    fn type_name(&self) -> &'static str;
    /// Writes the argument.
    fn encode<S: Sink>(self, encoder: &Encoder, sink: &mut S) -> Result<()>;
}

/// A value (a model when `model` has its tag and version), in the session's format.
struct Plain<'a, T: ?Sized> {
    value: &'a T,
    model: Option<(&'a str, u32)>,
}

impl<T: Serialize + ?Sized> ArgValue for Plain<'_, T> {
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn encode<S: Sink>(self, encoder: &Encoder, sink: &mut S) -> Result<()> {
        encoder.encode_to(self.value, self.model, sink)
    }
}

/// A model as its Python class, in kvdb-py's format (built whole in the sink's buffer).
struct PyModel<'a, T>(&'a T);

impl<T: KvModel> ArgValue for PyModel<'_, T> {
    fn type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }

    fn encode<S: Sink>(self, encoder: &Encoder, sink: &mut S) -> Result<()> {
        encoder.encode_py_model(self.0, crate::model::py_class::<T>(), sink.buffer())
    }
}

impl Core {
    /// Encodes `value` into `cmd` as its next argument, through a buffer of at most about
    /// [`CHUNK`] bytes. On error `cmd` holds a partial argument and must be dropped, as every
    /// caller does.
    pub(crate) fn encode_arg<T: Serialize + ?Sized>(
        &self,
        cmd: &mut redis::Cmd,
        value: &T,
        model: Option<(&str, u32)>,
    ) -> Result<()> {
        self.encode_arg_with(cmd, Plain { value, model })
    }

    /// Encodes a model: with its tag and version in kvdb's format, or as its Python class in
    /// kvdb-py's.
    pub(crate) fn encode_model_arg<T: KvModel>(
        &self,
        cmd: &mut redis::Cmd,
        model: &T,
    ) -> Result<()> {
        match self.encoder.format {
            Format::KvdbPy => self.encode_arg_with(cmd, PyModel(model)),
            _ => self.encode_arg(cmd, model, Some((T::TAG, T::VERSION))),
        }
    }

    fn encode_arg_with(&self, cmd: &mut redis::Cmd, value: impl ArgValue) -> Result<()> {
        let type_name = value.type_name();
        let run = |buf: &mut Vec<u8>| {
            buf.clear();
            let mut w = Chunked {
                buf,
                inner: cmd.writer_for_next_arg(),
                passed: 0,
            };
            value.encode(&self.encoder, &mut w)?;
            w.pass().map_err(|e| Error::Encode {
                key: KeyContext::default(),
                type_name,
                codec: crate::format::Codec::Raw,
                source: e.into(),
            })?;
            if w.passed > self.limits.max_value_size {
                return Err(Error::ValueTooLarge {
                    key: KeyContext::default(),
                    size: w.passed,
                    limit: self.limits.max_value_size,
                });
            }
            Ok(())
        };
        ARG.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => {
                let r = run(&mut buf);
                if buf.capacity() > 2 * CHUNK {
                    *buf = Vec::new();
                }
                r
            }
            Err(_) => run(&mut Vec::new()),
        })
    }

    /// Decodes stored bytes.
    pub(crate) fn decode<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        decode_for(
            bytes,
            self.limits.max_decompressed_size,
            self.encoder.format,
        )
    }

    /// Decodes a reply that is a stored value or nil.
    pub(crate) fn decode_opt<T: DeserializeOwned>(
        &self,
        reply: Value,
        command: &'static str,
    ) -> Result<Option<T>> {
        stored_bytes(reply, command)?
            .map(|bytes| self.decode(&bytes))
            .transpose()
    }

    /// Decodes a reply that is a stored value.
    pub(crate) fn decode_value<T: DeserializeOwned>(
        &self,
        reply: Value,
        command: &'static str,
    ) -> Result<T> {
        self.decode_opt(reply, command)?
            .ok_or_else(|| unexpected(command, &Value::Nil))
    }
}

/// The bytes of a reply that is a stored value (a bulk string; other scalar shapes as their
/// text), or `None` for nil: the one reading of a stored value's reply, for plain values and
/// models alike.
pub(crate) fn stored_bytes(reply: Value, command: &'static str) -> Result<Option<Vec<u8>>> {
    match reply {
        Value::Nil => Ok(None),
        Value::BulkString(bytes) => Ok(Some(bytes)),
        Value::SimpleString(s) => Ok(Some(s.into_bytes())),
        Value::VerbatimString { text, .. } => Ok(Some(text.into_bytes())),
        Value::Int(i) => Ok(Some(i.to_string().into_bytes())),
        Value::Double(d) => Ok(Some(d.to_string().into_bytes())),
        other => Err(unexpected(command, &other)),
    }
}

/// An error for a reply of the wrong shape.
pub(crate) fn unexpected(command: &'static str, reply: &Value) -> Error {
    let mut text = format!("{reply:?}");
    if text.len() > 80 {
        let mut end = 80;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    Error::UnexpectedReply {
        key: KeyContext::default(),
        command,
        reply: text,
    }
}

//! What every operation needs from its session: the encoder and the size limits.
//! Pure: encodes arguments and decodes replies, no I/O.

use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, KeyContext, Result};
use crate::format::{Encoder, Format, decode_for};
use crate::model::KvModel;
use crate::options::Limits;

/// The codec side of a session, copied into each operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Core {
    pub(crate) encoder: Encoder,
    pub(crate) limits: Limits,
}

thread_local! {
    static ARG: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

impl Core {
    /// Encodes `value` and appends it to `cmd` as one argument (one copy, into the command).
    pub(crate) fn encode_arg<T: Serialize + ?Sized>(
        &self,
        cmd: &mut redis::Cmd,
        value: &T,
        model: Option<(&str, u32)>,
    ) -> Result<()> {
        self.encode_arg_with(cmd, |enc, buf| enc.encode_into(value, model, buf))
    }

    /// Encodes a model: with its tag and version in kvdb's format, or as its Python class in
    /// kvdb-py's.
    pub(crate) fn encode_model_arg<T: KvModel>(
        &self,
        cmd: &mut redis::Cmd,
        model: &T,
    ) -> Result<()> {
        match self.encoder.format {
            Format::KvdbPy => self.encode_arg_with(cmd, |enc, buf| {
                enc.encode_py_model(model, crate::model::py_class::<T>(), buf)
            }),
            _ => self.encode_arg(cmd, model, Some((T::TAG, T::VERSION))),
        }
    }

    fn encode_arg_with(
        &self,
        cmd: &mut redis::Cmd,
        encode: impl FnOnce(&Encoder, &mut Vec<u8>) -> Result<()>,
    ) -> Result<()> {
        let run = |buf: &mut Vec<u8>| {
            buf.clear();
            encode(&self.encoder, buf)?;
            if buf.len() > self.limits.max_value_size {
                return Err(Error::ValueTooLarge {
                    key: KeyContext::default(),
                    size: buf.len(),
                    limit: self.limits.max_value_size,
                });
            }
            cmd.arg(&buf[..]);
            if buf.capacity() > 1024 * 1024 {
                *buf = Vec::new();
            }
            Ok(())
        };
        ARG.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => run(&mut buf),
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
        match reply {
            Value::Nil => Ok(None),
            other => self.decode_value(other, command).map(Some),
        }
    }

    /// Decodes a reply that is a stored value.
    pub(crate) fn decode_value<T: DeserializeOwned>(
        &self,
        reply: Value,
        command: &'static str,
    ) -> Result<T> {
        match reply {
            Value::BulkString(bytes) => self.decode(&bytes),
            Value::SimpleString(s) => self.decode(s.as_bytes()),
            Value::VerbatimString { text, .. } => self.decode(text.as_bytes()),
            Value::Int(i) => self.decode(i.to_string().as_bytes()),
            Value::Double(d) => self.decode(d.to_string().as_bytes()),
            other => Err(unexpected(command, &other)),
        }
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

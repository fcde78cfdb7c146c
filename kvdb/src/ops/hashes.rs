//! Hash commands: fields of one key, each value encoded with the session's codec.

use std::collections::HashMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::decode;
use super::reply_de::read_fields;
use crate::core::{Core, unexpected};
use crate::error::{Error, KeyContext, Result};
use crate::transport::{Command, Decoder};

pub(crate) fn hset<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    field: &str,
    value: &T,
) -> Result<Command<impl Decoder<bool> + use<T>>> {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(key).arg(field);
    core.encode_arg(&mut cmd, value, None)
        .map_err(|e| e.at_key(key))?;
    Ok(Command::new(cmd, |reply| {
        decode::count(reply, "HSET").map(|n| n > 0)
    }))
}

fn hset_multiple<T: Serialize>(
    core: &Core,
    key: &str,
    fields: &[(&str, T)],
) -> Result<Command<impl Decoder<u64> + use<T>>> {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(key);
    for (field, value) in fields {
        cmd.arg(*field);
        core.encode_arg(&mut cmd, value, None)
            .map_err(|e| e.at_key(key))?;
    }
    Ok(Command::new(cmd, |reply| decode::count(reply, "HSET")))
}

/// Writes each field of a struct (or map) as a hash field, through a JSON value: what
/// serde_json cannot represent (byte strings as such, integers above `u64`) is changed or
/// refused as serde_json does.
fn hset_struct<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    value: &T,
) -> Result<Command<impl Decoder<u64> + use<T>>> {
    let fields = match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(fields)) => fields,
        Ok(other) => {
            return Err(Error::Unsupported(format!(
                "hset_struct at key {key:?}: {} is not a struct or map (it serializes as {})",
                crate::error::TypeName(std::any::type_name::<T>()),
                json_kind(&other)
            )));
        }
        Err(e) => {
            return Err(Error::Encode {
                key: KeyContext::of(key),
                type_name: std::any::type_name::<T>(),
                codec: crate::Codec::Json,
                source: e.into(),
            });
        }
    };
    let mut cmd = redis::cmd("HSET");
    cmd.arg(key);
    for (field, value) in &fields {
        cmd.arg(field);
        core.encode_arg(&mut cmd, value, None)
            .map_err(|e| e.at_key(key))?;
    }
    Ok(Command::new(cmd, |reply| decode::count(reply, "HSET")))
}

fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a bool",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a sequence",
        serde_json::Value::Object(_) => "a map",
    }
}

pub(crate) fn hget<T: DeserializeOwned>(
    core: &Core,
    key: &str,
    field: &str,
) -> Result<Command<impl Decoder<Option<T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("HGET");
    cmd.arg(key).arg(field);
    Ok(Command::new(cmd, move |reply| {
        core.decode_opt(reply, "HGET")
    }))
}

fn hmget<T: DeserializeOwned>(
    core: &Core,
    key: &str,
    fields: &[&str],
) -> Result<Command<impl Decoder<Vec<Option<T>>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(key).arg(fields);
    Ok(Command::new(cmd, move |reply| {
        decode::opt_values(&core, reply, "HMGET")
    }))
}

fn hgetall<T: DeserializeOwned>(
    core: &Core,
    key: &str,
) -> Result<Command<impl Decoder<HashMap<String, T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("HGETALL");
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        decode::pairs(reply, "HGETALL")?
            .into_iter()
            .map(|(f, v)| {
                Ok((
                    decode::string(f, "HGETALL")?,
                    core.decode_value(v, "HGETALL")?,
                ))
            })
            .collect()
    }))
}

fn hgetall_struct<T: DeserializeOwned>(
    core: &Core,
    key: &str,
) -> Result<Command<impl Decoder<Option<T>> + use<T>>> {
    let limit = core.limits.max_decompressed_size;
    let mut cmd = redis::cmd("HGETALL");
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        let pairs = decode::pairs(reply, "HGETALL")?
            .into_iter()
            .map(|(f, v)| Ok((decode::string(f, "HGETALL")?, v)))
            .collect::<Result<Vec<_>>>()?;
        if pairs.is_empty() {
            return Ok(None);
        }
        read_fields(&pairs, limit).map(Some)
    }))
}

fn hdel(key: &str, fields: &[&str]) -> Result<Command<impl Decoder<u64> + use<>>> {
    let mut cmd = redis::cmd("HDEL");
    cmd.arg(key).arg(fields);
    Ok(Command::new(cmd, |reply| decode::count(reply, "HDEL")))
}

fn hexists(key: &str, field: &str) -> Result<Command<impl Decoder<bool> + use<>>> {
    let mut cmd = redis::cmd("HEXISTS");
    cmd.arg(key).arg(field);
    Ok(Command::new(cmd, |reply| decode::flag(reply, "HEXISTS")))
}

fn hkeys(key: &str) -> Result<Command<impl Decoder<Vec<String>> + use<>>> {
    let mut cmd = redis::cmd("HKEYS");
    cmd.arg(key);
    Ok(Command::new(cmd, |reply| decode::strings(reply, "HKEYS")))
}

fn hlen(key: &str) -> Result<Command<impl Decoder<u64> + use<>>> {
    let mut cmd = redis::cmd("HLEN");
    cmd.arg(key);
    Ok(Command::new(cmd, |reply| decode::count(reply, "HLEN")))
}

pub(crate) fn hincr_by(
    key: &str,
    field: &str,
    by: i64,
) -> Result<Command<impl Decoder<i64> + use<>>> {
    let mut cmd = redis::cmd("HINCRBY");
    cmd.arg(key).arg(field).arg(by);
    Ok(Command::new(cmd, |reply| match reply {
        redis::Value::Int(n) => Ok(n),
        other => Err(unexpected("HINCRBY", &other)),
    }))
}

session_methods! {
    /// Sets `field` of the hash at `key` to `value` (`HSET`); returns whether the field is
    /// new.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc").serializer(kvdb::Serializer::Json))?;
    /// session.hset("user:1", "name", "Ada")?;
    /// session.hset("user:1", "langs", &vec!["en", "fr"])?;
    /// let langs: Option<Vec<String>> = session.hget("user:1", "langs")?;
    /// # Ok(()) }
    /// ```
    fn hset[T](key: &str, field: &str, value: &T) -> bool where [T: Serialize + ?Sized] async [T: Sync]
        = [pipe, idempotent] run |core| hset(core, key, field, value);

    /// Sets several fields of the hash at `key` (`HSET`); returns how many are new.
    fn hset_multiple[T](key: &str, fields: &[(&str, T)]) -> u64 where [T: Serialize] async [T: Sync]
        = [pipe, idempotent] run |core| hset_multiple(core, key, fields);

    /// Writes each field of a struct (or map) as a field of the hash at `key`, each value
    /// encoded on its own (scalars stay plain, so [`hincr_by`](Self::hincr_by) works on
    /// them); returns how many fields are new. The struct goes through a JSON value, so byte
    /// strings become sequences of numbers and integers above `u64::MAX` are refused. Read
    /// it back with [`hgetall_struct`](Self::hgetall_struct).
    fn hset_struct[T](key: &str, value: &T) -> u64 where [T: Serialize + ?Sized] async [T: Sync]
        = [pipe, idempotent] run |core| hset_struct(core, key, value);

    /// Reads `field` of the hash at `key`; `None` if the field or the key does not exist.
    fn hget[T](key: &str, field: &str) -> Option<T> where [T: DeserializeOwned]
        = [pipe, read] run |core| hget::<T>(core, key, field);

    /// Reads several fields of the hash at `key`, in order; `None` for a missing field.
    fn hmget[T](key: &str, fields: &[&str]) -> Vec<Option<T>> where [T: DeserializeOwned]
        = [pipe, read] run |core| hmget::<T>(core, key, fields);

    /// Reads every field of the hash at `key` (`HGETALL`), all as `T`; empty if the key
    /// does not exist.
    fn hgetall[T](key: &str) -> HashMap<String, T> where [T: DeserializeOwned]
        = [pipe, read] run |core| hgetall::<T>(core, key);

    /// Reads the hash at `key` as one struct (or map), field by field; `None` if the key does
    /// not exist. A struct field missing from the hash (and not `#[serde(default)]`) is an
    /// [`Error::Decode`](crate::Error::Decode) naming the key and the field.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc").serializer(kvdb::Serializer::Json))?;
    /// #[derive(serde::Serialize, serde::Deserialize)]
    /// struct Profile { name: String, visits: u64 }
    /// session.hset_struct("profile:1", &Profile { name: "Ada".into(), visits: 1 })?;
    /// session.hincr_by("profile:1", "visits", 1)?;
    /// let p: Profile = session.hgetall_struct("profile:1")?.expect("exists");
    /// assert_eq!(p.visits, 2);
    /// # Ok(()) }
    /// ```
    fn hgetall_struct[T](key: &str) -> Option<T> where [T: DeserializeOwned]
        = [pipe, read] run |core| hgetall_struct::<T>(core, key);

    /// Deletes fields of the hash at `key`; returns how many existed.
    fn hdel(key: &str, fields: &[&str]) -> u64 = [pipe, idempotent] run |_| hdel(key, fields);

    /// Whether the hash at `key` has `field`.
    fn hexists(key: &str, field: &str) -> bool = [pipe, read] run |_| hexists(key, field);

    /// The field names of the hash at `key`.
    fn hkeys(key: &str) -> Vec<String> = [pipe, read] run |_| hkeys(key);

    /// How many fields the hash at `key` has (0 if it does not exist).
    fn hlen(key: &str) -> u64 = [pipe, read] run |_| hlen(key);

    /// Adds `by` to the integer in `field` of the hash at `key`; returns the new value.
    fn hincr_by(key: &str, field: &str, by: i64) -> i64 = [pipe, once] run |_| hincr_by(key, field, by);
}

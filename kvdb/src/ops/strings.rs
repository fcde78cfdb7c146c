//! String commands: values stored under one key.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::core::{Core, unexpected};
use crate::error::Result;
use crate::transport::{Command, Decoder};

fn get<T: DeserializeOwned>(
    core: &Core,
    key: &str,
) -> Result<Command<impl Decoder<Option<T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("GET");
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        core.decode_opt(reply, "GET")
    }))
}

fn set<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    value: &T,
) -> Result<Command<impl Decoder<()> + use<T>>> {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key);
    core.encode_arg(&mut cmd, value, None)
        .map_err(|e| e.at_key(key))?;
    Ok(Command::new(cmd, |reply| match reply {
        redis::Value::Okay => Ok(()),
        other => Err(unexpected("SET", &other)),
    }))
}

fn delete(keys: &[&str]) -> Result<Command<impl Decoder<u64> + use<>>> {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(keys);
    Ok(Command::new(cmd, |reply| int(reply, "DEL")))
}

fn exists(key: &str) -> Result<Command<impl Decoder<bool> + use<>>> {
    let mut cmd = redis::cmd("EXISTS");
    cmd.arg(key);
    Ok(Command::new(cmd, |reply| {
        int(reply, "EXISTS").map(|n| n > 0)
    }))
}

/// Decodes an integer reply.
pub(crate) fn int(reply: redis::Value, command: &'static str) -> Result<u64> {
    match reply {
        redis::Value::Int(n) if n >= 0 => Ok(n as u64),
        other => Err(unexpected(command, &other)),
    }
}

session_methods! {
    /// Reads the value at `key` as a `T`; `Ok(None)` if the key does not exist.
    ///
    /// The value's own header says how it was written, so this reads what any session wrote,
    /// whatever its serializer and compression. Plain values (written by other clients, or
    /// scalars) read as strings, numbers, booleans and byte strings.
    fn get[T](key: &str) -> Option<T> where [T: DeserializeOwned] = run |core| get::<T>(core, key);

    /// Stores `value` at `key` (`SET`), encoded with this session's serializer and
    /// compression; scalars are stored in plain Redis form.
    fn set[T](key: &str, value: &T) -> () where [T: Serialize + ?Sized + Sync] = run |core| set(core, key, value);

    /// Deletes `keys`; returns how many existed.
    fn delete(keys: &[&str]) -> u64 = run |_| delete(keys);

    /// Whether `key` exists.
    fn exists(key: &str) -> bool = run |_| exists(key);

    /// Whether `key` exists: the counterpart of kvdb-py's `key in session`.
    fn contains_key(key: &str) -> bool = run |_| exists(key);

    /// Deletes `key`; returns whether it existed: the counterpart of `del session[key]`.
    fn remove(key: &str) -> bool = run |_| delete(&[key]).map(|op| op.map(|n| n > 0));
}

//! String commands: values stored under one key, and counters.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::decode;
use crate::core::{Core, unexpected};
use crate::error::Result;
use crate::model::ttl::ttl_arg;
use crate::retry::Safety;
use crate::transport::{Command, Decoder};

/// Conditions and expiry of a [`set_with`](crate::Session::set_with) /
/// [`set_get`](crate::Session::set_get): `SET`'s `NX`, `XX`, `EX`, `PX` and `KEEPTTL`.
///
/// ```
/// use kvdb::SetOptions;
/// use std::time::Duration;
///
/// // Set only if absent, expiring in 30 s.
/// let opts = SetOptions::new().nx().ex(Duration::from_secs(30));
/// # let _ = opts;
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SetOptions {
    condition: Option<Condition>,
    expiry: Option<Expiry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Condition {
    Nx,
    Xx,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expiry {
    Ex(Duration),
    Px(Duration),
    KeepTtl,
}

impl SetOptions {
    /// No condition, no expiry: a plain `SET` (which clears any previous expiry).
    pub const fn new() -> Self {
        SetOptions {
            condition: None,
            expiry: None,
        }
    }

    /// Only set the key if it does not exist (`NX`); replaces [`xx`](Self::xx).
    pub const fn nx(mut self) -> Self {
        self.condition = Some(Condition::Nx);
        self
    }

    /// Only set the key if it already exists (`XX`); replaces [`nx`](Self::nx).
    pub const fn xx(mut self) -> Self {
        self.condition = Some(Condition::Xx);
        self
    }

    /// Expire after `ttl` (`EX` for whole seconds, `PX` for anything finer, so `500ms` is
    /// `PX 500`, never `EX 0`). A TTL under one millisecond is an
    /// [`Error::InvalidTtl`](crate::Error::InvalidTtl) when the command is built. Replaces
    /// any other expiry option.
    pub const fn ex(mut self, ttl: Duration) -> Self {
        self.expiry = Some(Expiry::Ex(ttl));
        self
    }

    /// The same as [`ex`](Self::ex) (kept for `SET`'s option names): `PX` in whole
    /// milliseconds, or `EX` for whole seconds. Replaces any other expiry option.
    pub const fn px(mut self, ttl: Duration) -> Self {
        self.expiry = Some(Expiry::Px(ttl));
        self
    }

    /// Keep the key's current time to live (`KEEPTTL`). Replaces any other expiry option.
    pub const fn keep_ttl(mut self) -> Self {
        self.expiry = Some(Expiry::KeepTtl);
        self
    }

    /// Whether a `SET` with these options may be sent twice: not with `NX`, whose second
    /// attempt would report "not stored" for a value the first one stored.
    pub(crate) fn safety(&self) -> Safety {
        match self.condition {
            Some(Condition::Nx) => Safety::Once,
            _ => Safety::Idempotent,
        }
    }

    fn write(&self, cmd: &mut redis::Cmd, key: &str) -> Result<()> {
        match self.condition {
            Some(Condition::Nx) => cmd.arg("NX"),
            Some(Condition::Xx) => cmd.arg("XX"),
            None => cmd,
        };
        match self.expiry {
            Some(Expiry::Ex(d)) => {
                let (option, n) = ttl_arg("SET EX", key, d)?.set_option();
                cmd.arg(option).arg(n)
            }
            Some(Expiry::Px(d)) => {
                let (option, n) = ttl_arg("SET PX", key, d)?.set_option();
                cmd.arg(option).arg(n)
            }
            Some(Expiry::KeepTtl) => cmd.arg("KEEPTTL"),
            None => cmd,
        };
        Ok(())
    }
}

/// `SET key <value>` and the options, encoded with the session's codec.
fn set_cmd<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    value: &T,
    opts: &SetOptions,
) -> Result<redis::Cmd> {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key);
    core.encode_arg(&mut cmd, value, None)
        .map_err(|e| e.at_key(key))?;
    opts.write(&mut cmd, key)?;
    Ok(cmd)
}

pub(crate) fn get<T: DeserializeOwned>(
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

pub(crate) fn set<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    value: &T,
) -> Result<Command<impl Decoder<()> + use<T>>> {
    let cmd = set_cmd(core, key, value, &SetOptions::new())?;
    Ok(Command::new(cmd, |reply| decode::ok(reply, "SET")))
}

pub(crate) fn set_with<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    value: &T,
    opts: SetOptions,
) -> Result<Command<impl Decoder<bool> + use<T>>> {
    let cmd = set_cmd(core, key, value, &opts)?;
    Ok(Command::new(cmd, |reply| match reply {
        redis::Value::Nil => Ok(false),
        other => decode::ok(other, "SET").map(|()| true),
    })
    .with_safety(opts.safety()))
}

fn set_get<T: Serialize + DeserializeOwned>(
    core: &Core,
    key: &str,
    value: &T,
    opts: SetOptions,
) -> Result<Command<impl Decoder<Option<T>> + use<T>>> {
    let core = *core;
    let mut cmd = set_cmd(&core, key, value, &opts)?;
    cmd.arg("GET");
    Ok(Command::new(cmd, move |reply| {
        core.decode_opt(reply, "SET")
    }))
}

fn get_del<T: DeserializeOwned>(
    core: &Core,
    key: &str,
) -> Result<Command<impl Decoder<Option<T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("GETDEL");
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        core.decode_opt(reply, "GETDEL")
    }))
}

fn mget<T: DeserializeOwned>(
    core: &Core,
    keys: &[&str],
) -> Result<Command<impl Decoder<Vec<Option<T>>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("MGET");
    cmd.arg(keys);
    let names: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    Ok(Command::new(cmd, move |reply| {
        let items = decode::items(reply, "MGET")?;
        if items.len() != names.len() {
            return Err(unexpected("MGET", &redis::Value::Array(items)));
        }
        items
            .into_iter()
            .zip(&names)
            .map(|(v, k)| core.decode_opt(v, "MGET").map_err(|e| e.at_key(k)))
            .collect()
    }))
}

fn mset<T: Serialize>(
    core: &Core,
    pairs: &[(&str, T)],
) -> Result<Command<impl Decoder<()> + use<T>>> {
    let mut cmd = redis::cmd("MSET");
    for (key, value) in pairs {
        cmd.arg(*key);
        core.encode_arg(&mut cmd, value, None)
            .map_err(|e| e.at_key(key))?;
    }
    Ok(Command::new(cmd, |reply| decode::ok(reply, "MSET")))
}

pub(crate) fn incr_by(key: &str, by: i64) -> Result<Command<impl Decoder<i64> + use<>>> {
    let mut cmd = redis::cmd("INCRBY");
    cmd.arg(key).arg(by);
    Ok(Command::new(cmd, |reply| decode::int(reply, "INCRBY")))
}

fn decr_by(key: &str, by: i64) -> Result<Command<impl Decoder<i64> + use<>>> {
    let mut cmd = redis::cmd("DECRBY");
    cmd.arg(key).arg(by);
    Ok(Command::new(cmd, |reply| decode::int(reply, "DECRBY")))
}

fn incr_by_float(key: &str, by: f64) -> Result<Command<impl Decoder<f64> + use<>>> {
    let mut cmd = redis::cmd("INCRBYFLOAT");
    cmd.arg(key).arg(by);
    Ok(Command::new(cmd, |reply| {
        decode::float(reply, "INCRBYFLOAT")
    }))
}

session_methods! {
    /// Reads the value at `key` as a `T`; `Ok(None)` if the key does not exist.
    ///
    /// The value's own header says how it was written, so this reads what any session wrote,
    /// whatever its serializer and compression. Plain values (written by other clients, or
    /// scalars) read as strings, numbers, booleans and byte strings. A key holding another
    /// type (a list, a hash) is an [`Error::Redis`](crate::Error::Redis) (`WRONGTYPE`) that
    /// names the key.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// session.set("greeting", "hello")?;
    /// assert_eq!(session.get::<String>("greeting")?.as_deref(), Some("hello"));
    /// # Ok(()) }
    /// ```
    fn get[T](key: &str) -> Option<T> where [T: DeserializeOwned] = [pipe, read] run |core| get::<T>(core, key);

    /// Stores `value` at `key` (`SET`), encoded with this session's serializer and
    /// compression; scalars are stored in plain Redis form. Clears any expiry.
    fn set[T](key: &str, value: &T) -> () where [T: Serialize + ?Sized] async [T: Sync] = [pipe, idempotent] run |core| set(core, key, value);

    /// Stores `value` at `key`, expiring after `ttl` (`SET ... EX` for whole seconds, else
    /// `PX` in whole milliseconds; under a millisecond is an
    /// [`Error::InvalidTtl`](crate::Error::InvalidTtl) and nothing is sent).
    fn set_ex[T](key: &str, value: &T, ttl: Duration) -> () where [T: Serialize + ?Sized] async [T: Sync]
        = [pipe, idempotent] run |core| set_with(core, key, value, SetOptions::new().px(ttl))
            .map(|op| op.map(|_| ()));

    /// Stores `value` at `key` with conditions and expiry ([`SetOptions`]); returns whether
    /// it was stored (`false` when an `NX`/`XX` condition was not met).
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use kvdb::SetOptions;
    /// use std::time::Duration;
    /// let first = session.set_with("job:42:owner", "worker-1", SetOptions::new().nx().ex(Duration::from_secs(60)))?;
    /// let second = session.set_with("job:42:owner", "worker-2", SetOptions::new().nx())?;
    /// assert!(first && !second);
    /// # Ok(()) }
    /// ```
    fn set_with[T](key: &str, value: &T, options: SetOptions) -> bool
        where [T: Serialize + ?Sized] async [T: Sync] = [pipe, per_call] run |core| set_with(core, key, value, options);

    /// Stores `value` at `key` (with [`SetOptions`]) and returns the value it replaces
    /// (`SET ... GET`); `None` if there was none. With `NX`, a returned value means the key
    /// existed and was left unchanged.
    fn set_get[T](key: &str, value: &T, options: SetOptions) -> Option<T>
        where [T: Serialize + DeserializeOwned] async [T: Sync] = [pipe, once] run |core| set_get(core, key, value, options);

    /// Reads and deletes the value at `key` (`GETDEL`); `None` if it did not exist.
    fn get_del[T](key: &str) -> Option<T> where [T: DeserializeOwned] = [pipe, once] run |core| get_del::<T>(core, key);

    /// Reads several keys at once (`MGET`): one entry per key, in order, `None` for a missing
    /// key (or one holding another type).
    fn mget[T](keys: &[&str]) -> Vec<Option<T>> where [T: DeserializeOwned] = [pipe, read] run |core| mget::<T>(core, keys);

    /// Stores several keys at once (`MSET`), atomically.
    fn mset[T](pairs: &[(&str, T)]) -> () where [T: Serialize] async [T: Sync] = [pipe, idempotent] run |core| mset(core, pairs);

    /// Adds 1 to the integer at `key` (a missing key counts as 0); returns the new value.
    fn incr(key: &str) -> i64 = [pipe, once] run |_| incr_by(key, 1);

    /// Adds `by` to the integer at `key`; returns the new value.
    fn incr_by(key: &str, by: i64) -> i64 = [pipe, once] run |_| incr_by(key, by);

    /// Subtracts 1 from the integer at `key`; returns the new value.
    fn decr(key: &str) -> i64 = [pipe, once] run |_| decr_by(key, 1);

    /// Subtracts `by` from the integer at `key`; returns the new value.
    fn decr_by(key: &str, by: i64) -> i64 = [pipe, once] run |_| decr_by(key, by);

    /// Adds `by` to the number at `key` (`INCRBYFLOAT`); returns the new value.
    fn incr_by_float(key: &str, by: f64) -> f64 = [pipe, once] run |_| incr_by_float(key, by);
}

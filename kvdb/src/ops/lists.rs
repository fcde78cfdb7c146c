//! List commands, including the blocking pop.

use std::time::Duration;

use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::decode;
use crate::core::{Core, unexpected};
use crate::error::Result;
use crate::transport::{Blocking, Command, Decoder};

pub(crate) fn push<T: Serialize>(
    core: &Core,
    command: &'static str,
    key: &str,
    values: &[T],
) -> Result<Command<impl Decoder<u64> + use<T>>> {
    let mut cmd = redis::cmd(command);
    cmd.arg(key);
    for v in values {
        core.encode_arg(&mut cmd, v, None)
            .map_err(|e| e.at_key(key))?;
    }
    Ok(Command::new(cmd, move |reply| {
        decode::count(reply, command)
    }))
}

fn pop<T: DeserializeOwned>(
    core: &Core,
    command: &'static str,
    key: &str,
) -> Result<Command<impl Decoder<Option<T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd(command);
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        core.decode_opt(reply, command)
    }))
}

pub(crate) fn lrange<T: DeserializeOwned>(
    core: &Core,
    key: &str,
    start: i64,
    stop: i64,
) -> Result<Command<impl Decoder<Vec<T>> + use<T>>> {
    range("LRANGE", core, key, start, stop)
}

/// `LRANGE` / `ZRANGE key start stop`: the stored values between two indexes.
pub(crate) fn range<T: DeserializeOwned>(
    command: &'static str,
    core: &Core,
    key: &str,
    start: i64,
    stop: i64,
) -> Result<Command<impl Decoder<Vec<T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd(command);
    cmd.arg(key).arg(start).arg(stop);
    Ok(Command::new(cmd, move |reply| {
        decode::values(&core, reply, command)
    }))
}

fn llen(key: &str) -> Result<Command<impl Decoder<u64> + use<>>> {
    let mut cmd = redis::cmd("LLEN");
    cmd.arg(key);
    Ok(Command::new(cmd, |reply| decode::count(reply, "LLEN")))
}

/// A popped element and the key of its list.
type Popped<T> = Option<(String, T)>;

fn blpop<T: DeserializeOwned>(
    core: &Core,
    keys: &[&str],
    timeout: Duration,
) -> Result<Blocking<Command<impl Decoder<Popped<T>> + use<T>>>> {
    let core = *core;
    let mut cmd = redis::cmd("BLPOP");
    cmd.arg(keys)
        .arg(crate::model::ttl::block_timeout_secs(timeout));
    let op = Command::new(cmd, move |reply| match reply {
        Value::Nil => Ok(None),
        Value::Array(items) => match <[Value; 2]>::try_from(items) {
            Ok([key, value]) => {
                let key = decode::string(key, "BLPOP")?;
                let value = core
                    .decode_value(value, "BLPOP")
                    .map_err(|e| e.at_key(&key))?;
                Ok(Some((key, value)))
            }
            Err(items) => Err(unexpected("BLPOP", &Value::Array(items))),
        },
        other => Err(unexpected("BLPOP", &other)),
    });
    Ok(Blocking {
        op,
        wait: (!timeout.is_zero()).then_some(timeout),
    })
}

session_methods! {
    /// Prepends `values` to the list at `key`, one after the other (`LPUSH`: the last one
    /// ends up first); returns the new length.
    fn lpush[T](key: &str, values: &[T]) -> u64 where [T: Serialize] async [T: Sync]
        = [pipe, once] run |core| push(core, "LPUSH", key, values);

    /// Appends `values` to the list at `key` (`RPUSH`); returns the new length.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// session.rpush("queue", &["a", "b", "c"])?;
    /// assert_eq!(session.lrange::<String>("queue", 0, -1)?, ["a", "b", "c"]);
    /// assert_eq!(session.lpop::<String>("queue")?.as_deref(), Some("a"));
    /// # Ok(()) }
    /// ```
    fn rpush[T](key: &str, values: &[T]) -> u64 where [T: Serialize] async [T: Sync]
        = [pipe, once] run |core| push(core, "RPUSH", key, values);

    /// Removes and returns the first element of the list at `key`; `None` if it is empty.
    fn lpop[T](key: &str) -> Option<T> where [T: DeserializeOwned] = [pipe, once] run |core| pop::<T>(core, "LPOP", key);

    /// Removes and returns the last element of the list at `key`; `None` if it is empty.
    fn rpop[T](key: &str) -> Option<T> where [T: DeserializeOwned] = [pipe, once] run |core| pop::<T>(core, "RPOP", key);

    /// The elements from index `start` to `stop`, both included (`LRANGE`; negative indexes
    /// count from the end: `0, -1` is the whole list).
    fn lrange[T](key: &str, start: i64, stop: i64) -> Vec<T> where [T: DeserializeOwned]
        = [pipe, read] run |core| lrange::<T>(core, key, start, stop);

    /// The length of the list at `key` (0 if it does not exist).
    fn llen(key: &str) -> u64 = [pipe, read] run |_| llen(key);

    /// Removes and returns the first element of the first non-empty list among `keys`,
    /// waiting up to `timeout` for one (`BLPOP`; `Duration::ZERO` waits for ever); returns
    /// the list's key and the element, or `None` on timeout.
    ///
    /// It runs on a connection of its own, with a response timeout lengthened by `timeout`,
    /// so it neither holds up the session's other calls nor times out before the server does.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use std::time::Duration;
    /// if let Some((queue, job)) = session.blpop::<String>(&["jobs:high", "jobs:low"], Duration::from_secs(5))? {
    ///     println!("{job} from {queue}");
    /// }
    /// # Ok(()) }
    /// ```
    fn blpop[T](keys: &[&str], timeout: Duration) -> Option<(String, T)> where [T: DeserializeOwned]
        = [once] blocking |core| blpop::<T>(core, keys, timeout);
}

//! Sorted-set commands. Members are values encoded with the session's codec (see
//! [`sets`](super::sets) on membership); scores are `f64`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::decode;
use super::sets::{card, with_members};
use crate::core::Core;
use crate::error::Result;
use crate::transport::{Command, Decoder};

pub(crate) fn zadd<T: Serialize>(
    core: &Core,
    key: &str,
    items: &[(T, f64)],
) -> Result<Command<impl Decoder<u64> + use<T>>> {
    let mut cmd = redis::cmd("ZADD");
    cmd.arg(key);
    for (member, score) in items {
        cmd.arg(*score);
        core.encode_arg(&mut cmd, member, None)
            .map_err(|e| e.at_key(key))?;
    }
    Ok(Command::new(cmd, |reply| decode::count(reply, "ZADD")))
}

/// `COMMAND key member` (after `extra`), for ZSCORE and ZINCRBY.
fn member_cmd<T: Serialize + ?Sized>(
    core: &Core,
    command: &'static str,
    key: &str,
    extra: Option<f64>,
    member: &T,
) -> Result<redis::Cmd> {
    let mut cmd = redis::cmd(command);
    cmd.arg(key);
    if let Some(x) = extra {
        cmd.arg(x);
    }
    core.encode_arg(&mut cmd, member, None)
        .map_err(|e| e.at_key(key))?;
    Ok(cmd)
}

/// `ZADD key score member` for one member: whether it is new.
fn zadd_one<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    member: &T,
    score: f64,
) -> Result<Command<impl Decoder<bool> + use<T>>> {
    let mut cmd = redis::cmd("ZADD");
    cmd.arg(key).arg(score);
    core.encode_arg(&mut cmd, member, None)
        .map_err(|e| e.at_key(key))?;
    Ok(Command::new(cmd, |reply| {
        decode::count(reply, "ZADD").map(|n| n > 0)
    }))
}

fn zscore<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    member: &T,
) -> Result<Command<impl Decoder<Option<f64>> + use<T>>> {
    let cmd = member_cmd(core, "ZSCORE", key, None, member)?;
    Ok(Command::new(cmd, |reply| {
        decode::opt_float(reply, "ZSCORE")
    }))
}

fn zincr_by<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    member: &T,
    by: f64,
) -> Result<Command<impl Decoder<f64> + use<T>>> {
    let cmd = member_cmd(core, "ZINCRBY", key, Some(by), member)?;
    Ok(Command::new(cmd, |reply| decode::float(reply, "ZINCRBY")))
}

pub(crate) fn zrange<T: DeserializeOwned>(
    core: &Core,
    key: &str,
    start: i64,
    stop: i64,
) -> Result<Command<impl Decoder<Vec<T>> + use<T>>> {
    super::lists::range("ZRANGE", core, key, start, stop)
}

fn zrange_with_scores<T: DeserializeOwned>(
    core: &Core,
    key: &str,
    start: i64,
    stop: i64,
) -> Result<Command<impl Decoder<Vec<(T, f64)>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("ZRANGE");
    cmd.arg(key).arg(start).arg(stop).arg("WITHSCORES");
    Ok(Command::new(cmd, move |reply| {
        decode::pairs(reply, "ZRANGE")?
            .into_iter()
            .map(|(m, s)| Ok((core.decode_value(m, "ZRANGE")?, decode::float(s, "ZRANGE")?)))
            .collect()
    }))
}

fn zrangebyscore<T: DeserializeOwned>(
    core: &Core,
    key: &str,
    min: f64,
    max: f64,
) -> Result<Command<impl Decoder<Vec<T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("ZRANGEBYSCORE");
    cmd.arg(key).arg(bound(min)).arg(bound(max));
    Ok(Command::new(cmd, move |reply| {
        decode::values(&core, reply, "ZRANGEBYSCORE")
    }))
}

/// A score bound as Redis reads it (`-inf`, `+inf`, or the number).
fn bound(x: f64) -> String {
    if x == f64::INFINITY {
        "+inf".into()
    } else if x == f64::NEG_INFINITY {
        "-inf".into()
    } else {
        x.to_string()
    }
}

session_methods! {
    /// Adds `member` with `score` to the sorted set at `key`, or updates its score
    /// (`ZADD`); returns whether it is new.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// session.zadd("scores", "ada", 12.0)?;
    /// session.zadd("scores", "bob", 7.5)?;
    /// assert_eq!(session.zrange::<String>("scores", 0, -1)?, ["bob", "ada"]);
    /// assert_eq!(session.zscore("scores", "ada")?, Some(12.0));
    /// # Ok(()) }
    /// ```
    fn zadd[T](key: &str, member: &T, score: f64) -> bool where [T: Serialize + ?Sized] async [T: Sync]
        = [pipe, idempotent] run |core| zadd_one(core, key, member, score);

    /// Adds or updates several `(member, score)` pairs (`ZADD`); returns how many are new.
    fn zadd_multiple[T](key: &str, items: &[(T, f64)]) -> u64 where [T: Serialize] async [T: Sync]
        = [pipe, idempotent] run |core| zadd(core, key, items);

    /// Removes `members` from the sorted set at `key` (`ZREM`); returns how many were there.
    fn zrem[T](key: &str, members: &[T]) -> u64 where [T: Serialize] async [T: Sync]
        = [pipe, idempotent] run |core| with_members(core, "ZREM", key, members);

    /// The score of `member`; `None` if it is not in the sorted set (`ZSCORE`).
    fn zscore[T](key: &str, member: &T) -> Option<f64> where [T: Serialize + ?Sized] async [T: Sync]
        = [pipe, read] run |core| zscore(core, key, member);

    /// The members ranked `start` to `stop`, both included, lowest score first (`ZRANGE`;
    /// negative ranks count from the end).
    fn zrange[T](key: &str, start: i64, stop: i64) -> Vec<T> where [T: DeserializeOwned]
        = [pipe, read] run |core| zrange::<T>(core, key, start, stop);

    /// Like [`zrange`](Self::zrange), with each member's score.
    fn zrange_with_scores[T](key: &str, start: i64, stop: i64) -> Vec<(T, f64)> where [T: DeserializeOwned]
        = [pipe, read] run |core| zrange_with_scores::<T>(core, key, start, stop);

    /// The members with a score from `min` to `max`, both included, lowest first
    /// (`ZRANGEBYSCORE`; `f64::NEG_INFINITY`/`f64::INFINITY` for open ends).
    fn zrangebyscore[T](key: &str, min: f64, max: f64) -> Vec<T> where [T: DeserializeOwned]
        = [pipe, read] run |core| zrangebyscore::<T>(core, key, min, max);

    /// How many members the sorted set at `key` has (`ZCARD`).
    fn zcard(key: &str) -> u64 = [pipe, read] run |_| card("ZCARD", key);

    /// Adds `by` to the score of `member` (adding it with score `by` if absent, `ZINCRBY`);
    /// returns the new score.
    fn zincr_by[T](key: &str, member: &T, by: f64) -> f64 where [T: Serialize + ?Sized] async [T: Sync]
        = [pipe, once] run |core| zincr_by(core, key, member, by);
}

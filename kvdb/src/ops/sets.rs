//! Set and sorted-set commands. Members are values encoded with the session's codec: the
//! same value always encodes to the same bytes with the same session settings, so membership
//! tests work; members written by sessions with other settings may differ in bytes.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::decode;
use crate::core::Core;
use crate::error::Result;
use crate::transport::{Command, Decoder};

/// `COMMAND key member...`, counting the reply.
pub(crate) fn with_members<T: Serialize>(
    core: &Core,
    command: &'static str,
    key: &str,
    members: &[T],
) -> Result<Command<impl Decoder<u64> + use<T>>> {
    let mut cmd = redis::cmd(command);
    cmd.arg(key);
    for m in members {
        core.encode_arg(&mut cmd, m, None)
            .map_err(|e| e.at_key(key))?;
    }
    Ok(Command::new(cmd, move |reply| {
        decode::count(reply, command)
    }))
}

pub(crate) fn smembers<T: DeserializeOwned>(
    core: &Core,
    key: &str,
) -> Result<Command<impl Decoder<Vec<T>> + use<T>>> {
    let core = *core;
    let mut cmd = redis::cmd("SMEMBERS");
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        decode::values(&core, reply, "SMEMBERS")
    }))
}

fn sismember<T: Serialize + ?Sized>(
    core: &Core,
    key: &str,
    member: &T,
) -> Result<Command<impl Decoder<bool> + use<T>>> {
    let mut cmd = redis::cmd("SISMEMBER");
    cmd.arg(key);
    core.encode_arg(&mut cmd, member, None)
        .map_err(|e| e.at_key(key))?;
    Ok(Command::new(cmd, |reply| decode::flag(reply, "SISMEMBER")))
}

/// `SCARD`/`ZCARD`.
pub(crate) fn card(command: &'static str, key: &str) -> Result<Command<impl Decoder<u64> + use<>>> {
    let mut cmd = redis::cmd(command);
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        decode::count(reply, command)
    }))
}

session_methods! {
    /// Adds `members` to the set at `key` (`SADD`); returns how many were not there yet.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// session.sadd("tags", &["rust", "redis"])?;
    /// assert!(session.sismember("tags", "rust")?);
    /// assert_eq!(session.scard("tags")?, 2);
    /// # Ok(()) }
    /// ```
    fn sadd[T](key: &str, members: &[T]) -> u64 where [T: Serialize] async [T: Sync]
        = [pipe, idempotent] run |core| with_members(core, "SADD", key, members);

    /// Removes `members` from the set at `key` (`SREM`); returns how many were there.
    fn srem[T](key: &str, members: &[T]) -> u64 where [T: Serialize] async [T: Sync]
        = [pipe, idempotent] run |core| with_members(core, "SREM", key, members);

    /// Every member of the set at `key`, in no particular order (`SMEMBERS`).
    fn smembers[T](key: &str) -> Vec<T> where [T: DeserializeOwned] = [pipe, read] run |core| smembers::<T>(core, key);

    /// Whether `member` is in the set at `key` (`SISMEMBER`).
    fn sismember[T](key: &str, member: &T) -> bool where [T: Serialize + ?Sized] async [T: Sync]
        = [pipe, read] run |core| sismember(core, key, member);

    /// How many members the set at `key` has (`SCARD`; 0 if it does not exist).
    fn scard(key: &str) -> u64 = [pipe, read] run |_| card("SCARD", key);
}

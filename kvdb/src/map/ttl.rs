//! Per-field TTLs: native `HPEXPIRE`/`HPTTL`/`HPERSIST` on Redis 7.4 and later, and on older
//! servers a Lua fallback.
//!
//! The fallback keeps each field's deadline (server time, `TIME`, in milliseconds) in a sorted
//! set next to the hash, `<map>:_kvdb_ttl`. Every map operation is then sent in one pipeline
//! after a small script that deletes the fields whose deadline has passed (at most 1000 per
//! call), so an expired field is never read; writes that replace or delete a field forget its
//! deadline, as Redis does for native field TTLs. On a Cluster the two keys must share a slot:
//! give the map a hash tag (`{orders}` keeps its deadlines at `{orders}:_kvdb_ttl`).

use std::time::Duration;

use redis::Value;

use super::ops::{MapOp, field, field_code};
use crate::core::unexpected;
use crate::error::{Error, Result};
use crate::model::KeyPart;
use crate::model::ttl::ttl_arg;
use crate::retry::Safety;
use crate::transport::{Command, Decoder, Op, Request};

/// How a map keeps per-field TTLs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TtlMode {
    /// The server's own field expiry (`HPEXPIRE`; Redis 7.4 and later).
    Native,
    /// Deadlines in a companion sorted set, enforced by a Lua script before each operation.
    LuaFallback,
}

const NOW: &str = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) ";

/// Deletes the fields whose deadline has passed.
fn purge_script() -> String {
    format!(
        "{NOW}local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000) \
         if #dead > 0 then redis.call('HDEL', KEYS[1], unpack(dead)) \
         redis.call('ZREM', KEYS[2], unpack(dead)) end return #dead"
    )
}

/// Runs the purge script alone (before a conversation or a scan).
pub(crate) fn purge(map: &str, deadlines: &str) -> Command<impl Decoder<()>> {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(purge_script()).arg(2).arg(map).arg(deadlines);
    Command::new(cmd, |_| Ok(()))
}

/// `TtlMode` for a server's `INFO server` text: native from Redis 7.4.
pub(crate) fn mode_from_info(info: &str) -> TtlMode {
    let version = info
        .lines()
        .find_map(|l| l.strip_prefix("redis_version:"))
        .unwrap_or("0");
    let mut parts = version
        .trim()
        .split('.')
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) >= (7, 4) {
        TtlMode::Native
    } else {
        TtlMode::LuaFallback
    }
}

/// `INFO server`, read as the map's TTL mode.
pub(crate) fn detect() -> Command<impl Decoder<TtlMode>> {
    let mut cmd = redis::cmd("INFO");
    cmd.arg("server");
    Command::new(cmd, |reply| match reply {
        Value::BulkString(b) => Ok(mode_from_info(&String::from_utf8_lossy(&b))),
        Value::VerbatimString { text, .. } => Ok(mode_from_info(&text)),
        other => Err(unexpected("INFO", &other)),
    })
}

/// A map operation ready for the transport: the command alone, or (fallback) a pipeline of
/// the purge script, the command and its bookkeeping, answering the command's reply.
pub(crate) enum Prepared<F> {
    Direct(Command<F>),
    Purged(redis::Pipeline, Option<F>),
}

pub(crate) fn prepare<F>(op: MapOp<F>, mode: TtlMode, map: &str, deadlines: &str) -> Prepared<F> {
    match mode {
        // An empty call (HMGET of no fields) is answered without a round trip: no purge.
        TtlMode::Native => Prepared::Direct(op.main),
        TtlMode::LuaFallback if op.main.is_local() => Prepared::Direct(op.main),
        TtlMode::LuaFallback => {
            let (cmd, decode, _) = op.main.into_parts();
            let mut pipe = redis::pipe();
            pipe.cmd("EVAL")
                .arg(purge_script())
                .arg(2)
                .arg(map)
                .arg(deadlines);
            pipe.add_command(cmd);
            for extra in op.fallback_extra {
                pipe.add_command(extra).ignore();
            }
            Prepared::Purged(pipe, decode)
        }
    }
}

impl<F> Prepared<F> {
    /// The retry safety of the request, given the map method's: with the Lua fallback's purge
    /// (which only deletes fields whose deadline has passed, so twice is the same as once),
    /// a read becomes an idempotent write.
    pub(crate) fn safety_with(&self, declared: Safety) -> Safety {
        match self {
            Prepared::Direct(_) => declared,
            Prepared::Purged(..) => Safety::all([declared, Safety::Idempotent]),
        }
    }
}

impl<O, F: FnOnce(Value) -> Result<O>> Op for Prepared<F> {
    type Output = O;

    fn request(&self) -> Request<'_> {
        match self {
            Prepared::Direct(c) => c.request(),
            Prepared::Purged(p, _) => Request::Pipe(p),
        }
    }

    fn local_reply(&mut self) -> Option<Value> {
        match self {
            Prepared::Direct(c) => c.local_reply(),
            Prepared::Purged(..) => None,
        }
    }

    fn decode(&mut self, reply: Value) -> Result<O> {
        match self {
            Prepared::Direct(c) => c.decode(reply),
            Prepared::Purged(_, decode) => {
                let decode = decode
                    .take()
                    .ok_or_else(|| Error::Internal("decoded twice".into()))?;
                // [purge, command]: the ignored bookkeeping replies are not in the array.
                let mut items = match reply {
                    Value::Array(items) if items.len() >= 2 => items,
                    other => return Err(unexpected("pipeline", &other)),
                };
                items.remove(0).extract_error()?;
                decode(items.remove(0).extract_error()?)
            }
        }
    }
}

fn field_command(
    native: &'static str,
    script: String,
    map: &str,
    deadlines: &str,
    f: &str,
    ms: Option<u64>,
    mode: TtlMode,
) -> redis::Cmd {
    match mode {
        TtlMode::Native => {
            let mut c = redis::cmd(native);
            c.arg(map);
            if let Some(ms) = ms {
                c.arg(ms);
            }
            c.arg("FIELDS").arg(1).arg(f);
            c
        }
        TtlMode::LuaFallback => {
            let mut c = redis::cmd("EVAL");
            c.arg(script).arg(2).arg(map).arg(deadlines).arg(f);
            if let Some(ms) = ms {
                c.arg(ms);
            }
            c
        }
    }
}

/// Makes the field of `key` expire after `ttl`; whether the field exists.
pub(crate) fn expire<K: KeyPart + ?Sized>(
    map: &str,
    deadlines: &str,
    key: &K,
    ttl: Duration,
    mode: TtlMode,
) -> Result<MapOp<impl Decoder<bool> + use<K>>> {
    let script = format!(
        "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -2 end {NOW}\
         redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1]) return 1"
    );
    let f = field(key)?;
    let cmd = field_command(
        "HPEXPIRE",
        script,
        map,
        deadlines,
        &f,
        Some(ttl_arg("HPEXPIRE", &format!("{map} field {f}"), ttl)?.millis()),
        mode,
    );
    Ok(MapOp::new(Command::new(cmd, |reply| {
        field_code(reply, "HPEXPIRE").map(|c| c == 1 || c == 2)
    })))
}

/// The time the field of `key` has left: `None` when it has no TTL or does not exist.
pub(crate) fn ttl<K: KeyPart + ?Sized>(
    map: &str,
    deadlines: &str,
    key: &K,
    mode: TtlMode,
) -> Result<MapOp<impl Decoder<Option<Duration>> + use<K>>> {
    let script = format!(
        "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -2 end \
         local d = redis.call('ZSCORE', KEYS[2], ARGV[1]) if not d then return -1 end {NOW}\
         return math.max(0, math.floor(tonumber(d) - now))"
    );
    let f = field(key)?;
    let cmd = field_command("HPTTL", script, map, deadlines, &f, None, mode);
    Ok(MapOp::new(Command::new(cmd, |reply| {
        field_code(reply, "HPTTL").map(|ms| u64::try_from(ms).ok().map(Duration::from_millis))
    })))
}

/// Removes the TTL of the field of `key`; whether it had one.
pub(crate) fn persist<K: KeyPart + ?Sized>(
    map: &str,
    deadlines: &str,
    key: &K,
    mode: TtlMode,
) -> Result<MapOp<impl Decoder<bool> + use<K>>> {
    let script = "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then return -2 end \
         if redis.call('ZREM', KEYS[2], ARGV[1]) == 1 then return 1 end return -1"
        .to_owned();
    let f = field(key)?;
    let cmd = field_command("HPERSIST", script, map, deadlines, &f, None, mode);
    Ok(MapOp::new(Command::new(cmd, |reply| {
        field_code(reply, "HPERSIST").map(|c| c == 1)
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_from_redis_7_4() {
        let info = |v: &str| format!("# Server\r\nredis_version:{v}\r\nredis_mode:standalone\r\n");
        assert_eq!(mode_from_info(&info("7.0.15")), TtlMode::LuaFallback);
        assert_eq!(mode_from_info(&info("7.2.4")), TtlMode::LuaFallback);
        assert_eq!(mode_from_info(&info("7.4.0")), TtlMode::Native);
        assert_eq!(mode_from_info(&info("8.0.1")), TtlMode::Native);
        assert_eq!(mode_from_info("garbage"), TtlMode::LuaFallback);
    }
}

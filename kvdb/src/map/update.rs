//! `KvMap::update`: read a field, compute its new value, and write it only if the field still
//! holds what was read (compare-and-set in Lua, on the stored bytes); retried on conflict
//! after a short random pause, as `update_model` and transactions are.
//! A conversation, so the sync and async maps run the same steps.

use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ops::{at_field, field};
use super::ttl::TtlMode;
use crate::core::{Core, unexpected};
use crate::error::{Error, KeyContext, Result};
use crate::model::KeyPart;
use crate::ops::{MAX_ATTEMPTS, backoff};
use crate::transport::{Conversation, Step, finish_keyed};

/// Writes `ARGV[4]` (or deletes the field when `ARGV[3]` is `del`) if the field still holds
/// `ARGV[2]` (or is absent when `ARGV[1]` is `0`); forgets a fallback deadline (KEYS[2]).
const CAS: &str = "local cur = redis.call('HGET', KEYS[1], ARGV[5]) \
    if ARGV[1] == '1' then if cur ~= ARGV[2] then return 0 end elseif cur then return 0 end \
    if ARGV[3] == 'set' then redis.call('HSET', KEYS[1], ARGV[5], ARGV[4]) \
    else redis.call('HDEL', KEYS[1], ARGV[5]) end \
    if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[5]) end return 1";

pub(crate) struct Update<V, F> {
    core: Core,
    map: String,
    deadlines: Option<String>,
    field: String,
    f: F,
    /// The bytes read (`None`: absent), once read.
    read: Option<Option<Vec<u8>>>,
    new: Option<Option<V>>,
    attempts: u32,
}

pub(crate) fn update<K, V, F>(
    core: &Core,
    map: &str,
    deadlines: &str,
    mode: TtlMode,
    key: &K,
    f: F,
) -> Result<Update<V, F>>
where
    K: KeyPart + ?Sized,
    F: FnMut(Option<V>) -> Option<V>,
{
    Ok(Update {
        core: *core,
        map: map.to_owned(),
        deadlines: (mode == TtlMode::LuaFallback).then(|| deadlines.to_owned()),
        field: field(key)?,
        f,
        read: None,
        new: None,
        attempts: 0,
    })
}

impl<V, F> Update<V, F>
where
    V: Serialize + DeserializeOwned,
    F: FnMut(Option<V>) -> Option<V>,
{
    fn read(&mut self) -> Step<Option<V>> {
        self.read = None;
        let mut c = redis::cmd("HGET");
        c.arg(&self.map).arg(&self.field);
        Step::Send(c)
    }

    fn write(&mut self, current: Option<Vec<u8>>) -> Result<Step<Option<V>>> {
        let old: Option<V> = match &current {
            Some(bytes) => Some(
                self.core
                    .decode(bytes)
                    .map_err(|e| at_field(e, &self.map, &self.field))?,
            ),
            None => None,
        };
        let new = (self.f)(old);
        let mut c = redis::cmd("EVAL");
        c.arg(CAS);
        match &self.deadlines {
            Some(d) => c.arg(2).arg(&self.map).arg(d),
            None => c.arg(1).arg(&self.map),
        };
        c.arg(if current.is_some() { "1" } else { "0" })
            .arg(current.as_deref().unwrap_or_default());
        match &new {
            Some(v) => {
                c.arg("set");
                self.core
                    .encode_arg(&mut c, v, None)
                    .map_err(|e| at_field(e, &self.map, &self.field))?;
            }
            None => {
                c.arg("del").arg("");
            }
        }
        c.arg(&self.field);
        self.read = Some(current);
        self.new = Some(new);
        Ok(Step::Send(c))
    }
}

impl<V, F> Conversation for Update<V, F>
where
    V: Serialize + DeserializeOwned,
    F: FnMut(Option<V>) -> Option<V>,
{
    type Output = Option<V>;

    fn needs_dedicated_connection(&self) -> bool {
        false
    }

    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<Option<V>>> {
        let Some(reply) = reply else {
            return Ok(self.read());
        };
        let reply = finish_keyed(reply, || Some(self.map.clone()))?;
        if self.read.is_none() {
            return match reply {
                Value::Nil => self.write(None),
                Value::BulkString(b) => self.write(Some(b)),
                other => Err(unexpected("HGET", &other).at_key(&self.map)),
            };
        }
        match reply {
            Value::Int(1) => Ok(Step::Done(self.new.take().flatten())),
            // Lost the race: pause (growing, random: contending writers spread out instead
            // of colliding again at once), then read again (`step(None)` after the pause).
            Value::Int(0) if self.attempts + 1 < MAX_ATTEMPTS => {
                self.attempts += 1;
                self.read = None;
                Ok(Step::Sleep(backoff(self.attempts)))
            }
            Value::Int(0) => Err(Error::Conflict {
                key: KeyContext::of(format!("{} field {:?}", self.map, self.field)),
                attempts: MAX_ATTEMPTS,
            }),
            other => Err(unexpected("EVAL", &other).at_key(&self.map)),
        }
    }
}

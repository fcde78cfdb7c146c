//! The operations of a [`KvMap`](super::KvMap): each one command (or Lua script) and its reply
//! decoder, plus the commands that keep the fallback's deadline set in step. Pure: no I/O.
//!
//! Fields are the map's keys written as model key parts (escaped: `%`, `:`, `{`, `}`); values
//! are in the session's format. A field or value that does not decode is an error naming the
//! map and the field; nothing is ever deleted because of it.

use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::core::{Core, unexpected};
use crate::error::{Error, KeyContext, Result};
use crate::model::{KeyPart, KeySchema, Segment, unescape_part};
use crate::ops::decode;
use crate::transport::{Command, Decoder, PageOf, Pages};

/// The text of one field.
const FIELD: KeySchema = KeySchema::new(&[Segment::Part]);

/// The hash field of `key`.
pub(crate) fn field<K: KeyPart + ?Sized>(key: &K) -> Result<String> {
    FIELD.format(&[&key])
}

/// `map field "f"`: where a bad field or value was found.
pub(crate) fn at_field(e: Error, map: &str, field: &str) -> Error {
    e.at_key(&format!("{map} field {field:?}"))
}

/// Reads a field back as a `K`.
pub(crate) fn key_of<K: DeserializeOwned>(map: &str, field: &[u8]) -> Result<K> {
    let text = String::from_utf8_lossy(field);
    let bad = |source: crate::error::BoxError| Error::Decode {
        key: KeyContext::of(format!("{map} field {text:?}")),
        type_name: std::any::type_name::<K>(),
        codec: crate::Codec::Raw,
        source,
    };
    let raw = unescape_part(&text).ok_or_else(|| bad("not an escaped key part".into()))?;
    K::deserialize(crate::format::PlainDeserializer::new(raw.as_bytes()))
        .map_err(|e| bad(e.to_string().into()))
}

/// What a map operation is: the command, and (for the Lua fallback of field TTLs) the
/// commands that keep the deadline set in step with it.
pub(crate) struct MapOp<F> {
    pub(crate) main: Command<F>,
    /// Run after `main` in fallback mode (e.g. `ZREM` of a field that was overwritten).
    pub(crate) fallback_extra: Vec<redis::Cmd>,
}

impl<F> MapOp<F> {
    pub(crate) fn new(main: Command<F>) -> Self {
        MapOp {
            main,
            fallback_extra: Vec::new(),
        }
    }

    pub(crate) fn forget_deadlines(mut self, deadlines: &str, fields: &[String]) -> Self {
        if !fields.is_empty() {
            let mut c = redis::cmd("ZREM");
            c.arg(deadlines).arg(fields);
            self.fallback_extra.push(c);
        }
        self
    }
}

pub(crate) fn get<K: KeyPart + ?Sized, V: DeserializeOwned>(
    core: &Core,
    map: &str,
    key: &K,
) -> Result<MapOp<impl Decoder<Option<V>> + use<K, V>>> {
    let core = *core;
    let f = field(key)?;
    let mut cmd = redis::cmd("HGET");
    cmd.arg(map).arg(&f);
    let map = map.to_owned();
    Ok(MapOp::new(Command::new(cmd, move |reply| {
        core.decode_opt(reply, "HGET")
            .map_err(|e| at_field(e, &map, &f))
    })))
}

pub(crate) fn insert<K: KeyPart + ?Sized, V: Serialize + ?Sized>(
    core: &Core,
    map: &str,
    deadlines: &str,
    key: &K,
    value: &V,
) -> Result<MapOp<impl Decoder<bool> + use<K, V>>> {
    let f = field(key)?;
    let mut cmd = redis::cmd("HSET");
    cmd.arg(map).arg(&f);
    core.encode_arg(&mut cmd, value, None)
        .map_err(|e| at_field(e, map, &f))?;
    let main = Command::new(cmd, |reply| decode::count(reply, "HSET").map(|n| n > 0));
    Ok(MapOp::new(main).forget_deadlines(deadlines, &[f]))
}

pub(crate) fn insert_many<K: KeyPart, V: Serialize>(
    core: &Core,
    map: &str,
    deadlines: &str,
    entries: &[(K, V)],
) -> Result<MapOp<impl Decoder<u64> + use<K, V>>> {
    let mut cmd = redis::cmd("HSET");
    cmd.arg(map);
    let mut fields = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let f = field(k)?;
        cmd.arg(&f);
        core.encode_arg(&mut cmd, v, None)
            .map_err(|e| at_field(e, map, &f))?;
        fields.push(f);
    }
    // With no entries, `HSET map` is answered locally (`empty.rs`): no round trip.
    let main = Command::new(cmd, |reply| decode::count(reply, "HSET"));
    Ok(MapOp::new(main).forget_deadlines(deadlines, &fields))
}

pub(crate) fn get_many<K: KeyPart, V: DeserializeOwned>(
    core: &Core,
    map: &str,
    keys: &[K],
) -> Result<MapOp<impl Decoder<Vec<Option<V>>> + use<K, V>>> {
    let core = *core;
    let fields = keys.iter().map(field).collect::<Result<Vec<_>>>()?;
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(map).arg(&fields);
    let map = map.to_owned();
    // With no keys, `HMGET map` is answered locally (`empty.rs`): no round trip.
    Ok(MapOp::new(Command::new(cmd, move |reply| {
        decode::items(reply, "HMGET")?
            .into_iter()
            .zip(&fields)
            .map(|(v, f)| {
                core.decode_opt(v, "HMGET")
                    .map_err(|e| at_field(e, &map, f))
            })
            .collect()
    })))
}

pub(crate) fn remove<K: KeyPart + ?Sized>(
    map: &str,
    deadlines: &str,
    key: &K,
) -> Result<MapOp<impl Decoder<bool> + use<K>>> {
    let f = field(key)?;
    let mut cmd = redis::cmd("HDEL");
    cmd.arg(map).arg(&f);
    let main = Command::new(cmd, |reply| decode::count(reply, "HDEL").map(|n| n > 0));
    Ok(MapOp::new(main).forget_deadlines(deadlines, &[f]))
}

pub(crate) fn contains_key<K: KeyPart + ?Sized>(
    map: &str,
    key: &K,
) -> Result<MapOp<impl Decoder<bool> + use<K>>> {
    let mut cmd = redis::cmd("HEXISTS");
    cmd.arg(map).arg(field(key)?);
    Ok(MapOp::new(Command::new(cmd, |reply| {
        decode::flag(reply, "HEXISTS")
    })))
}

pub(crate) fn len(map: &str) -> Result<MapOp<impl Decoder<u64> + use<>>> {
    let mut cmd = redis::cmd("HLEN");
    cmd.arg(map);
    Ok(MapOp::new(Command::new(cmd, |reply| {
        decode::count(reply, "HLEN")
    })))
}

/// A hash with no fields does not exist in Redis.
pub(crate) fn is_empty(map: &str) -> Result<MapOp<impl Decoder<bool> + use<>>> {
    let mut cmd = redis::cmd("EXISTS");
    cmd.arg(map);
    Ok(MapOp::new(Command::new(cmd, |reply| {
        decode::flag(reply, "EXISTS").map(|exists| !exists)
    })))
}

pub(crate) fn clear(map: &str, deadlines: &str) -> Result<MapOp<impl Decoder<bool> + use<>>> {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(map);
    let mut op = MapOp::new(Command::new(cmd, |reply| {
        decode::count(reply, "DEL").map(|n| n > 0)
    }));
    let mut forget = redis::cmd("DEL");
    forget.arg(deadlines);
    op.fallback_extra.push(forget);
    Ok(op)
}

/// `HSCAN` pages of raw (field, value) pairs; decoding happens per item, so one bad field is
/// one `Err` in the sequence, not the end of it.
pub(crate) struct Scan {
    pub(crate) map: String,
}

type PageDecoder = Box<dyn FnOnce(Value) -> Result<PageOf<(Vec<u8>, Value)>> + Send>;

impl Pages for Scan {
    type Item = (Vec<u8>, Value);
    type Page = Command<PageDecoder>;

    fn page(&self, cursor: u64) -> Self::Page {
        let mut cmd = redis::cmd("HSCAN");
        cmd.arg(&self.map).arg(cursor).arg("COUNT").arg(200);
        Command::new(
            cmd,
            Box::new(|reply| {
                let (cursor, items) = decode::cursor_page(reply, "HSCAN")?;
                let pairs = decode::pairs(items, "HSCAN")?
                    .into_iter()
                    .map(|(f, v)| match f {
                        Value::BulkString(b) => Ok((b, v)),
                        Value::SimpleString(s) => Ok((s.into_bytes(), v)),
                        other => Err(unexpected("HSCAN", &other)),
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok((cursor, pairs.into_iter().map(Ok).collect()))
            }),
        )
    }
}

/// Decodes one scanned entry.
pub(crate) fn entry<K: DeserializeOwned, V: DeserializeOwned>(
    core: &Core,
    map: &str,
    (field, value): (Vec<u8>, Value),
) -> Result<(K, V)> {
    let key = key_of(map, &field)?;
    let value = core
        .decode_value(value, "HSCAN")
        .map_err(|e| at_field(e, map, &String::from_utf8_lossy(&field)))?;
    Ok((key, value))
}

/// Field TTL operations' reply: HPEXPIRE/HPTTL/HPERSIST answer an array of one integer per
/// field (the Lua fallback answers the same).
pub(crate) fn field_code(reply: Value, command: &'static str) -> Result<i64> {
    match reply {
        Value::Array(mut items) if items.len() == 1 => decode::int(items.remove(0), command),
        Value::Int(n) => Ok(n),
        other => Err(unexpected(command, &other)),
    }
}

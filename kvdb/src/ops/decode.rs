//! Decoding the shapes of replies shared by many commands: integers, flags, floats, names,
//! arrays of stored values, field/value pairs. RESP2 and RESP3 shapes are both accepted.

use redis::Value;
use serde::de::DeserializeOwned;

use crate::core::{Core, unexpected};
use crate::error::Result;

/// `OK`.
pub(crate) fn ok(reply: Value, command: &'static str) -> Result<()> {
    match reply {
        Value::Okay => Ok(()),
        Value::SimpleString(s) if s == "OK" => Ok(()),
        other => Err(unexpected(command, &other)),
    }
}

/// A signed integer.
pub(crate) fn int(reply: Value, command: &'static str) -> Result<i64> {
    match reply {
        Value::Int(n) => Ok(n),
        other => Err(unexpected(command, &other)),
    }
}

/// A count (a non-negative integer).
pub(crate) fn count(reply: Value, command: &'static str) -> Result<u64> {
    match reply {
        Value::Int(n) if n >= 0 => Ok(n as u64),
        other => Err(unexpected(command, &other)),
    }
}

/// A 0/1 integer (or a RESP3 boolean).
pub(crate) fn flag(reply: Value, command: &'static str) -> Result<bool> {
    match reply {
        Value::Int(n) => Ok(n != 0),
        Value::Boolean(b) => Ok(b),
        other => Err(unexpected(command, &other)),
    }
}

/// A float: a bulk string in RESP2, a double in RESP3.
pub(crate) fn float(reply: Value, command: &'static str) -> Result<f64> {
    let parsed = match &reply {
        Value::Double(d) => Some(*d),
        Value::Int(i) => Some(*i as f64),
        Value::BulkString(b) => std::str::from_utf8(b).ok().and_then(parse_float),
        Value::SimpleString(s) => parse_float(s),
        _ => None,
    };
    parsed.ok_or_else(|| unexpected(command, &reply))
}

/// A float or nil.
pub(crate) fn opt_float(reply: Value, command: &'static str) -> Result<Option<f64>> {
    match reply {
        Value::Nil => Ok(None),
        other => float(other, command).map(Some),
    }
}

fn parse_float(s: &str) -> Option<f64> {
    match s {
        "inf" | "+inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        s => s.parse().ok(),
    }
}

/// A name (key, field, channel, type): UTF-8 text.
pub(crate) fn string(reply: Value, command: &'static str) -> Result<String> {
    match reply {
        Value::BulkString(b) => String::from_utf8(b)
            .map_err(|e| unexpected(command, &Value::BulkString(e.into_bytes()))),
        Value::SimpleString(s) => Ok(s),
        Value::VerbatimString { text, .. } => Ok(text),
        Value::Okay => Ok("OK".into()),
        other => Err(unexpected(command, &other)),
    }
}

/// The elements of an array (or a RESP3 set).
pub(crate) fn items(reply: Value, command: &'static str) -> Result<Vec<Value>> {
    match reply {
        Value::Array(items) | Value::Set(items) => Ok(items),
        other => Err(unexpected(command, &other)),
    }
}

/// A `[cursor, items]` page of a `SCAN`-like command: the next cursor and the items.
pub(crate) fn cursor_page(reply: Value, command: &'static str) -> Result<(u64, Value)> {
    match <[Value; 2]>::try_from(items(reply, command)?) {
        Ok([cursor, items]) => {
            let next = string(cursor, command)?
                .parse()
                .map_err(|_| unexpected(command, &Value::Nil))?;
            Ok((next, items))
        }
        Err(parts) => Err(unexpected(command, &Value::Array(parts))),
    }
}

/// An array of names.
pub(crate) fn strings(reply: Value, command: &'static str) -> Result<Vec<String>> {
    items(reply, command)?
        .into_iter()
        .map(|v| string(v, command))
        .collect()
}

/// An array of stored values.
pub(crate) fn values<T: DeserializeOwned>(
    core: &Core,
    reply: Value,
    command: &'static str,
) -> Result<Vec<T>> {
    items(reply, command)?
        .into_iter()
        .map(|v| core.decode_value(v, command))
        .collect()
}

/// An array of stored values or nils.
pub(crate) fn opt_values<T: DeserializeOwned>(
    core: &Core,
    reply: Value,
    command: &'static str,
) -> Result<Vec<Option<T>>> {
    items(reply, command)?
        .into_iter()
        .map(|v| core.decode_opt(v, command))
        .collect()
}

/// Pairs: a RESP3 map, a flat array `[a1, b1, a2, b2, ...]` (RESP2), or an array of
/// two-element arrays (RESP3 `WITHSCORES`).
pub(crate) fn pairs(reply: Value, command: &'static str) -> Result<Vec<(Value, Value)>> {
    match reply {
        Value::Map(pairs) => Ok(pairs),
        Value::Array(items)
            if items
                .iter()
                .all(|i| matches!(i, Value::Array(p) if p.len() == 2)) =>
        {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                if let Value::Array(p) = item {
                    let mut p = p.into_iter();
                    if let (Some(a), Some(b)) = (p.next(), p.next()) {
                        out.push((a, b));
                    }
                }
            }
            Ok(out)
        }
        Value::Array(items) if items.len() % 2 == 0 => {
            let mut out = Vec::with_capacity(items.len() / 2);
            let mut it = items.into_iter();
            while let (Some(a), Some(b)) = (it.next(), it.next()) {
                out.push((a, b));
            }
            Ok(out)
        }
        other => Err(unexpected(command, &other)),
    }
}

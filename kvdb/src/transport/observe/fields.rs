//! What the spans and metrics say about a request, a reply or an error: pure functions.

use redis::Value;

use super::Request;

/// Whether keys (and error messages, which name keys) go on spans: at TRACE for the target
/// `kvdb::key`.
#[cfg(feature = "tracing")]
pub(super) fn key_enabled() -> bool {
    tracing::enabled!(target: "kvdb::key", tracing::Level::TRACE)
}

/// The error's variant name (`Redis`, `Decode`, ...): stable, and never carries a key or a
/// credential.
#[cfg(feature = "tracing")]
pub(super) fn error_type(e: &crate::Error) -> String {
    let debug = format!("{e:?}");
    debug
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(feature = "tracing")]
pub(super) fn record_request(span: &tracing::Span, request: &Request<'_>) {
    match request {
        Request::Cmd(cmd) => {
            if let Some(redis::Arg::Simple(name)) = cmd.args_iter().next() {
                // kvdb writes command names in capitals.
                span.record("db.operation.name", String::from_utf8_lossy(name).as_ref());
            }
            span.record("kvdb.keys", key_count(cmd));
            if key_enabled()
                && let Some(key) = request.key()
            {
                span.record("kvdb.key", key.as_str());
            }
        }
        Request::Pipe(pipe) => {
            let name = if pipe.is_transaction() {
                "MULTI"
            } else {
                "PIPELINE"
            };
            span.record("db.operation.name", name);
            span.record("db.operation.batch.size", pipe.len());
            span.record("kvdb.keys", pipe.cmd_iter().map(key_count).sum::<usize>());
        }
    }
}

/// How many keys a command names (the commands kvdb sends; others count their first
/// argument).
#[cfg(feature = "tracing")]
fn key_count(cmd: &redis::Cmd) -> usize {
    let mut args = cmd.args_iter();
    let name = match args.next() {
        Some(redis::Arg::Simple(n)) => n.to_ascii_uppercase(),
        _ => return 0,
    };
    let rest = args.count();
    match name.as_slice() {
        b"MGET" | b"DEL" | b"UNLINK" | b"EXISTS" | b"TOUCH" | b"WATCH" | b"SINTER" | b"SUNION"
        | b"SDIFF" => rest,
        b"MSET" | b"MSETNX" => rest / 2,
        b"EVAL" | b"EVALSHA" | b"EVAL_RO" | b"EVALSHA_RO" => match cmd.args_iter().nth(2) {
            Some(redis::Arg::Simple(n)) => std::str::from_utf8(n)
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            _ => 0,
        },
        b"PING" | b"INFO" | b"DBSIZE" | b"FLUSHDB" | b"FLUSHALL" | b"SCAN" | b"KEYS"
        | b"PUBLISH" | b"SCRIPT" | b"CLIENT" | b"MULTI" | b"EXEC" | b"UNWATCH" | b"CONFIG"
        | b"TIME" => 0,
        _ => usize::from(rest > 0),
    }
}

#[cfg(feature = "tracing")]
pub(super) fn record_reply(span: &tracing::Span, reply: &Value) {
    let bytes = reply_bytes(reply);
    if bytes == 0 {
        return;
    }
    span.record("kvdb.stored.bytes", bytes);
    let Some(first) = first_bulk(reply) else {
        return;
    };
    match crate::format::inspect(first) {
        Ok(crate::format::StoredKind::Kvdb(h)) => {
            span.record("kvdb.stored.format", "kvdb");
            span.record("kvdb.stored.codec", h.codec.name());
            span.record("kvdb.stored.compression", h.compression.name());
            if let Some(tag) = h.tag {
                span.record("kvdb.stored.tag", tag);
                span.record("kvdb.stored.version", h.version);
            }
        }
        Ok(crate::format::StoredKind::KvdbPy) => {
            span.record("kvdb.stored.format", "kvdb-py");
        }
        Ok(_) => {
            span.record("kvdb.stored.format", "plain");
        }
        Err(_) => {
            span.record("kvdb.stored.format", "corrupt");
        }
    }
}

/// The first stored value in a reply: the value of GET, the first found of MGET.
#[cfg(feature = "tracing")]
fn first_bulk(reply: &Value) -> Option<&[u8]> {
    match reply {
        Value::BulkString(b) => Some(b),
        Value::Array(items) => items.iter().find_map(|v| match v {
            Value::BulkString(b) => Some(&b[..]),
            _ => None,
        }),
        _ => None,
    }
}

/// The stored bytes in a reply: its bulk strings, one level of arrays deep (MGET, HGETALL,
/// a pipeline's replies).
#[cfg(any(feature = "tracing", feature = "metrics"))]
pub(super) fn reply_bytes(reply: &Value) -> u64 {
    fn bulk(v: &Value) -> u64 {
        match v {
            Value::BulkString(b) => b.len() as u64,
            _ => 0,
        }
    }
    match reply {
        Value::Array(items) | Value::Set(items) => items
            .iter()
            .map(|v| match v {
                Value::Array(inner) => inner.iter().map(bulk).sum(),
                other => bulk(other),
            })
            .sum(),
        Value::Map(pairs) => pairs.iter().map(|(k, v)| bulk(k) + bulk(v)).sum(),
        other => bulk(other),
    }
}

/// The bytes of a request's arguments.
#[cfg(feature = "metrics")]
pub(super) fn request_bytes(request: &Request<'_>) -> u64 {
    fn cmd_bytes(cmd: &redis::Cmd) -> u64 {
        cmd.args_iter()
            .map(|a| match a {
                redis::Arg::Simple(b) => b.len() as u64,
                _ => 0,
            })
            .sum()
    }
    match request {
        Request::Cmd(cmd) => cmd_bytes(cmd),
        Request::Pipe(pipe) => pipe.cmd_iter().map(cmd_bytes).sum(),
    }
}

#[cfg(all(test, feature = "tracing"))]
mod tests {
    use super::key_count;

    #[test]
    fn key_count_follows_the_command() {
        let cases: [(redis::Cmd, usize); 6] = [
            (redis::cmd("GET").arg("k").clone(), 1),
            (
                redis::cmd("SET").arg("k").arg("v").arg("EX").arg(5).clone(),
                1,
            ),
            (redis::cmd("MGET").arg("a").arg("b").arg("c").clone(), 3),
            (
                redis::cmd("MSET").arg("a").arg(1).arg("b").arg(2).clone(),
                2,
            ),
            (
                redis::cmd("EVALSHA")
                    .arg("abc")
                    .arg(2)
                    .arg("a")
                    .arg("b")
                    .arg("x")
                    .clone(),
                2,
            ),
            (redis::cmd("PING").clone(), 0),
        ];
        for (cmd, expected) in cases {
            let name = format!("{:?}", cmd.args_iter().next());
            assert_eq!(key_count(&cmd), expected, "{name}");
        }
    }
}

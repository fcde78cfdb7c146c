//! How a request runs on a Redis Cluster: as is (the `redis` crate routes it by its key), split
//! into single-slot commands sent as one batch, or refused because it is atomic over several
//! slots. Pure: shared by the sync and the async cluster transports, no I/O.
//!
//! | request | keys in one slot | keys in several slots |
//! |---|---|---|
//! | `MGET` | as is | one `GET` per key, replies in the caller's order (a key of another type reads as nil, as `MGET` does) |
//! | `MSET` | as is | one `SET` per pair (no longer atomic) |
//! | `DEL`, `EXISTS`, `UNLINK`, `TOUCH` | as is | one command per slot, counts added |
//! | a plain pipeline | each command as above, all in one batch (one pipeline per node) | |
//! | an atomic pipeline, a script, `RENAME`, `BLPOP`... | as is | [`Error::CrossSlot`] |
//! | `SCAN` | one primary at a time: the cursor carries the primary's index | |
//! | keyless (`PING`, `DBSIZE`, `FLUSHDB`, `KEYS`, `INFO`) | the `redis` crate sends them to every primary and merges the replies | |

use redis::{Cmd, RedisError, RedisResult, Value};

use crate::error::{Error, Result};
use crate::slot::key_slot;
use crate::transport::Request;

/// What to do with a request.
pub(crate) enum Prepared {
    /// Send it as is.
    Direct,
    /// Send the plan's commands as one batch and combine the replies.
    Split(Plan),
    /// `SCAN` on the primary at this index (of the sorted primaries), with the node's cursor.
    Scan { node: usize, cmd: Cmd },
    /// `INFO`: sent as is; the per-node replies are joined into one text.
    Info,
}

/// How the replies of a part's commands make its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Combine {
    /// One command, its reply.
    One,
    /// The replies in order (`MGET` as `GET`s).
    Array,
    /// `OK` if every command said `OK` (`MSET` as `SET`s).
    AllOk,
    /// The sum of the integer replies (`DEL` per slot).
    Sum,
}

/// Single-slot commands standing for a request, and how to put the replies back together.
pub(crate) struct Plan {
    pub(crate) cmds: Vec<Cmd>,
    /// Each part of the request (one per pipelined command) and its number of commands.
    parts: Vec<(Combine, usize)>,
    /// Whether the request was a pipeline (reply: an array of the parts' replies).
    pipeline: bool,
}

/// The bits that mark a `SCAN` cursor's primary: the top 16 bits (the node's own cursor
/// never reaches 2^48).
const NODE_SHIFT: u32 = 48;

fn args(cmd: &Cmd) -> Vec<&[u8]> {
    cmd.args_iter()
        .map(|a| match a {
            redis::Arg::Simple(b) => b,
            _ => &b"0"[..],
        })
        .collect()
}

fn name(args: &[&[u8]]) -> String {
    args.first()
        .map(|n| String::from_utf8_lossy(n).to_ascii_uppercase())
        .unwrap_or_default()
}

/// The keys of a command, by its name (the commands kvdb sends, and the common ones that the
/// escape hatch may send). Unknown commands are taken to have their key second, as most do.
fn keys<'a>(name: &str, args: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let from = |i: usize| args.get(i..).unwrap_or_default().to_vec();
    match name {
        "PING" | "INFO" | "DBSIZE" | "FLUSHDB" | "FLUSHALL" | "KEYS" | "SCAN" | "PUBLISH"
        | "SPUBLISH" | "MULTI" | "EXEC" | "DISCARD" | "UNWATCH" | "SCRIPT" | "FUNCTION"
        | "CLUSTER" | "CONFIG" | "CLIENT" | "WAIT" | "ECHO" | "TIME" | "ROLE" | "COMMAND"
        | "RANDOMKEY" | "LASTSAVE" | "MEMORY" | "SLOWLOG" | "LATENCY" | "ACL" | "HELLO"
        | "AUTH" | "SELECT" | "READONLY" | "READWRITE" => Vec::new(),
        "MGET" | "DEL" | "EXISTS" | "UNLINK" | "TOUCH" | "WATCH" | "SINTER" | "SUNION"
        | "SDIFF" | "PFCOUNT" => from(1),
        "MSET" | "MSETNX" => from(1).into_iter().step_by(2).collect(),
        "BLPOP" | "BRPOP" | "BZPOPMIN" | "BZPOPMAX" => {
            let a = from(1);
            a[..a.len().saturating_sub(1)].to_vec()
        }
        "RENAME" | "RENAMENX" | "SMOVE" | "LMOVE" | "RPOPLPUSH" | "COPY" | "BLMOVE" => {
            args.iter().skip(1).take(2).copied().collect()
        }
        "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "FCALL" | "FCALL_RO" => {
            let n = args
                .get(2)
                .and_then(|n| std::str::from_utf8(n).ok())
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            args.iter().skip(3).take(n).copied().collect()
        }
        _ => from(1).into_iter().take(1).collect(),
    }
}

/// Whether `keys` are all in one slot.
fn one_slot(keys: &[&[u8]]) -> bool {
    keys.windows(2).all(|w| key_slot(w[0]) == key_slot(w[1]))
}

fn cross_slot(operation: impl Into<String>, keys: &[&[u8]]) -> Error {
    Error::CrossSlot {
        operation: operation.into(),
        keys_and_slots: keys
            .iter()
            .map(|k| (String::from_utf8_lossy(k).into_owned(), key_slot(k)))
            .collect(),
    }
}

/// Decides how `request` runs on a cluster.
pub(crate) fn prepare(request: &Request<'_>) -> Result<Prepared> {
    match request {
        Request::Cmd(cmd) => prepare_cmd(cmd),
        Request::Pipe(pipe) if pipe.is_transaction() => {
            let all: Vec<Vec<u8>> = pipe
                .cmd_iter()
                .flat_map(|c| {
                    let a = args(c);
                    keys(&name(&a), &a)
                        .into_iter()
                        .map(<[u8]>::to_vec)
                        .collect::<Vec<_>>()
                })
                .collect();
            let all: Vec<&[u8]> = all.iter().map(Vec::as_slice).collect();
            if one_slot(&all) {
                Ok(Prepared::Direct)
            } else {
                Err(cross_slot("an atomic pipeline (MULTI/EXEC)", &all))
            }
        }
        Request::Pipe(pipe) => {
            let mut plan = Plan {
                cmds: Vec::new(),
                parts: Vec::new(),
                pipeline: true,
            };
            for cmd in pipe.cmd_iter() {
                plan.push(cmd)?;
            }
            Ok(Prepared::Split(plan))
        }
    }
}

fn prepare_cmd(cmd: &Cmd) -> Result<Prepared> {
    let a = args(cmd);
    let name = name(&a);
    match name.as_str() {
        "SCAN" => {
            let cursor = a
                .get(1)
                .and_then(|c| std::str::from_utf8(c).ok())
                .and_then(|c| c.parse::<u64>().ok())
                .unwrap_or(0);
            let node = usize::try_from(cursor >> NODE_SHIFT).unwrap_or(usize::MAX);
            let mut node_cmd = redis::cmd("SCAN");
            node_cmd.arg(cursor & ((1 << NODE_SHIFT) - 1));
            for arg in &a[2.min(a.len())..] {
                node_cmd.arg(*arg);
            }
            return Ok(Prepared::Scan {
                node,
                cmd: node_cmd,
            });
        }
        "INFO" => return Ok(Prepared::Info),
        _ => {}
    }
    let k = keys(&name, &a);
    if one_slot(&k) {
        return Ok(Prepared::Direct);
    }
    let mut plan = Plan {
        cmds: Vec::new(),
        parts: Vec::new(),
        pipeline: false,
    };
    plan.push(cmd)?;
    Ok(Prepared::Split(plan))
}

impl Plan {
    /// Adds the commands standing for `cmd`.
    fn push(&mut self, cmd: &Cmd) -> Result<()> {
        let a = args(cmd);
        let name = name(&a);
        let k = keys(&name, &a);
        if one_slot(&k) {
            self.cmds.push(cmd.clone());
            self.parts.push((Combine::One, 1));
            return Ok(());
        }
        let before = self.cmds.len();
        let combine = match name.as_str() {
            "MGET" => {
                for key in &a[1..] {
                    let mut get = redis::cmd("GET");
                    get.arg(*key);
                    self.cmds.push(get);
                }
                Combine::Array
            }
            "MSET" => {
                for pair in a[1..].chunks(2) {
                    let mut set = redis::cmd("SET");
                    set.arg(pair);
                    self.cmds.push(set);
                }
                Combine::AllOk
            }
            "DEL" | "EXISTS" | "UNLINK" | "TOUCH" => {
                let mut by_slot: Vec<(u16, Cmd)> = Vec::new();
                for key in &a[1..] {
                    let slot = key_slot(key);
                    match by_slot.iter_mut().find(|(s, _)| *s == slot) {
                        Some((_, c)) => {
                            c.arg(*key);
                        }
                        None => {
                            let mut c = redis::cmd(&name);
                            c.arg(*key);
                            by_slot.push((slot, c));
                        }
                    }
                }
                self.cmds.extend(by_slot.into_iter().map(|(_, c)| c));
                Combine::Sum
            }
            other => return Err(cross_slot(other, &k)),
        };
        self.parts.push((combine, self.cmds.len() - before));
        Ok(())
    }

    /// The request's reply, from the replies of [`cmds`](Self::cmds) in order. A connection
    /// error fails the whole request; a server error fails its part (for a pipeline, it takes
    /// the part's place in the array, as on a single server).
    pub(crate) fn combine(&self, replies: Vec<RedisResult<Value>>) -> RedisResult<Value> {
        if replies.len() != self.cmds.len() {
            return Err(RedisError::from((
                redis::ErrorKind::Client,
                "cluster batch: wrong number of replies",
            )));
        }
        // The async cluster connection hands back a command's server error as a value, the
        // sync one as an error: one form for both.
        let mut replies = replies.into_iter().map(|r| match r {
            Ok(Value::ServerError(e)) => Err(RedisError::from(e)),
            other => other,
        });
        let mut out = Vec::with_capacity(self.parts.len());
        for &(combine, n) in &self.parts {
            let part: Vec<RedisResult<Value>> = replies.by_ref().take(n).collect();
            out.push(combine_part(combine, part));
        }
        if !self.pipeline {
            return out.pop().unwrap_or(Ok(Value::Nil));
        }
        out.into_iter()
            .map(|r| r.or_else(as_error_value))
            .collect::<RedisResult<Vec<_>>>()
            .map(Value::Array)
    }
}

fn combine_part(combine: Combine, part: Vec<RedisResult<Value>>) -> RedisResult<Value> {
    let mut part = part.into_iter();
    match combine {
        Combine::One => part.next().unwrap_or(Ok(Value::Nil)),
        Combine::Array => part
            .map(|r| match r {
                Err(e) if e.code() == Some("WRONGTYPE") => Ok(Value::Nil),
                other => other,
            })
            .collect::<RedisResult<Vec<_>>>()
            .map(Value::Array),
        Combine::AllOk => part.try_fold(Value::Okay, |ok, r| r.map(|_| ok)),
        Combine::Sum => part.try_fold(Value::Int(0), |sum, r| match (sum, r?) {
            (Value::Int(a), Value::Int(b)) => Ok(Value::Int(a + b)),
            (_, other) => Err(RedisError::from((
                redis::ErrorKind::UnexpectedReturnType,
                "cluster batch: expected an integer",
                format!("{other:?}"),
            ))),
        }),
    }
}

/// A server error as the value a pipeline reply carries in its place; other errors (the
/// connection failed) stay errors.
fn as_error_value(e: RedisError) -> RedisResult<Value> {
    if e.code().is_none() {
        return Err(e);
    }
    match e.clone().into_server_errors() {
        Some(errs) if errs.len() == 1 => Ok(Value::ServerError(errs[0].1.clone())),
        _ => Err(e),
    }
}

/// Whether sending `cmd` twice has the effect and the reply of sending it once: reads, and
/// a `SET` without `NX`, `XX` or `GET`. Only such commands may be sent again after a batch
/// whose replies were lost.
pub(crate) fn repeatable(cmd: &Cmd) -> bool {
    let a = args(cmd);
    match name(&a).as_str() {
        "GET" | "MGET" | "EXISTS" | "TYPE" | "TTL" | "PTTL" | "STRLEN" | "HGET" | "HGETALL"
        | "HMGET" | "HKEYS" | "HVALS" | "HLEN" | "HEXISTS" | "LRANGE" | "LLEN" | "LINDEX"
        | "SMEMBERS" | "SISMEMBER" | "SCARD" | "ZRANGE" | "ZRANGEBYSCORE" | "ZSCORE" | "ZCARD"
        | "ZRANK" => true,
        "SET" => a.iter().skip(3).all(|o| {
            !matches!(
                String::from_utf8_lossy(o).to_ascii_uppercase().as_str(),
                "NX" | "XX" | "GET"
            )
        }),
        _ => false,
    }
}

/// The cursor for the caller, from the reply of `SCAN` on primary `node` of `nodes`.
pub(crate) fn scan_reply(node: usize, nodes: usize, reply: Value) -> RedisResult<Value> {
    let bad = |what: &str| {
        RedisError::from((
            redis::ErrorKind::UnexpectedReturnType,
            "cluster SCAN",
            what.to_owned(),
        ))
    };
    let Value::Array(mut parts) = reply else {
        return Err(bad("not an array"));
    };
    let (Some(items), Some(cursor)) = (parts.pop(), parts.pop()) else {
        return Err(bad("not [cursor, keys]"));
    };
    let cursor = match &cursor {
        Value::BulkString(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<u64>().ok()),
        Value::SimpleString(s) => s.parse().ok(),
        Value::Int(i) => u64::try_from(*i).ok(),
        _ => None,
    }
    .ok_or_else(|| bad("a cursor that is not a number"))?;
    if cursor >> NODE_SHIFT != 0 {
        return Err(bad("a node cursor too large to carry the node"));
    }
    let node = node as u64;
    let next = match cursor {
        0 if node + 1 < nodes as u64 => (node + 1) << NODE_SHIFT,
        0 => 0,
        c => (node << NODE_SHIFT) | c,
    };
    Ok(Value::Array(vec![
        Value::BulkString(next.to_string().into_bytes()),
        items,
    ]))
}

/// The primaries' addresses from a `CLUSTER SLOTS` reply, sorted, without duplicates.
pub(crate) fn primaries(reply: &Value) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    if let Value::Array(ranges) = reply {
        for range in ranges {
            let Value::Array(fields) = range else {
                continue;
            };
            let Some(Value::Array(primary)) = fields.get(2) else {
                continue;
            };
            let host = match primary.first() {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(Value::SimpleString(s)) => s.clone(),
                _ => continue,
            };
            let Some(Value::Int(port)) = primary.get(1) else {
                continue;
            };
            if let Ok(port) = u16::try_from(*port) {
                out.push((host, port));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// `INFO` on a cluster: the `redis` crate asks every primary and answers a map of node to
/// text; this joins them into one text, each node's part under a `# Node host:port` line.
pub(crate) fn info_reply(reply: Value) -> Value {
    match reply {
        Value::Map(nodes) => {
            let mut text = String::new();
            for (node, info) in nodes {
                let node = match node {
                    Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                    Value::SimpleString(s) => s,
                    other => format!("{other:?}"),
                };
                let info = match info {
                    Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
                    Value::VerbatimString { text, .. } => text,
                    Value::SimpleString(s) => s,
                    other => format!("{other:?}"),
                };
                text.push_str(&format!("# Node {node}\r\n{info}\r\n"));
            }
            Value::BulkString(text.into_bytes())
        }
        other => other,
    }
}

#[cfg(test)]
mod tests;

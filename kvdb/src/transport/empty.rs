//! Variadic commands given nothing to work on, answered without a round trip.
//!
//! `MGET`, `DEL`, `HSET key`, `SADD key`... with no keys, fields or members are syntax errors
//! in Redis, so kvdb answers them itself, with the reply Redis would give if it took an empty
//! list: `MGET` an empty array, `DEL`/`HDEL`/`SADD`/`SREM`/`ZADD`/`ZREM`/`HSET` zero, `MSET`
//! `OK`, `BLPOP` nil (nothing to pop). The operation's own decoder reads that reply, so an empty
//! call returns exactly what a non-empty one that matched nothing returns, on every transport
//! (sync, async, pipeline, cluster). The one exception is `LPUSH`/`RPUSH`, whose reply is the
//! list's length: pushing nothing becomes `LLEN key`, one round trip for an exact answer.

use redis::Value;

/// What an empty call of a variadic command becomes.
pub(crate) enum Empty {
    /// No round trip: this is the reply.
    Reply(Value),
    /// This command instead.
    Instead(redis::Cmd),
}

/// A variadic command: its name, how many arguments it has besides the variadic list (the
/// key, a timeout), and its answer to an empty list.
struct Variadic {
    name: &'static [u8],
    fixed: usize,
    empty: fn(&redis::Cmd) -> Empty,
}

fn zero(_: &redis::Cmd) -> Empty {
    Empty::Reply(Value::Int(0))
}

fn no_items(_: &redis::Cmd) -> Empty {
    Empty::Reply(Value::Array(Vec::new()))
}

fn length(cmd: &redis::Cmd) -> Empty {
    let mut llen = redis::cmd("LLEN");
    if let Some(redis::Arg::Simple(key)) = cmd.args_iter().nth(1) {
        llen.arg(key);
    }
    Empty::Instead(llen)
}

/// Every variadic command kvdb sends.
const VARIADIC: &[Variadic] = &[
    Variadic {
        name: b"MGET",
        fixed: 0,
        empty: no_items,
    },
    Variadic {
        name: b"MSET",
        fixed: 0,
        empty: |_| Empty::Reply(Value::Okay),
    },
    Variadic {
        name: b"DEL",
        fixed: 0,
        empty: zero,
    },
    Variadic {
        name: b"HSET",
        fixed: 1,
        empty: zero,
    },
    Variadic {
        name: b"HMGET",
        fixed: 1,
        empty: no_items,
    },
    Variadic {
        name: b"HDEL",
        fixed: 1,
        empty: zero,
    },
    Variadic {
        name: b"SADD",
        fixed: 1,
        empty: zero,
    },
    Variadic {
        name: b"SREM",
        fixed: 1,
        empty: zero,
    },
    Variadic {
        name: b"ZADD",
        fixed: 1,
        empty: zero,
    },
    Variadic {
        name: b"ZREM",
        fixed: 1,
        empty: zero,
    },
    Variadic {
        name: b"LPUSH",
        fixed: 1,
        empty: length,
    },
    Variadic {
        name: b"RPUSH",
        fixed: 1,
        empty: length,
    },
    Variadic {
        name: b"BLPOP",
        fixed: 1,
        empty: |_| Empty::Reply(Value::Nil),
    },
];

/// What `cmd` becomes if it is a variadic command with an empty list; `None` otherwise.
pub(crate) fn empty_call(cmd: &redis::Cmd) -> Option<Empty> {
    let mut args = cmd.args_iter();
    let Some(redis::Arg::Simple(name)) = args.next() else {
        return None;
    };
    let v = VARIADIC.iter().find(|v| v.name == name)?;
    (args.count() == v.fixed).then(|| (v.empty)(cmd))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty(cmd: &redis::Cmd) -> Option<Value> {
        match empty_call(cmd)? {
            Empty::Reply(v) => Some(v),
            Empty::Instead(c) => Some(Value::BulkString(c.get_packed_command())),
        }
    }

    #[test]
    fn only_empty_variadic_calls_are_answered_locally() {
        assert_eq!(empty(&redis::cmd("MGET")), Some(Value::Array(vec![])));
        assert_eq!(empty(redis::cmd("DEL").arg("a")), None);
        assert_eq!(empty(redis::cmd("HSET").arg("h")), Some(Value::Int(0)));
        assert_eq!(empty(redis::cmd("HSET").arg("h").arg("f").arg("v")), None);
        assert_eq!(empty(redis::cmd("BLPOP").arg(0.5)), Some(Value::Nil));
        assert_eq!(empty(redis::cmd("GET").arg("k")), None);
        assert_eq!(
            empty(redis::cmd("RPUSH").arg("q")),
            Some(Value::BulkString(
                redis::cmd("LLEN").arg("q").get_packed_command()
            ))
        );
    }
}

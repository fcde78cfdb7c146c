//! Lua scripts: `EVALSHA`, falling back to `EVAL` when the server does not have the script
//! cached (`NOSCRIPT`), with typed arguments and result.

use std::marker::PhantomData;

use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::reply_de::read_value;
use crate::core::Core;
use crate::error::{Error, KeyContext, Result};
use crate::retry::Safety;
use crate::transport::{Conversation, Step};

/// A Lua script, identified by its SHA-1 so that the server runs its cached copy.
///
/// ```no_run
/// # fn main() -> kvdb::Result<()> {
/// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc").serializer(kvdb::Serializer::Json))?;
/// use kvdb::Script;
/// // Stores ARGV[1] at KEYS[1] unless it exists; returns the value now there.
/// let get_or_set = Script::new(
///     "if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SET', KEYS[1], ARGV[1]) end
///      return redis.call('GET', KEYS[1])",
/// );
/// let tags = vec!["a", "b"];
/// let now: Vec<String> = session.eval_script(get_or_set.call().key("tags").arg(&tags))?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Script {
    code: String,
    hash: String,
    read_only: bool,
}

impl Script {
    /// A script from its Lua source.
    pub fn new(code: &str) -> Self {
        Script {
            code: code.to_owned(),
            hash: redis::Script::new(code).get_hash().to_owned(),
            read_only: false,
        }
    }

    /// Declares that the script only reads (it calls no command that writes). A call is then
    /// sent again after a lost connection, like any read, under the session's
    /// [`Retry`](crate::Retry) policy; a script that may write is never sent twice unless the
    /// policy says so. kvdb trusts the declaration (the script still runs with `EVALSHA`, so
    /// servers before Redis 7 run it too).
    ///
    /// ```
    /// use kvdb::Script;
    /// let sum = Script::new("return redis.call('GET', KEYS[1]) + redis.call('GET', KEYS[2])")
    ///     .read_only();
    /// assert!(sum.is_read_only());
    /// assert!(!Script::new("return redis.call('INCR', KEYS[1])").is_read_only());
    /// ```
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// Whether the script was declared [read-only](Self::read_only).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// The script's SHA-1, in hex, as `EVALSHA` and `SCRIPT EXISTS` know it.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The Lua source.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Starts a call: add keys and arguments, then pass it to
    /// [`eval_script`](crate::Session::eval_script).
    pub fn call(&self) -> ScriptCall<'_> {
        ScriptCall {
            script: self,
            keys: Vec::new(),
            args: Vec::new(),
        }
    }
}

type EncodeArg<'a> = Box<dyn Fn(&Core, &mut redis::Cmd) -> Result<()> + Send + Sync + 'a>;

/// A call of a [`Script`]: its `KEYS` and its `ARGV`, the latter encoded with the codec of
/// the session that runs it (so a script can store them as any kvdb value, and a scalar
/// argument reaches Lua as plain text).
#[must_use = "a script call does nothing until passed to eval_script"]
pub struct ScriptCall<'a> {
    script: &'a Script,
    keys: Vec<String>,
    args: Vec<EncodeArg<'a>>,
}

impl std::fmt::Debug for ScriptCall<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptCall")
            .field("hash", &self.script.hash)
            .field("keys", &self.keys)
            .field("args", &self.args.len())
            .finish()
    }
}

impl<'a> ScriptCall<'a> {
    /// Adds a key (`KEYS[n]`).
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.keys.push(key.into());
        self
    }

    /// Adds an argument (`ARGV[n]`), encoded with the session's codec when the call runs.
    pub fn arg<T: Serialize + ?Sized + Sync>(mut self, value: &'a T) -> Self {
        self.args
            .push(Box::new(move |core: &Core, cmd: &mut redis::Cmd| {
                core.encode_arg(cmd, value, None)
            }));
        self
    }
}

/// Runs a script: `EVALSHA`, then `EVAL` once if the server answers `NOSCRIPT`.
pub(crate) struct ScriptRun<T> {
    evalsha: Option<redis::Cmd>,
    eval: Option<redis::Cmd>,
    /// For a read-only script, both commands again: the call may be started over.
    again: Option<(redis::Cmd, redis::Cmd)>,
    key: Option<String>,
    limit: usize,
    _t: PhantomData<fn() -> T>,
}

pub(crate) fn run<T: DeserializeOwned>(core: &Core, call: ScriptCall<'_>) -> Result<ScriptRun<T>> {
    let key = call.keys.first().cloned();
    let context = |e: Error| match &key {
        Some(k) => e.at_key(k),
        None => e,
    };
    let mut args = redis::Cmd::new();
    for encode in &call.args {
        encode(core, &mut args).map_err(context)?;
    }
    let build = |name: &str, what: &str| {
        let mut cmd = redis::cmd(name);
        cmd.arg(what).arg(call.keys.len()).arg(&call.keys);
        for a in args.args_iter() {
            if let redis::Arg::Simple(bytes) = a {
                cmd.arg(bytes);
            }
        }
        cmd
    };
    let (evalsha, eval) = (
        build("EVALSHA", &call.script.hash),
        build("EVAL", &call.script.code),
    );
    Ok(ScriptRun {
        again: call
            .script
            .read_only
            .then(|| (evalsha.clone(), eval.clone())),
        evalsha: Some(evalsha),
        eval: Some(eval),
        key,
        limit: core.limits.max_decompressed_size,
        _t: PhantomData,
    })
}

impl<T: DeserializeOwned> Conversation for ScriptRun<T> {
    type Output = T;

    fn needs_dedicated_connection(&self) -> bool {
        false
    }

    fn restartable(&self) -> Option<Safety> {
        self.read_only()
    }

    fn rewind(&mut self) {
        self.start_over()
    }

    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<T>> {
        let reply = match reply {
            None => match self.evalsha.take() {
                Some(cmd) => return Ok(Step::Send(cmd)),
                None => return Err(Error::Internal("script restarted".into())),
            },
            Some(r) => r,
        };
        match reply.and_then(Value::extract_error) {
            Err(e) if e.code() == Some("NOSCRIPT") => match self.eval.take() {
                Some(cmd) => Ok(Step::Send(cmd)),
                None => Err(self.redis_error(e)),
            },
            Err(e) => Err(self.redis_error(e)),
            Ok(value) => {
                let out = read_value::<T>(&value, self.limit);
                match (out, &self.key) {
                    (Ok(v), _) => Ok(Step::Done(v)),
                    (Err(e), Some(k)) => Err(e.at_key(k)),
                    (Err(e), None) => Err(e),
                }
            }
        }
    }
}

impl<T> ScriptRun<T> {
    /// Whether the call may be started over: its script is read-only.
    fn read_only(&self) -> Option<Safety> {
        self.again.as_ref().map(|_| Safety::Read)
    }

    fn start_over(&mut self) {
        if let Some((evalsha, eval)) = &self.again {
            self.evalsha = Some(evalsha.clone());
            self.eval = Some(eval.clone());
        }
    }

    fn redis_error(&self, source: redis::RedisError) -> Error {
        Error::Redis {
            key: KeyContext::new(self.key.clone()),
            source,
        }
    }
}

session_methods! {
    /// Runs a [`Script`] call (`EVALSHA`, or `EVAL` if the server does not have the script
    /// cached yet) and reads its result as `T`.
    ///
    /// The result is decoded like stored values: a bulk string by its header (so a script
    /// may return what it read with `GET`), an integer as a number, nil as `None` (ask for
    /// an `Option`), a table as a sequence (a `Vec` or a tuple), `OK` as the text `"OK"`.
    /// Errors name the call's first key.
    ///
    /// A call of a script declared [read-only](Script::read_only) is sent again after a lost
    /// connection, like any read (under the session's [`Retry`](crate::Retry) policy); any
    /// other script is sent again only if no connection could be made.
    fn eval_script[T](call: ScriptCall<'_>) -> T where [T: DeserializeOwned]
        = [per_call] converse |core| run::<T>(core, call);
}

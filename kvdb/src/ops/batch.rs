//! Typed pipelines: many commands in one round trip, optionally atomic (MULTI/EXEC).
//!
//! Each command is queued by the same builder the session method uses (so a pipelined `get`
//! encodes and decodes exactly like [`Session::get`](crate::Session::get)); the pipeline keeps
//! its decoder and hands back a typed [`Handle`]. [`execute`](crate::Session::execute) sends
//! everything at once and decodes every reply; it fails if any command failed, unless the
//! pipeline [keeps errors](Pipeline::keep_errors), in which case [`PipelineResults::take`]
//! gives each command's own result.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{hashes, keys, lists, sets, strings, zsets};
use crate::core::{Core, unexpected};
use crate::error::{Error, KeyContext, Result};
use crate::retry::Safety;
use crate::transport::{Batch, Command, Decoder, Request};

/// A command's erased decoder: its reply (or server error) and whether errors are kept in,
/// a boxed `Result<T>` out (or, when errors are not kept, the command's error).
type Slot<'a> = Box<dyn FnOnce(Result<Value>, bool) -> Result<Box<dyn Any + Send>> + Send + 'a>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Commands to send in one round trip, from [`Session::pipeline`](crate::Session::pipeline).
///
/// Each method queues a command and returns a [`Handle`] to its typed result; nothing is
/// sent until [`Session::execute`](crate::Session::execute) (or its async twin). Values are
/// encoded when queued, with the session's codec; an encoding error is reported by
/// `execute`, before anything is sent.
///
/// By default the commands are pipelined (sent together, run one after the other, possibly
/// interleaved with other clients' commands); [`atomic`](Self::atomic) wraps them in
/// `MULTI`/`EXEC` so that they run as one, with no other command in between.
///
/// `execute` fails if any command failed (e.g. `INCR` on a hash), with that command's error
/// naming its key, whether or not its handle was kept; the other commands have run (Redis
/// does not roll back). [`keep_errors`](Self::keep_errors) asks for each command's own
/// result instead: `execute` then succeeds and each [`Handle`] holds its own `Result`.
///
/// ```no_run
/// # fn main() -> kvdb::Result<()> {
/// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc").serializer(kvdb::Serializer::Json))?;
/// let mut p = session.pipeline().atomic();
/// p.set("user:1", &vec!["ada", "lovelace"]);
/// let visits = p.incr_by("user:1:visits", 1);
/// let user = p.get::<Vec<String>>("user:1");
/// let mut results = session.execute(p)?;
/// assert_eq!(results.take(user)?, Some(vec!["ada".to_string(), "lovelace".to_string()]));
/// println!("visit #{}", results.take(visits)?);
/// # Ok(()) }
/// ```
#[must_use = "a pipeline does nothing until it is executed"]
pub struct Pipeline<'a> {
    core: Core,
    pipe: redis::Pipeline,
    slots: Vec<Slot<'a>>,
    error: Option<Error>,
    /// Replies of commands answered without a round trip, by slot (`None`: sent).
    local: Vec<Option<Value>>,
    keep_errors: bool,
    id: u64,
    /// Whether the whole pipeline may be sent twice.
    safety: Safety,
}

/// The typed result of one queued command: pass it to [`PipelineResults::take`].
#[must_use = "the command's result is only available through its handle; execute fails if \
              the command fails, so `let _ =` only gives up the value"]
pub struct Handle<T> {
    index: usize,
    id: u64,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("index", &self.index)
            .field("type", &std::any::type_name::<T>())
            .finish()
    }
}

/// The decoded replies of an executed [`Pipeline`], one per [`Handle`].
pub struct PipelineResults {
    results: Vec<Option<Box<dyn Any + Send>>>,
    id: u64,
}

impl std::fmt::Debug for PipelineResults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineResults")
            .field("len", &self.results.len())
            .finish_non_exhaustive()
    }
}

impl PipelineResults {
    /// The result of the command behind `handle`: its value, or its own error (e.g. a
    /// `WRONGTYPE` naming its key, or a value that does not decode).
    pub fn take<T: 'static>(&mut self, handle: Handle<T>) -> Result<T> {
        let foreign = || Error::Unsupported("this handle belongs to another pipeline".into());
        if handle.id != self.id {
            return Err(foreign());
        }
        let slot = self.results.get_mut(handle.index).and_then(Option::take);
        match slot.map(|b| b.downcast::<Result<T>>()) {
            Some(Ok(result)) => *result,
            _ => Err(foreign()),
        }
    }

    /// How many commands were executed.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether the pipeline was empty.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
}

impl<'a> Pipeline<'a> {
    pub(crate) fn new(core: Core) -> Self {
        let mut pipe = redis::pipe();
        // Each command's error stays in its own slot instead of failing the whole pipeline.
        pipe.ignore_errors();
        Pipeline {
            core,
            pipe,
            slots: Vec::new(),
            error: None,
            local: Vec::new(),
            keep_errors: false,
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            safety: Safety::Read,
        }
    }

    /// Runs the commands as one transaction (`MULTI`/`EXEC`): all of them, with no other
    /// client's command in between. (Redis does not roll back: a command that fails at run
    /// time, e.g. `WRONGTYPE`, fails alone.)
    pub fn atomic(mut self) -> Self {
        self.pipe.atomic();
        // A transaction is never sent twice unless the session's retry policy says so.
        self.safety = Safety::Once;
        self
    }

    /// Makes [`execute`](crate::Session::execute) succeed even when commands fail, each
    /// [`Handle`] then holding its command's own result (value or error). Without it,
    /// `execute` fails with the first failing command's error.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// session.hset("h", "f", "v")?;
    /// let mut p = session.pipeline().keep_errors();
    /// let bad = p.incr_by("h", 1); // WRONGTYPE: h is a hash
    /// let good = p.incr_by("n", 1);
    /// let mut results = session.execute(p)?;
    /// assert!(results.take(bad).is_err());
    /// assert!(results.take(good).is_ok());
    /// # Ok(()) }
    /// ```
    pub fn keep_errors(mut self) -> Self {
        self.keep_errors = true;
        self
    }

    /// How many commands are queued.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether no command is queued.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Queues an operation described by one of the session's builders; `safety` is what its
    /// `session_methods!` entry declares (the pipeline may be sent twice only if every
    /// command may).
    fn add<T, F>(&mut self, op: Result<Command<F>>, safety: Safety) -> Handle<T>
    where
        T: Send + 'static,
        F: Decoder<T> + 'a,
    {
        self.safety = Safety::all([self.safety, safety]);
        let index = self.slots.len();
        match op {
            Ok(op) => {
                let (cmd, decode, local) = op.into_parts();
                let key = Request::Cmd(&cmd).key();
                if local.is_none() {
                    self.pipe.add_command(cmd);
                }
                self.local.push(local);
                self.slots.push(Box::new(move |reply, keep_errors| {
                    let result: Result<T> = reply
                        .and_then(|v| match decode {
                            Some(d) => d(v),
                            None => Err(unexpected("pipeline", &Value::Nil)),
                        })
                        .map_err(|e| match &key {
                            Some(k) => e.at_key(k),
                            None => e,
                        });
                    match result {
                        Err(e) if !keep_errors => Err(e),
                        result => Ok(Box::new(result) as Box<dyn Any + Send>),
                    }
                }));
            }
            Err(e) => {
                self.error.get_or_insert(e);
                self.local.push(None);
                self.slots.push(Box::new(|_, _| Ok(Box::new(()))));
            }
        }
        Handle {
            index,
            id: self.id,
            _t: PhantomData,
        }
    }

    /// Queues [`get`](crate::Session::get).
    pub fn get<T: DeserializeOwned + Send + 'static>(&mut self, key: &str) -> Handle<Option<T>> {
        self.add(strings::get::<T>(&self.core, key), Safety::Read)
    }

    /// Queues [`set`](crate::Session::set).
    pub fn set<T: Serialize + ?Sized + 'a>(&mut self, key: &str, value: &T) -> Handle<()> {
        self.add(strings::set(&self.core, key, value), Safety::Idempotent)
    }

    /// Queues [`set_ex`](crate::Session::set_ex).
    pub fn set_ex<T: Serialize + ?Sized + 'a>(
        &mut self,
        key: &str,
        value: &T,
        ttl: Duration,
    ) -> Handle<bool> {
        let opts = strings::SetOptions::new().px(ttl);
        self.add(
            strings::set_with(&self.core, key, value, opts),
            Safety::Idempotent,
        )
    }

    /// Queues [`set_with`](crate::Session::set_with).
    pub fn set_with<T: Serialize + ?Sized + 'a>(
        &mut self,
        key: &str,
        value: &T,
        options: strings::SetOptions,
    ) -> Handle<bool> {
        self.add(
            strings::set_with(&self.core, key, value, options),
            options.safety(),
        )
    }

    /// Queues [`incr_by`](crate::Session::incr_by).
    pub fn incr_by(&mut self, key: &str, by: i64) -> Handle<i64> {
        self.add(strings::incr_by(key, by), Safety::Once)
    }

    /// Queues [`delete`](crate::Session::delete).
    pub fn delete(&mut self, keys: &[&str]) -> Handle<u64> {
        self.add(keys::delete(keys), Safety::Idempotent)
    }

    /// Queues [`exists`](crate::Session::exists).
    pub fn exists(&mut self, key: &str) -> Handle<bool> {
        self.add(keys::exists(key), Safety::Read)
    }

    /// Queues [`pexpire`](crate::Session::pexpire).
    pub fn pexpire(&mut self, key: &str, ttl: Duration) -> Handle<bool> {
        self.add(keys::expire(key, ttl, true), Safety::Idempotent)
    }

    /// Queues [`hset`](crate::Session::hset).
    pub fn hset<T: Serialize + ?Sized + 'a>(
        &mut self,
        key: &str,
        field: &str,
        value: &T,
    ) -> Handle<bool> {
        self.add(
            hashes::hset(&self.core, key, field, value),
            Safety::Idempotent,
        )
    }

    /// Queues [`hget`](crate::Session::hget).
    pub fn hget<T: DeserializeOwned + Send + 'static>(
        &mut self,
        key: &str,
        field: &str,
    ) -> Handle<Option<T>> {
        self.add(hashes::hget::<T>(&self.core, key, field), Safety::Read)
    }

    /// Queues [`hincr_by`](crate::Session::hincr_by).
    pub fn hincr_by(&mut self, key: &str, field: &str, by: i64) -> Handle<i64> {
        self.add(hashes::hincr_by(key, field, by), Safety::Once)
    }

    /// Queues [`rpush`](crate::Session::rpush).
    pub fn rpush<T: Serialize + 'a>(&mut self, key: &str, values: &[T]) -> Handle<u64> {
        self.add(lists::push(&self.core, "RPUSH", key, values), Safety::Once)
    }

    /// Queues [`lpush`](crate::Session::lpush).
    pub fn lpush<T: Serialize + 'a>(&mut self, key: &str, values: &[T]) -> Handle<u64> {
        self.add(lists::push(&self.core, "LPUSH", key, values), Safety::Once)
    }

    /// Queues [`lrange`](crate::Session::lrange).
    pub fn lrange<T: DeserializeOwned + Send + 'static>(
        &mut self,
        key: &str,
        start: i64,
        stop: i64,
    ) -> Handle<Vec<T>> {
        self.add(
            lists::lrange::<T>(&self.core, key, start, stop),
            Safety::Read,
        )
    }

    /// Queues [`sadd`](crate::Session::sadd).
    pub fn sadd<T: Serialize + 'a>(&mut self, key: &str, members: &[T]) -> Handle<u64> {
        self.add(
            sets::with_members(&self.core, "SADD", key, members),
            Safety::Idempotent,
        )
    }

    /// Queues [`smembers`](crate::Session::smembers).
    pub fn smembers<T: DeserializeOwned + Send + 'static>(&mut self, key: &str) -> Handle<Vec<T>> {
        self.add(sets::smembers::<T>(&self.core, key), Safety::Read)
    }

    /// Queues [`zadd_multiple`](crate::Session::zadd_multiple).
    pub fn zadd<T: Serialize + 'a>(&mut self, key: &str, items: &[(T, f64)]) -> Handle<u64> {
        self.add(zsets::zadd(&self.core, key, items), Safety::Idempotent)
    }

    /// Queues [`zrange`](crate::Session::zrange).
    pub fn zrange<T: DeserializeOwned + Send + 'static>(
        &mut self,
        key: &str,
        start: i64,
        stop: i64,
    ) -> Handle<Vec<T>> {
        self.add(
            zsets::zrange::<T>(&self.core, key, start, stop),
            Safety::Read,
        )
    }

    /// The transport operation: the pipeline and the decoding of its array of replies.
    pub(super) fn into_op(self) -> Result<Batch<impl Decoder<PipelineResults> + use<'a>>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (slots, id, mut pipe, safety) = (self.slots, self.id, self.pipe, self.safety);
        let (local, keep_errors) = (self.local, self.keep_errors);
        let sent = local.iter().filter(|l| l.is_none()).count();
        if sent == 0 {
            // The redis crate refuses an empty pipeline: send a PING, whose reply is dropped.
            pipe.cmd("PING");
        }
        Ok(Batch::new(pipe, move |reply| {
            let replies = match reply {
                Value::Array(_) if sent == 0 => Vec::new(),
                Value::Array(items) if items.len() == sent => items,
                other => return Err(unexpected("EXEC", &other)),
            };
            let mut replies = replies.into_iter();
            let results = slots
                .into_iter()
                .zip(local)
                .map(|(slot, local)| {
                    let reply = match local.or_else(|| replies.next()) {
                        Some(Value::ServerError(e)) => Err(Error::Redis {
                            key: KeyContext::default(),
                            source: e.into(),
                        }),
                        Some(other) => Ok(other),
                        None => Err(unexpected("EXEC", &Value::Nil)),
                    };
                    slot(reply, keep_errors).map(Some)
                })
                .collect::<Result<_>>()?;
            Ok(PipelineResults { results, id })
        })
        .with_safety(safety))
    }
}

session_methods! {
    /// A new, empty [`Pipeline`] using this session's codec; see there for an example.
    fn pipeline['a]() -> Pipeline<'a> = read local |core: &Core| Pipeline::new(*core);

    /// Sends every command of `pipeline` in one round trip (in one `MULTI`/`EXEC` if it is
    /// [`atomic`](Pipeline::atomic)) and decodes the replies; take each result with its
    /// [`Handle`]. Fails if a value could not be encoded (then nothing is sent), the
    /// connection failed, an atomic pipeline was refused (`EXECABORT`), or any command failed
    /// (its own error, naming its key; the others have run) unless the pipeline
    /// [keeps errors](Pipeline::keep_errors).
    fn execute['a](pipeline: Pipeline<'a>) -> PipelineResults = per_call run |_| pipeline.into_op();
}

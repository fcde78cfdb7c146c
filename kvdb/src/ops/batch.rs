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

use redis::Value;

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
/// Every single-command operation of [`Session`](crate::Session) is here with the same name,
/// arguments and result type (as a [`Handle`]), models included: both are generated from one
/// description. Commands kvdb does not wrap are queued with [`query`](Self::query). Each method queues a command and returns a [`Handle`] to its typed result; nothing is
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

    /// The results of no command.
    #[cfg(test)]
    pub(crate) fn empty() -> Self {
        PipelineResults {
            results: Vec::new(),
            id: 0,
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

    /// The codec the queued commands are encoded with.
    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    /// Queues an operation described by one of the session's builders (the methods are
    /// generated by `session_methods!` from the entries marked `pipe`); `safety` is what its
    /// entry declares, unless the command decides from its arguments (`per_call`). The
    /// pipeline may be sent twice only if every command may.
    pub(crate) fn add<T, F>(&mut self, op: Result<Command<F>>, safety: Safety) -> Handle<T>
    where
        T: Send + 'static,
        F: Decoder<T> + 'a,
    {
        let safety = match &op {
            Ok(op) => crate::transport::Op::safety(op).unwrap_or(safety),
            Err(_) => safety,
        };
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

    /// The transport operation: the pipeline and the decoding of its array of replies.
    pub(super) fn into_op(self) -> Result<Batch<impl Decoder<PipelineResults> + use<'a>>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (slots, mut pipe, safety) = (self.slots, self.pipe, self.safety);
        let replies = Replies {
            local: self.local,
            keep_errors: self.keep_errors,
            id: self.id,
        };
        if replies.sent() == 0 {
            // The redis crate refuses an empty pipeline: send a PING, whose reply is dropped.
            pipe.cmd("PING");
        }
        Ok(Batch::new(pipe, move |reply| {
            let reply = match reply {
                Value::Array(_) if replies.sent() == 0 => Value::Array(Vec::new()),
                other => other,
            };
            replies.decode(slots, reply)
        })
        .with_safety(safety))
    }

    /// A transaction's writes: `MULTI`, the queued commands, `EXEC`, whose output is `None`
    /// when `EXEC` was aborted because a watched key changed. Fails when a queued command
    /// failed.
    pub(crate) fn into_exec(
        mut self,
    ) -> Result<Exec<impl Decoder<Option<PipelineResults>> + use<'a>>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let replies = Replies {
            local: self.local,
            keep_errors: false,
            id: self.id,
        };
        if replies.sent() == 0 {
            // Nothing to send (no write queued, or only ones answered locally).
            return replies
                .decode(self.slots, Value::Array(Vec::new()))
                .map(Exec::Local);
        }
        self.pipe.atomic();
        let slots = self.slots;
        Ok(Exec::Send(Batch::new(
            self.pipe,
            move |reply| match reply {
                Value::Nil => Ok(None),
                other => replies.decode(slots, other).map(Some),
            },
        )))
    }
}

/// What a transaction's queue needs: an `EXEC` to send, or nothing to send.
pub(crate) enum Exec<F> {
    /// Every queued command was answered locally (or none was queued).
    Local(PipelineResults),
    /// `MULTI`/`EXEC` to send.
    Send(Batch<F>),
}

/// How the replies of an executed pipeline are handed to its commands' slots.
struct Replies {
    /// Replies of commands answered without a round trip, by slot (`None`: sent).
    local: Vec<Option<Value>>,
    keep_errors: bool,
    id: u64,
}

impl Replies {
    /// How many commands go to the server.
    fn sent(&self) -> usize {
        self.local.iter().filter(|l| l.is_none()).count()
    }

    /// Each command's reply (its local one, or the next of the array) decoded by its slot.
    fn decode(self, slots: Vec<Slot<'_>>, reply: Value) -> Result<PipelineResults> {
        let sent = self.sent();
        let replies = match reply {
            Value::Array(items) if items.len() == sent => items,
            other => return Err(unexpected("EXEC", &other)),
        };
        let mut replies = replies.into_iter();
        let keep_errors = self.keep_errors;
        let results = slots
            .into_iter()
            .zip(self.local)
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
        Ok(PipelineResults {
            results,
            id: self.id,
        })
    }
}

session_methods! {
    /// A new, empty [`Pipeline`] using this session's codec; see there for an example.
    fn pipeline['a]() -> Pipeline<'a> = [read] local |core: &Core| Pipeline::new(*core);

    /// Sends every command of `pipeline` in one round trip (in one `MULTI`/`EXEC` if it is
    /// [`atomic`](Pipeline::atomic)) and decodes the replies; take each result with its
    /// [`Handle`]. Fails if a value could not be encoded (then nothing is sent), the
    /// connection failed, an atomic pipeline was refused (`EXECABORT`), or any command failed
    /// (its own error, naming its key; the others have run) unless the pipeline
    /// [keeps errors](Pipeline::keep_errors).
    fn execute['a](pipeline: Pipeline<'a>) -> PipelineResults = [per_call] run |_| pipeline.into_op();
}

//! Typed pipelines: many commands in one round trip, optionally atomic (MULTI/EXEC).
//!
//! Each command is queued by the same builder the session method uses (so a pipelined `get`
//! encodes and decodes exactly like [`Session::get`](crate::Session::get)); the pipeline keeps
//! its decoder and hands back a typed [`Handle`]. [`execute`](crate::Session::execute) sends
//! everything at once and decodes every reply; [`PipelineResults::take`] gives each command's
//! own result, so one failing command does not hide the others'.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};

use redis::Value;

use crate::core::{Core, unexpected};
use crate::error::{Error, KeyContext, Result};
use crate::transport::{Batch, Command, Decoder, Request};

/// A command's decoded reply: its value (a boxed `T`), or its own error.
type Decoded = Result<Box<dyn Any + Send>>;

/// A command's erased decoder: its reply (or server error) in, its [`Decoded`] result out.
type Slot<'a> = Box<dyn FnOnce(Result<Value>) -> Decoded + Send + 'a>;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Commands to send in one round trip, from [`Session::pipeline`](crate::Session::pipeline).
///
/// Every single-command operation of [`Session`](crate::Session) is here with the same name,
/// arguments and result type (as a [`Handle`]): both are generated from one description.
/// Commands kvdb does not wrap are queued with [`query`](Self::query). Each method queues a command and returns a [`Handle`] to its typed result; nothing is
/// sent until [`Session::execute`](crate::Session::execute) (or its async twin). Values are
/// encoded when queued, with the session's codec; an encoding error is reported by
/// `execute`, before anything is sent.
///
/// By default the commands are pipelined (sent together, run one after the other, possibly
/// interleaved with other clients' commands); [`atomic`](Self::atomic) wraps them in
/// `MULTI`/`EXEC` so that they run as one, with no other command in between.
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
    id: u64,
}

/// The typed result of one queued command: pass it to [`PipelineResults::take`].
#[must_use = "a handle is the only way to get the command's result"]
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
    results: Vec<Option<Decoded>>,
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
        match self.results.get_mut(handle.index).and_then(Option::take) {
            Some(Ok(value)) => value.downcast::<T>().map(|v| *v).map_err(|_| foreign()),
            Some(Err(e)) => Err(e),
            None => Err(foreign()),
        }
    }

    /// The results of no command.
    pub(crate) fn empty() -> Self {
        PipelineResults {
            results: Vec::new(),
            id: 0,
        }
    }

    /// The first command's error, if any command failed (taken out of its slot).
    pub(crate) fn first_error(&mut self) -> Option<Error> {
        self.results
            .iter_mut()
            .find(|r| matches!(r, Some(Err(_))))
            .and_then(Option::take)
            .and_then(Result::err)
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
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// Runs the commands as one transaction (`MULTI`/`EXEC`): all of them, with no other
    /// client's command in between. (Redis does not roll back: a command that fails at run
    /// time, e.g. `WRONGTYPE`, fails alone.)
    pub fn atomic(mut self) -> Self {
        self.pipe.atomic();
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
    /// generated by `session_methods!` from the entries marked `pipe`).
    pub(crate) fn add<T, F>(&mut self, op: Result<Command<F>>) -> Handle<T>
    where
        T: Send + 'static,
        F: Decoder<T> + 'a,
    {
        let index = self.slots.len();
        match op {
            Ok(op) => {
                let (cmd, decode) = op.into_parts();
                let key = Request::Cmd(&cmd).key();
                self.pipe.add_command(cmd);
                self.slots.push(Box::new(move |reply| {
                    reply
                        .and_then(|v| match decode {
                            Some(d) => d(v),
                            None => Err(unexpected("pipeline", &Value::Nil)),
                        })
                        .map(|value: T| Box::new(value) as Box<dyn Any + Send>)
                        .map_err(|e| match &key {
                            Some(k) => e.at_key(k),
                            None => e,
                        })
                }));
            }
            Err(e) => {
                self.error.get_or_insert(e);
                self.slots.push(Box::new(|_| Ok(Box::new(()))));
            }
        }
        Handle {
            index,
            id: self.id,
            _t: PhantomData,
        }
    }

    /// The transport operation: the pipeline and the decoding of its array of replies.
    fn into_op(self) -> Result<Batch<impl Decoder<PipelineResults> + use<'a>>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let (slots, id, mut pipe) = (self.slots, self.id, self.pipe);
        if slots.is_empty() {
            // The redis crate refuses an empty pipeline: send a PING, whose reply is dropped.
            pipe.cmd("PING");
        }
        Ok(Batch::new(pipe, move |reply| {
            let reply = match reply {
                // The PING's reply.
                Value::Array(_) if slots.is_empty() => Value::Array(Vec::new()),
                other => other,
            };
            decode_all(slots, id, reply)
        }))
    }

    /// A transaction's `MULTI`/`EXEC` of the queued commands, whose output is `None` when
    /// `EXEC` was aborted because a watched key changed; `None` if nothing is queued.
    pub(crate) fn into_exec(
        mut self,
    ) -> Result<Option<Batch<impl Decoder<Option<PipelineResults>> + use<'a>>>> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.slots.is_empty() {
            return Ok(None);
        }
        self.pipe.atomic();
        let (slots, id, pipe) = (self.slots, self.id, self.pipe);
        Ok(Some(Batch::new(pipe, move |reply| match reply {
            Value::Nil => Ok(None),
            other => decode_all(slots, id, other).map(Some),
        })))
    }
}

/// Hands each command's reply (or server error) to its slot.
fn decode_all(slots: Vec<Slot<'_>>, id: u64, reply: Value) -> Result<PipelineResults> {
    let replies = match reply {
        Value::Array(items) if items.len() == slots.len() => items,
        other => return Err(unexpected("EXEC", &other)),
    };
    let results = slots
        .into_iter()
        .zip(replies)
        .map(|(slot, reply)| {
            let reply = match reply {
                Value::ServerError(e) => Err(Error::Redis {
                    key: KeyContext::default(),
                    source: e.into(),
                }),
                other => Ok(other),
            };
            Some(slot(reply))
        })
        .collect();
    Ok(PipelineResults { results, id })
}

session_methods! {
    /// A new, empty [`Pipeline`] using this session's codec; see there for an example.
    fn pipeline['a]() -> Pipeline<'a> = local |core: &Core| Pipeline::new(*core);

    /// Sends every command of `pipeline` in one round trip (in one `MULTI`/`EXEC` if it is
    /// [`atomic`](Pipeline::atomic)) and decodes the replies; take each result with its
    /// [`Handle`]. Fails as a whole only if a value could not be encoded, the connection
    /// failed, or an atomic pipeline was refused (`EXECABORT`).
    fn execute['a](pipeline: Pipeline<'a>) -> PipelineResults = run |_| pipeline.into_op();
}

//! One round trip: what goes on the wire ([`Request`]), how an operation decodes its reply
//! ([`Op`], with its simplest forms [`Command`] and [`Batch`]), the [`Blocking`] ops, and how a
//! reply becomes a result that names its key ([`complete`], [`finish`]).

use std::time::Duration;

use redis::Value;

use super::{Conversation, Step, decoded_twice, empty};
use crate::error::{Error, KeyContext, Result};
use crate::retry::Safety;

/// What goes on the wire for one round trip.
pub(crate) enum Request<'a> {
    /// One command.
    Cmd(&'a redis::Cmd),
    /// A pipeline (optionally MULTI/EXEC); its reply is an array of the replies.
    Pipe(&'a redis::Pipeline),
}

impl Request<'_> {
    /// The key argument (the command's second argument), for error messages.
    pub(crate) fn key(&self) -> Option<String> {
        match self {
            Request::Cmd(cmd) => match cmd.args_iter().nth(1) {
                Some(redis::Arg::Simple(b)) => Some(String::from_utf8_lossy(b).into_owned()),
                _ => None,
            },
            Request::Pipe(_) => None,
        }
    }
}

/// One round trip: a request and the decoding of its reply.
pub(crate) trait Op {
    /// What the operation returns.
    type Output;
    /// The request to send.
    fn request(&self) -> Request<'_>;
    /// Decodes the reply; server errors inside the reply are already turned into `Err`.
    /// Called once.
    fn decode(&mut self, reply: Value) -> Result<Self::Output>;
    /// Whether the request may be sent twice, when its builder decides it from the arguments
    /// (the `per_call` marker of a `session_methods!` entry); `None`: as the entry declares.
    fn safety(&self) -> Option<Safety> {
        None
    }
    /// Whether the operation only reads, so that a replica may serve it (see [`ReadOnly`]).
    fn read_only(&self) -> bool {
        false
    }
    /// The reply, when the operation is answered without a round trip (a variadic command
    /// given an empty list: see `empty.rs`). The transports check it before sending.
    fn local_reply(&mut self) -> Option<Value> {
        None
    }
}

/// Runs `op` without a round trip if it is answered locally.
pub(crate) fn run_locally<O: Op>(op: &mut O) -> Option<Result<O::Output>> {
    op.local_reply().map(|reply| op.decode(reply))
}

/// How an operation turns its reply into its output.
pub(crate) trait Decoder<O>: FnOnce(Value) -> Result<O> + Send {}

impl<O, F: FnOnce(Value) -> Result<O> + Send> Decoder<O> for F {}

/// The simplest [`Op`]: one command and a decoding function.
pub(crate) struct Command<F> {
    cmd: redis::Cmd,
    decode: Option<F>,
    safety: Option<Safety>,
    /// The reply, if the command is answered without a round trip.
    local: Option<Value>,
}

impl<F> Command<F> {
    /// `cmd` and its decoder. A variadic command with an empty list (`MGET` of no keys) is
    /// answered locally or replaced, in this one place, for every operation (`empty.rs`).
    pub(crate) fn new(cmd: redis::Cmd, decode: F) -> Self {
        let (cmd, local) = match empty::empty_call(&cmd) {
            None => (cmd, None),
            Some(empty::Empty::Reply(reply)) => (cmd, Some(reply)),
            Some(empty::Empty::Instead(other)) => (other, None),
        };
        Command {
            cmd,
            decode: Some(decode),
            safety: None,
            local,
        }
    }

    /// Says whether this particular command may be sent twice (for `per_call` entries).
    pub(crate) fn with_safety(mut self, safety: Safety) -> Self {
        self.safety = Some(safety);
        self
    }
}

impl<F> Command<F> {
    /// The command, its decoder, and its reply if it is answered without a round trip (then
    /// the command must not be sent), to be queued in a pipeline.
    pub(crate) fn into_parts(self) -> (redis::Cmd, Option<F>, Option<Value>) {
        (self.cmd, self.decode, self.local)
    }

    /// Whether the command is answered without a round trip (see `empty.rs`).
    pub(crate) fn is_local(&self) -> bool {
        self.local.is_some()
    }

    /// The same command with its output passed through `f`.
    pub(crate) fn map<O, P, G: FnOnce(O) -> P + Send>(
        self,
        f: G,
    ) -> Command<impl Decoder<P> + use<O, P, F, G>>
    where
        F: Decoder<O>,
    {
        let decode = self.decode;
        Command {
            cmd: self.cmd,
            decode: Some(move |reply| match decode {
                Some(d) => d(reply).map(f),
                None => Err(decoded_twice()),
            }),
            local: self.local,
            safety: self.safety,
        }
    }
}

impl<O, F: FnOnce(Value) -> Result<O>> Op for Command<F> {
    type Output = O;
    fn request(&self) -> Request<'_> {
        Request::Cmd(&self.cmd)
    }
    fn decode(&mut self, reply: Value) -> Result<O> {
        (self.decode.take().ok_or_else(decoded_twice)?)(reply)
    }
    fn safety(&self) -> Option<Safety> {
        self.safety
    }
    fn local_reply(&mut self) -> Option<Value> {
        self.local.take()
    }
}

/// A pipeline and a decoding function for the array of its replies.
pub(crate) struct Batch<F> {
    pipe: redis::Pipeline,
    decode: Option<F>,
    safety: Option<Safety>,
}

impl<F> Batch<F> {
    pub(crate) fn new(pipe: redis::Pipeline, decode: F) -> Self {
        Batch {
            pipe,
            decode: Some(decode),
            safety: None,
        }
    }

    /// Says whether this pipeline may be sent twice (the least safe of its commands).
    pub(crate) fn with_safety(mut self, safety: Safety) -> Self {
        self.safety = Some(safety);
        self
    }
}

impl<O, F: FnOnce(Value) -> Result<O>> Op for Batch<F> {
    type Output = O;
    fn request(&self) -> Request<'_> {
        Request::Pipe(&self.pipe)
    }
    fn decode(&mut self, reply: Value) -> Result<O> {
        (self.decode.take().ok_or_else(decoded_twice)?)(reply)
    }
    fn safety(&self) -> Option<Safety> {
        self.safety
    }
}

/// Finishes a round trip: the reply (or its server error) decoded by `op`, naming the key in
/// any error.
pub(crate) fn complete<O: Op>(reply: redis::RedisResult<Value>, mut op: O) -> Result<O::Output> {
    let reply = finish(reply, &op.request())?;
    op.decode(reply)
        .map_err(|e| with_key(e, op.request().key()))
}

/// Turns a server error carried inside a reply into `Err`, and a failed request's error into
/// a kvdb error that names the key.
///
/// For a command, an error anywhere in the reply fails it. For a pipeline, only an error of
/// the whole pipeline does: the errors of single commands stay in the array, for the
/// pipeline's decoder to hand to each command's result.
pub(crate) fn finish(reply: redis::RedisResult<Value>, request: &Request<'_>) -> Result<Value> {
    let reply = match request {
        Request::Cmd(_) => reply.and_then(Value::extract_error),
        Request::Pipe(_) => reply.and_then(|v| match v {
            Value::ServerError(e) => Err(e.into()),
            other => Ok(other),
        }),
    };
    reply.map_err(|source| Error::Redis {
        key: KeyContext::new(request.key()),
        source,
    })
}

/// [`finish`] for a conversation's reply: a server error anywhere in it fails it, naming
/// `key`.
pub(crate) fn finish_keyed(
    reply: redis::RedisResult<Value>,
    key: impl FnOnce() -> Option<String>,
) -> Result<Value> {
    reply
        .and_then(Value::extract_error)
        .map_err(|source| Error::Redis {
            key: KeyContext::new(key()),
            source,
        })
}

/// An [`Op`] whose command makes the server wait (BLPOP and the like), up to `wait`
/// (`None`: for ever). The transports run it on a connection whose response timeout allows
/// for the wait, so that it neither times out early nor holds up a shared connection.
pub(crate) struct Blocking<O> {
    pub(crate) op: O,
    pub(crate) wait: Option<Duration>,
}

impl<O> Blocking<O> {
    /// The response timeout to use for this op, given the connection's usual one.
    pub(crate) fn response_timeout(&self, usual: Option<Duration>) -> Option<Duration> {
        match (usual, self.wait) {
            (Some(usual), Some(wait)) => Some(usual.saturating_add(wait)),
            _ => None,
        }
    }
}

/// A single command is a one-step conversation (the pages of a key `SCAN` are).
impl<O, F: FnOnce(Value) -> Result<O>> Conversation for Command<F> {
    type Output = O;

    fn needs_dedicated_connection(&self) -> bool {
        false
    }

    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<O>> {
        match reply {
            // Answered without a round trip (see `empty.rs`).
            None if self.local.is_some() => {
                let local = self.local.take().unwrap_or(Value::Nil);
                let decode = self.decode.take().ok_or_else(decoded_twice)?;
                decode(local).map(Step::Done)
            }
            None => Ok(Step::Send(std::mem::replace(
                &mut self.cmd,
                redis::Cmd::new(),
            ))),
            Some(reply) => {
                let decode = self.decode.take().ok_or_else(decoded_twice)?;
                decode(finish_keyed(reply, || None)?).map(Step::Done)
            }
        }
    }
}

/// Attaches the request's key to an error from decoding.
pub(crate) fn with_key(e: Error, key: Option<String>) -> Error {
    match key {
        Some(k) => e.at_key(&k),
        None => e,
    }
}

//! The transports: the only code that talks to `redis`.
//!
//! An operation is described once, as an [`Op`] (one request and how to decode its reply) or a
//! [`Conversation`] (several requests on one connection, e.g. WATCH/MULTI/EXEC or EVALSHA with
//! an EVAL fallback). The sync transport ([`sync::SyncPool`]) and the async one
//! ([`aio::AsyncPool`], feature `async`) each run any of them; neither knows what the operation
//! means.

#[cfg(feature = "async")]
pub(crate) mod aio;
pub(crate) mod sync;

use std::time::Duration;

use redis::Value;

use crate::error::{Error, Result};

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
}

/// How an operation turns its reply into its output.
pub(crate) trait Decoder<O>: FnOnce(Value) -> Result<O> + Send {}

impl<O, F: FnOnce(Value) -> Result<O> + Send> Decoder<O> for F {}

/// The simplest [`Op`]: one command and a decoding function.
pub(crate) struct Command<F> {
    cmd: redis::Cmd,
    decode: Option<F>,
}

impl<F> Command<F> {
    pub(crate) fn new(cmd: redis::Cmd, decode: F) -> Self {
        Command {
            cmd,
            decode: Some(decode),
        }
    }
}

impl<F> Command<F> {
    /// The same command with its output passed through `f`.
    pub(crate) fn map<O, P, G: FnOnce(O) -> P + Send>(
        self,
        f: G,
    ) -> Command<impl Decoder<P> + use<O, P, F, G>>
    where
        F: Decoder<O>,
    {
        let decode = self.decode;
        Command::new(self.cmd, move |reply| match decode {
            Some(d) => d(reply).map(f),
            None => Err(decoded_twice()),
        })
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
}

fn decoded_twice() -> Error {
    Error::Unsupported("internal: an operation's reply was decoded twice".into())
}

/// A pipeline and a decoding function for the array of its replies.
pub(crate) struct Batch<F> {
    pipe: redis::Pipeline,
    decode: Option<F>,
}

impl<F> Batch<F> {
    pub(crate) fn new(pipe: redis::Pipeline, decode: F) -> Self {
        Batch {
            pipe,
            decode: Some(decode),
        }
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
}

/// What a [`Conversation`] wants next.
pub(crate) enum Step<O> {
    /// Send this command and come back with its reply.
    Send(redis::Cmd),
    /// Send this pipeline and come back with the array of replies.
    SendPipe(redis::Pipeline),
    /// Wait, then come back with no reply.
    Sleep(Duration),
    /// Finished.
    Done(O),
}

/// A multi-step operation run on one connection. The transport calls `step(None)` first,
/// then `step(Some(reply))` after each request, until `Done`. Server errors are handed to the
/// conversation (as `Err`) so it can react (e.g. NOSCRIPT); connection errors end it.
pub(crate) trait Conversation {
    /// What the conversation returns.
    type Output;
    /// Whether the conversation needs a connection of its own (WATCH state); otherwise it may
    /// share a multiplexed connection.
    fn needs_dedicated_connection(&self) -> bool;
    /// The next step.
    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<Self::Output>>;
}

/// Turns a server error carried inside a reply into `Err`, and a failed request's error into
/// a kvdb error that names the key.
pub(crate) fn finish(
    reply: redis::RedisResult<Value>,
    key: impl FnOnce() -> Option<String>,
) -> Result<Value> {
    reply
        .and_then(Value::extract_error)
        .map_err(|source| Error::Redis {
            key: crate::error::KeyContext(key()),
            source,
        })
}

/// Attaches the request's key to an error from decoding.
pub(crate) fn with_key(e: Error, key: Option<String>) -> Error {
    match key {
        Some(k) => e.at_key(&k),
        None => e,
    }
}

//! The transports: the only code that talks to `redis`.
//!
//! An operation is described once, as an [`Op`] (one request and how to decode its reply) or a
//! [`Conversation`] (several requests on one connection, e.g. WATCH/MULTI/EXEC or EVALSHA with
//! an EVAL fallback). The sync transport ([`sync::SyncPool`]) and the async one
//! ([`aio::AsyncPool`], feature `async`) each run any of them; neither knows what the operation
//! means.

#[cfg(feature = "async")]
pub(crate) mod aio;
#[cfg(feature = "async")]
mod aio_dedicated;
#[cfg(feature = "async")]
mod aio_shared;
#[cfg(feature = "async")]
mod aio_wire;
mod checkout;
#[cfg(feature = "cluster")]
pub(crate) mod cluster;
mod conn;
#[cfg_attr(not(any(feature = "cluster", feature = "sentinel")), allow(dead_code))]
pub(crate) mod connect;
mod conversation;
mod empty;
mod manager;
pub(crate) mod observe;
mod op;
pub(crate) mod pubsub;
#[cfg(feature = "sentinel")]
mod sentinel;
pub(crate) mod sync;
mod wire;

use crate::error::Error;

pub(crate) use conversation::{
    Conversation, Cursor, PageOf, Pages, ReadOnly, Step, map_conversation,
};
pub(crate) use op::{
    Batch, Blocking, Command, Decoder, Op, Request, complete, finish, finish_keyed, run_locally,
    with_key,
};

fn decoded_twice() -> Error {
    Error::Internal("an operation's reply was decoded twice".into())
}

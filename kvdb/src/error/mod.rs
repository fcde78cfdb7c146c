//! The one error type of kvdb.

use crate::format::{Codec, Compression};

mod classify;
mod message;

pub(crate) use classify::{is_auth, is_loading};
pub use message::KeyContext;
pub(crate) use message::TypeName;
use message::slots_list;

/// A boxed error from a serializer or another library, kept as [`std::error::Error::source`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result<T, kvdb::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in kvdb.
///
/// Every variant names what was wrong: the key, the codec, the expected and found type tag.
/// Errors that come from Redis or from a serializer keep the original error as
/// [`source()`](std::error::Error::source). No variant ever contains a password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A session option is invalid; raised by `get_session` before any connection is made.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name, e.g. `url` or `compression_level`.
        option: &'static str,
        /// What is wrong with it (credentials redacted).
        reason: String,
    },

    /// A time to live that Redis cannot take as given: zero or shorter than a millisecond
    /// (which would delete the key or be refused), or too long for Redis's clock. Raised
    /// before anything is sent; no key is touched.
    #[error("invalid TTL {ttl:?} for {operation}{key}: {reason}")]
    InvalidTtl {
        /// The operation, e.g. `expire` or `SET PX`.
        operation: &'static str,
        /// The key, if known.
        key: KeyContext,
        /// The TTL that was given (for an absolute expiry time, its distance from the epoch).
        ttl: std::time::Duration,
        /// What is wrong with it and what to do instead.
        reason: &'static str,
    },

    /// A session with this name exists with different settings.
    #[error("session {name:?} already exists with different settings: {differences}")]
    SessionConflict {
        /// The session name.
        name: String,
        /// The settings that differ, comma separated.
        differences: String,
    },

    /// Redis returned an error or the connection failed.
    #[error("redis error{key}: {source}")]
    Redis {
        /// The key of the failing command, if it had one.
        key: KeyContext,
        /// The error from the `redis` crate.
        #[source]
        source: redis::RedisError,
    },

    /// Every pooled connection of a sync session stayed busy for the whole pool timeout
    /// (`SessionOptions::pool_timeout`): callers hold connections longer than the pool can
    /// serve. Always [`is_timeout`](Error::is_timeout). A server that cannot be reached is
    /// [`Error::Connect`] instead, without waiting for the pool.
    #[error("could not get a connection to {server} from the pool: {reason}")]
    Pool {
        /// The server (credentials redacted).
        server: String,
        /// Why: how many connections, and how long the call waited.
        reason: String,
    },

    /// No connection could be made to the server: refused, unknown host, missing unix socket,
    /// connect timeout, TLS handshake failure, or a refusal that waiting will not fix (wrong
    /// credentials, see [`is_auth_error`](Error::is_auth_error); a user not allowed to select
    /// the database or name the connection). Raised by sync and async calls alike, within
    /// the connect timeout (after the retries the session's [`Retry`](crate::Retry) policy
    /// allows), never after the pool timeout; it names the server, never a key, since
    /// nothing was sent.
    #[error("cannot connect to {server}: {source}")]
    Connect {
        /// The server (credentials redacted).
        server: String,
        /// The error of the last attempt.
        #[source]
        source: redis::RedisError,
    },

    /// The value cannot be encoded by the serializer.
    #[error("cannot encode {}{key} with {codec}: {source}", TypeName(type_name))]
    Encode {
        /// The key being written, if known.
        key: KeyContext,
        /// The Rust type being encoded (its full path; messages show it as written, e.g.
        /// `Vec<String>`).
        type_name: &'static str,
        /// The codec that failed.
        codec: Codec,
        /// The serializer's error.
        #[source]
        source: BoxError,
    },

    /// A structured value (struct, enum, map, sequence) was written by a session with
    /// `Serializer::None`, which stores raw scalars only.
    #[error(
        "cannot store {}{key}: the session has no serializer (Serializer::None stores \
         only strings, numbers, booleans and bytes); set SessionOptions::serializer(Serializer::Json) \
         or another serializer",
        TypeName(type_name)
    )]
    SerializerRequired {
        /// The key being written, if known.
        key: KeyContext,
        /// The Rust type that needs a serializer.
        type_name: &'static str,
    },

    /// The stored bytes were decoded but do not form the requested type.
    #[error(
        "cannot decode {}{key} from {codec} data: {source}",
        TypeName(type_name)
    )]
    Decode {
        /// The key being read, if known.
        key: KeyContext,
        /// The Rust type requested (its full path; messages show it as written, e.g.
        /// `Option<String>`).
        type_name: &'static str,
        /// The codec of the stored value (`raw` for values that are not serialized).
        codec: Codec,
        /// The deserializer's error.
        #[source]
        source: BoxError,
    },

    /// The value starts with kvdb's magic but its header is malformed or cut short.
    #[error("corrupt kvdb value{key}: {reason}")]
    Corrupt {
        /// The key being read, if known.
        key: KeyContext,
        /// What is malformed.
        reason: String,
    },

    /// The value was written by a newer kvdb wire format than this build understands.
    #[error("unknown kvdb format version {version:?}{key}; this build reads version 1")]
    UnknownVersion {
        /// The key being read, if known.
        key: KeyContext,
        /// The version character found in the header.
        version: char,
    },

    /// The header names a codec this format version does not define.
    #[error("unknown codec {found:?} in the header{key}")]
    UnknownCodec {
        /// The key being read, if known.
        key: KeyContext,
        /// The codec character found.
        found: char,
    },

    /// The header names a compression this format version does not define.
    #[error("unknown compression {found:?} in the header{key}")]
    UnknownCompression {
        /// The key being read, if known.
        key: KeyContext,
        /// The compression character found.
        found: char,
    },

    /// The value needs a codec or compression whose cargo feature is not enabled in this build.
    #[error("the value{key} uses {what}, but kvdb was built without the `{feature}` feature")]
    NotCompiledIn {
        /// The key being read or written, if known.
        key: KeyContext,
        /// The codec or compression, e.g. `zstd compression`.
        what: String,
        /// The cargo feature that enables it.
        feature: &'static str,
    },

    /// The compressed payload is invalid.
    #[error("cannot decompress{key} with {compression}: {source}")]
    Decompress {
        /// The key being read, if known.
        key: KeyContext,
        /// The compression of the stored value.
        compression: Compression,
        /// The decompressor's error.
        #[source]
        source: std::io::Error,
    },

    /// The value would decompress to more than the configured limit (a decompression bomb or a
    /// value bigger than Redis itself allows).
    #[error(
        "value{key} decompresses ({compression}) to more than the limit of {limit} bytes; refused"
    )]
    DecompressedTooLarge {
        /// The key being read, if known.
        key: KeyContext,
        /// The compression of the stored value.
        compression: Compression,
        /// The limit in bytes.
        limit: usize,
    },

    /// The stored value carries another type tag than the model requested.
    #[error("type mismatch{key}: expected {expected:?}, found {found:?}")]
    TypeMismatch {
        /// The key being read.
        key: KeyContext,
        /// The tag of the requested model type.
        expected: String,
        /// The tag stored in the value (an untagged value is an [`Error::Untagged`]).
        found: String,
    },

    /// A model was requested, but the value was stored without a type tag (with `set`, by
    /// another client, or by kvdb-py without a model class).
    #[error(
        "cannot read {expected:?}{key} as a model: the value was stored {stored}, without a \
         type tag; read it with get::<T>() instead (or store it with set_model)"
    )]
    Untagged {
        /// The key being read.
        key: KeyContext,
        /// The tag (or Python class) of the requested model type.
        expected: String,
        /// How the value was stored, e.g. `with set (a json value)`.
        stored: String,
    },

    /// The stored value carries a type tag no registered model has.
    #[error("no registered model has the type tag {tag:?}{key}")]
    UnknownTag {
        /// The key being read.
        key: KeyContext,
        /// The tag found.
        tag: String,
    },

    /// The stored value has another schema version than the model and no migration covers it.
    #[error(
        "schema version mismatch{key} for {tag:?}: stored version {found}, this build reads \
         version {expected} and declares no migration from {found}"
    )]
    SchemaVersion {
        /// The key being read.
        key: KeyContext,
        /// The model's type tag.
        tag: String,
        /// The version this build of the model has.
        expected: u32,
        /// The version in the stored value.
        found: u32,
    },

    /// A declared migration (`#[kv(migrate_from(N, f))]`) failed to convert an older value.
    #[error("cannot migrate {tag:?}{key} from schema version {from} to {to}: {source}")]
    Migration {
        /// The key being read.
        key: KeyContext,
        /// The model's type tag.
        tag: String,
        /// The stored version.
        from: u32,
        /// The model's current version.
        to: u32,
        /// The migration function's error.
        #[source]
        source: BoxError,
    },

    /// An optimistic read-modify-write (`update_model`, `try_update_model`, a
    /// `transaction`) kept losing to concurrent writers.
    #[error("gave up{key} after {attempts} attempts: every write conflicted with another writer")]
    Conflict {
        /// The key being updated (a transaction's first watched key).
        key: KeyContext,
        /// How many times the update was tried.
        attempts: u32,
    },

    /// [`lock_timeout`](crate::Session::lock_timeout) waited as long as it was told and the
    /// lock was still held by someone else.
    #[error("lock {name:?} was still held by another holder after waiting {waited:?}")]
    LockTimeout {
        /// The lock's key.
        name: String,
        /// How long it waited.
        waited: std::time::Duration,
    },

    /// Two model types registered the same type tag (or Python class): reading a value by
    /// that tag is ambiguous. Other tags are not affected.
    #[error(
        "the type tag {tag:?} is registered by two types, {first} and {second}, so a value \
         with that tag cannot be read by tag; give one of them its own tag with \
         #[kv(tag = \"...\")] (the default tag is the type's name; for a Python class, \
         #[kv(python = \"...\")])"
    )]
    DuplicateTag {
        /// The tag.
        tag: String,
        /// One type.
        first: &'static str,
        /// The other type.
        second: &'static str,
    },

    /// A value is larger than the configured maximum and was not sent.
    #[error("value{key} is {size} bytes, larger than the maximum of {limit} bytes; not sent")]
    ValueTooLarge {
        /// The key being written.
        key: KeyContext,
        /// The encoded size.
        size: usize,
        /// The maximum.
        limit: usize,
    },

    /// Redis answered with a reply of a shape the operation did not expect.
    #[error("unexpected reply{key} to {command}: {reply}")]
    UnexpectedReply {
        /// The key of the command, if it had one.
        key: KeyContext,
        /// The command name.
        command: &'static str,
        /// A short description of the reply.
        reply: String,
    },

    /// An async method was called outside a tokio runtime.
    #[error("kvdb's async API must be called from within a tokio runtime")]
    NoRuntime,

    /// An atomic operation names keys in several Redis Cluster hash slots, which a cluster
    /// cannot run as one: a MULTI/EXEC pipeline, a Lua script, `RENAME`, `BLPOP` over several
    /// keys. Put the keys in one slot with a hash tag (`{user42}:cart`, or
    /// `#[kv(hash_tag = "{field}")]` on a model; see `docs/scaling.md`). Non-atomic
    /// multi-key operations (`mget`, `mset`, `get_models`, `set_models`, `delete`, plain
    /// pipelines) are split by slot instead and never fail this way.
    #[error(
        "{operation} is atomic, so a Redis Cluster needs all its keys in one hash slot, but they \
         are in several: {}; give the keys a common hash tag, e.g. {{user42}}:cart",
        slots_list(.keys_and_slots)
    )]
    CrossSlot {
        /// The operation, e.g. `atomic pipeline` or `EVALSHA`.
        operation: String,
        /// Each key and its hash slot ([`key_slot`](crate::key_slot)), in the operation's order.
        keys_and_slots: Vec<(String, u16)>,
    },

    /// A cache-aside call waited its [`CacheOptions::wait`](crate::cache::CacheOptions::wait)
    /// for another caller's computation of the same key, no value appeared, and the cache is
    /// set to fail then ([`WaitTimeout::Fail`](crate::cache::WaitTimeout::Fail)).
    #[error(
        "gave up waiting{key} after {waited:?} for another caller's computation; raise \
         CacheOptions::wait or set on_wait_timeout(WaitTimeout::Compute)"
    )]
    CacheWait {
        /// The cache key.
        key: KeyContext,
        /// How long the call waited.
        waited: std::time::Duration,
    },

    /// The operation is not possible in this configuration.
    #[error("unsupported operation: {0}")]
    Unsupported(String),

    /// kvdb broke one of its own invariants (a state machine asked for a step it cannot
    /// take): a bug in kvdb, never caused by the caller or the server. Please report it.
    #[error("internal error in kvdb (a bug, please report it): {0}")]
    Internal(String),
}

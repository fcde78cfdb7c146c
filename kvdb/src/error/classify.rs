//! What an [`Error`] is about: its key, and the questions callers ask of it (a connection
//! failure? a timeout? credentials refused?), the same for sync and async calls.

use super::{Error, KeyContext};

/// Matches the variants that carry a key: `$body` with the key bound to `$key`, else `$none`.
macro_rules! keyed {
    ($e:expr, $key:ident => $body:expr, $none:expr) => {
        match $e {
            Error::Redis { $key, .. }
            | Error::Encode { $key, .. }
            | Error::SerializerRequired { $key, .. }
            | Error::Decode { $key, .. }
            | Error::Corrupt { $key, .. }
            | Error::UnknownVersion { $key, .. }
            | Error::UnknownCodec { $key, .. }
            | Error::UnknownCompression { $key, .. }
            | Error::NotCompiledIn { $key, .. }
            | Error::Decompress { $key, .. }
            | Error::DecompressedTooLarge { $key, .. }
            | Error::TypeMismatch { $key, .. }
            | Error::Untagged { $key, .. }
            | Error::UnknownTag { $key, .. }
            | Error::SchemaVersion { $key, .. }
            | Error::Migration { $key, .. }
            | Error::Conflict { $key, .. }
            | Error::CacheWait { $key, .. }
            | Error::ValueTooLarge { $key, .. }
            | Error::UnexpectedReply { $key, .. }
            | Error::InvalidTtl { $key, .. } => $body,
            // Every variant is listed: a new one must say whether it has a key.
            Error::InvalidOption { .. }
            | Error::SessionConflict { .. }
            | Error::Pool { .. }
            | Error::Connect { .. }
            | Error::LockTimeout { .. }
            | Error::DuplicateTag { .. }
            | Error::NoRuntime
            | Error::CrossSlot { .. }
            | Error::Unsupported(_)
            | Error::Internal(_) => $none,
        }
    };
}

impl Error {
    /// The Redis key this error is about, if it names one.
    pub fn key(&self) -> Option<&str> {
        keyed!(self, key => key.key(), None)
    }

    /// Attaches the key to an error raised by pure codec code, which does not know it.
    pub(crate) fn at_key(mut self, k: &str) -> Self {
        keyed!(&mut self, key => {
            if key.0.is_none() {
                key.0 = Some(k.to_owned());
            }
        }, ());
        self
    }

    /// True when the error is a failure to reach or talk to the server (connection refused,
    /// reset, timed out, pool exhausted, connection refused by the server: [`Error::Connect`],
    /// or a server still loading its data after a restart: `LOADING`), as opposed to a bad
    /// value or a bad command. The same for sync and async calls.
    pub fn is_connection_error(&self) -> bool {
        match self {
            Error::Redis { source, .. } => {
                source.is_io_error()
                    || source.is_connection_dropped()
                    || source.is_connection_refusal()
                    || source.is_timeout()
                    || is_loading(source)
            }
            Error::Pool { .. } | Error::Connect { .. } => true,
            _ => false,
        }
    }

    /// True when the server refused the session's credentials (wrong username or password,
    /// or none given to a server that needs them). Neither the error's `Display` nor its
    /// `Debug` contains the password.
    pub fn is_auth_error(&self) -> bool {
        match self {
            Error::Redis { source, .. } | Error::Connect { source, .. } => is_auth(source),
            _ => false,
        }
    }

    /// True when the server's access control refused a command or a key to this user
    /// (`NOPERM`).
    pub fn is_permission_error(&self) -> bool {
        match self {
            Error::Redis { source, .. } | Error::Connect { source, .. } => {
                source.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoPerm)
            }
            _ => false,
        }
    }

    /// True when something did not happen in time: the server's reply (response timeout),
    /// a connection (connect timeout, [`Error::Connect`]), or a free pooled connection
    /// ([`Error::Pool`], always). The same for sync and async calls.
    pub fn is_timeout(&self) -> bool {
        match self {
            Error::Redis { source, .. } | Error::Connect { source, .. } => source.is_timeout(),
            Error::Pool { .. } | Error::LockTimeout { .. } => true,
            _ => false,
        }
    }
}

/// Whether the server refused a command because it is still loading its data (`LOADING`):
/// the command did not run.
pub(crate) fn is_loading(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading)
}

/// Whether a `redis` error is a refusal of credentials.
pub(crate) fn is_auth(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH"))
}

impl From<redis::RedisError> for Error {
    fn from(source: redis::RedisError) -> Self {
        Error::Redis {
            key: KeyContext::default(),
            source,
        }
    }
}

//! [`Session`], the sync API, and [`AsyncSession`], its async twin.
//!
//! Both have the same methods; each is declared once (in `ops/`) and generated for both.

use std::fmt;
use std::sync::Arc;

use crate::core::Core;
use crate::format::Encoder;
use crate::options::{Resolved, SessionOptions};
use crate::pool::Pool;
use crate::transport::observe::OpInfo;

struct Inner {
    /// Shared, so that metric labels name the session without copying it.
    name: Arc<str>,
    options: SessionOptions,
    resolved: Resolved,
    core: Core,
    pool: Arc<Pool>,
}

/// A named session: a connection pool plus this session's serializer and compression.
///
/// Cheap to clone (`Clone + Send + Sync`); every clone is the same session. Methods block the
/// calling thread and need no async runtime; [`aio`](Self::aio) gives the async twin with the
/// same method names.
///
/// **Inside async code, use [`aio`](Self::aio).** A blocking method called from an `async fn`
/// holds the runtime's worker thread for the whole round trip (and a lock or transaction
/// for longer), so other tasks on that thread stall; on a current-thread runtime everything
/// does. The async twin has the same methods:
///
/// ```no_run
/// # async fn handler(session: kvdb::Session) -> kvdb::Result<()> {
/// let aio = session.aio(); // cheap: the same session, async
/// let name: Option<String> = aio.get("user:1:name").await?;
/// # Ok(()) }
/// ```
///
/// (From async code that must call blocking code, use `tokio::task::spawn_blocking`.)
///
/// | kvdb-py | kvdb |
/// |---|---|
/// | `session[key]` | [`get`](Self::get) (`Ok(None)` for a missing key, never a `KeyError`) |
/// | `session[key] = value` | [`set`](Self::set) |
/// | `del session[key]` | [`remove`](Self::remove) |
/// | `key in session` | [`contains_key`](Self::contains_key) |
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

/// The async twin of a [`Session`]: the same methods, `async`, on the same pools.
///
/// Obtained with [`Session::aio`]. Needs a tokio runtime (feature `async`). Connections are
/// multiplexed: one connection per server and runtime carries every concurrent call.
#[cfg(feature = "async")]
#[derive(Clone)]
pub struct AsyncSession {
    inner: Arc<Inner>,
}

impl Session {
    pub(crate) fn new(options: SessionOptions, resolved: Resolved, pool: Arc<Pool>) -> Self {
        Session {
            inner: Arc::new(Inner {
                name: options.name.as_str().into(),
                core: Core {
                    encoder: resolved.encoder,
                    limits: resolved.limits,
                },
                options,
                resolved,
                pool,
            }),
        }
    }

    /// The async twin of this session, on the same pools.
    #[cfg(feature = "async")]
    pub fn aio(&self) -> AsyncSession {
        AsyncSession {
            inner: self.inner.clone(),
        }
    }

    pub(crate) fn resolved(&self) -> &Resolved {
        &self.inner.resolved
    }

    /// The pool, held by a subscription that reconnects through it.
    pub(crate) fn pool_handle(&self) -> Arc<Pool> {
        self.inner.pool.clone()
    }

    pub(crate) fn core(&self) -> &Core {
        &self.inner.core
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// What the transport is told about the method `name` (for spans and metrics).
    #[inline(always)]
    pub(crate) fn op_info(&self, name: &'static str) -> OpInfo<'_> {
        OpInfo::new(name, &self.inner.name)
    }
}

#[cfg(feature = "async")]
impl AsyncSession {
    /// The blocking twin of this session.
    pub fn blocking(&self) -> Session {
        Session {
            inner: self.inner.clone(),
        }
    }

    /// The pool, held by a subscription that reconnects through it.
    pub(crate) fn pool_handle(&self) -> Arc<Pool> {
        self.inner.pool.clone()
    }

    pub(crate) fn core(&self) -> &Core {
        &self.inner.core
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// What the transport is told about the method `name` (for spans and metrics).
    #[inline(always)]
    pub(crate) fn op_info(&self, name: &'static str) -> OpInfo<'_> {
        OpInfo::new(name, &self.inner.name)
    }
}

/// The accessors, the same on both twins.
macro_rules! accessors {
    ($($ty:ty),*) => {$(
        impl $ty {
            /// The session's name.
            pub fn name(&self) -> &str {
                &self.inner.name
            }

            /// The options the session was created with.
            pub fn options(&self) -> &SessionOptions {
                &self.inner.options
            }

            /// The server URL, with any password shown as `***`.
            pub fn url(&self) -> String {
                self.inner.resolved.conn.to_string()
            }

            /// How this session encodes values (serializer and compression).
            pub fn encoder(&self) -> &Encoder {
                &self.inner.core.encoder
            }

            /// Whether two sessions use the same connection pool (either twin of either).
            pub fn shares_pool_with(&self, other: &impl SessionHandle) -> bool {
                std::ptr::eq(sealed::Sealed::pool_id(self), sealed::Sealed::pool_id(other))
            }
        }

        impl sealed::Sealed for $ty {
            fn pool_id(&self) -> *const () {
                Arc::as_ptr(&self.inner.pool).cast()
            }
        }

        impl SessionHandle for $ty {}
    )*};
}

/// A [`Session`] or an [`AsyncSession`]: what [`Session::shares_pool_with`] compares.
/// Sealed: only the two session types implement it.
pub trait SessionHandle: sealed::Sealed {}

mod sealed {
    pub trait Sealed {
        /// Where the session's pool lives: equal for sessions sharing a pool.
        fn pool_id(&self) -> *const ();
    }
}

accessors!(Session);
#[cfg(feature = "async")]
accessors!(AsyncSession);

fn debug(inner: &Inner, kind: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    f.debug_struct(kind)
        .field("name", &inner.name)
        .field("url", &format_args!("{}", inner.resolved.conn))
        .field("serializer", &inner.core.encoder.serializer)
        .field("compression", &inner.core.encoder.compression.algorithm)
        .finish_non_exhaustive()
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug(&self.inner, "Session", f)
    }
}

#[cfg(feature = "async")]
impl fmt::Debug for AsyncSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug(&self.inner, "AsyncSession", f)
    }
}

//! Every session operation, declared once and generated for both [`Session`](crate::Session)
//! and [`AsyncSession`](crate::AsyncSession).
//!
//! An entry of [`session_methods!`] names the method, its arguments and return type, and a
//! closure that builds the operation from the session's [`Core`](crate::core::Core). The
//! macro emits the blocking method (run on the sync pool) and the async one (run on the
//! multiplexed connection); neither contains any logic of its own.

/// Declares session methods for both transports.
///
/// ```text
/// /// docs
/// fn name[generics](arg: Type, ...) -> Output where [bounds] = safety kind |core| build_op(core, ...);
/// fn name[generics](arg: Type, ...) -> SyncOutput | AsyncOutput where [bounds] = safety attach |core| ...;
/// ```
///
/// The safety says whether the request may be sent again after its connection failed with
/// no reply (see [`Retry`](crate::Retry) and `docs/reliability.md`):
///
/// | safety | meaning | resent by the default policy |
/// |---|---|---|
/// | `read` | changes nothing (also `local`, `pages` and `subscribe` entries) | yes |
/// | `idempotent` | twice leaves the same data as once (`SET`, `DEL`, `HSET`) | yes |
/// | `once` | twice may do it twice (`INCR`, `LPUSH`, lock acquisition) | no |
/// | `per_call` | the builder decides from the arguments (`Command::with_safety`), else `once` | as decided |
///
/// Multi-step operations (`converse`, `attach`) are only retried while no connection could be
/// made; a conversation that failed half-way is not started again.
///
/// The kind says how the transports run what the closure builds:
///
/// | kind | builds | sync method returns | async method returns |
/// |---|---|---|---|
/// | `run` | an [`Op`](crate::transport::Op) | `Result<Output>` | `async`, `Result<Output>` |
/// | `converse` | a [`Conversation`](crate::transport::Conversation) | `Result<Output>` | `async`, `Result<Output>` |
/// | `blocking` | a [`Blocking`](crate::transport::Blocking) op | `Result<Output>` | `async`, `Result<Output>` |
/// | `attach` | a conversation whose output is bound to the session ([`Attach`]) | `Result<SyncOutput>` | `async`, `Result<AsyncOutput>` |
/// | `pages` | a [`Pages`](crate::transport::Pages) | `Result<impl Iterator<Item = Result<Output>>>` | not `async`, `Result<impl Stream<Item = Result<Output>>>` |
/// | `subscribe` | a [`pubsub::Subscribe`] | `Result<Subscriber<Output>>` | `async`, `Result<Subscription<Output>>` |
/// | `local` | the output itself, without I/O | `Output` | not `async`, `Output` |
macro_rules! session_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident $([$($gen:tt)*])? ($($arg:ident : $ty:ty),* $(,)?) -> $out:ty $(| $aout:ty)?
            $(where [$($wc:tt)*])?
            = $safety:ident $kind:ident $op:expr;
    )*) => {
        /// Each method of this list and its retry safety marker, for the tests that check
        /// which commands the drivers resend.
        #[cfg(test)]
        pub(crate) const RETRY_SAFETY: &[(&str, &str)] = &[
            $((stringify!($name), stringify!($safety)),)*
        ];

        impl $crate::Session {
            $(
                session_methods!(@sync $kind $safety [$(#[$meta])*] $name [$($($gen)*)?]
                    [$($arg: $ty),*] [$out] [$($($wc)*)?] $op);
            )*
        }

        #[cfg(feature = "async")]
        impl $crate::AsyncSession {
            $(
                session_methods!(@async $kind $safety [$(#[$meta])*] $name [$($($gen)*)?]
                    [$($arg: $ty),*] [$out $(| $aout)?] [$($($wc)*)?] $op);
            )*
        }
    };

    // ---- sync ----
    (@sync local $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            ($op)(self.core())
        }
    };
    (@sync pages $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*)
            -> $crate::Result<impl Iterator<Item = $crate::Result<$out>> + '_>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            Ok(self.pool().sync.pages(op))
        }
    };
    (@sync subscribe $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*)
            -> $crate::Result<$crate::Subscriber<$out>>
        where $($wc)*
        {
            let op: $crate::ops::pubsub::Subscribe<$out> = ($op)(self.core())?;
            op.blocking(self.pool_handle())
        }
    };
    (@sync attach $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out> where $($wc)* {
            let op = ($op)(self.core())?;
            let out = self.pool().sync.converse(op, session_methods!(@safety $safety))?;
            Ok($crate::ops::Attach::attach(out, self))
        }
    };
    (@sync $kind:ident $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out> where $($wc)* {
            let op = ($op)(self.core())?;
            self.pool().sync.$kind(op, session_methods!(@safety $safety))
        }
    };

    // ---- async ----
    (@async local $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            ($op)(self.core())
        }
    };
    (@async pages $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*)
            -> $crate::Result<impl futures_core::Stream<Item = $crate::Result<$out>> + Send + '_>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            Ok(self.pool().aio.pages(op))
        }
    };
    (@async subscribe $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*)
            -> $crate::Result<$crate::Subscription<$out>>
        where $($wc)*
        {
            let op: $crate::ops::pubsub::Subscribe<$out> = ($op)(self.core())?;
            op.stream(self.pool_handle()).await
        }
    };
    (@async attach $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$sout:ty | $out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            let out = self.pool().aio.converse(op, session_methods!(@safety $safety)).await?;
            Ok($crate::ops::Attach::attach(out, self))
        }
    };
    (@async $kind:ident $safety:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            self.pool().aio.$kind(op, session_methods!(@safety $safety)).await
        }
    };

    // ---- retry safety markers ----
    (@safety read) => { $crate::retry::Safety::Read };
    (@safety idempotent) => { $crate::retry::Safety::Idempotent };
    (@safety once) => { $crate::retry::Safety::Once };
    (@safety per_call) => { $crate::retry::Safety::Once };
}

/// Binds the output of an operation to the session that ran it (e.g. a lock token becomes a
/// guard that can release the lock): the `attach` kind of [`session_methods!`].
pub(crate) trait Attach<S> {
    /// The bound value.
    type Output;
    /// Binds `self` to `session`.
    fn attach(self, session: &S) -> Self::Output;
}

impl<S, A: Attach<S>> Attach<S> for Option<A> {
    type Output = Option<A::Output>;
    fn attach(self, session: &S) -> Self::Output {
        self.map(|a| a.attach(session))
    }
}

pub(crate) mod batch;
pub(crate) mod decode;
pub(crate) mod hashes;
pub(crate) mod keys;
pub(crate) mod lists;
mod lock;
pub(crate) mod model;
mod model_conv;
pub(crate) mod pubsub;
mod raw;
mod reply_de;
mod script;
mod server;
pub(crate) mod sets;
pub(crate) mod strings;
mod subscriber;
pub(crate) mod zsets;

#[cfg(test)]
mod safety_tests;

pub use batch::{Handle, Pipeline, PipelineResults};
pub use keys::{KeyType, ScanOptions, Ttl};
#[cfg(feature = "async")]
pub use lock::AsyncLockGuard;
pub use lock::LockGuard;
pub use pubsub::{Event, Message};
pub use script::{Script, ScriptCall};
pub use strings::SetOptions;
pub use subscriber::Subscriber;
#[cfg(feature = "async")]
pub use subscriber::Subscription;

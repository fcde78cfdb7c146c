//! Every session operation, declared once and generated for every surface: [`Session`](crate::Session),
//! [`AsyncSession`](crate::AsyncSession), [`Pipeline`](crate::Pipeline) and the transactions
//! ([`Transaction`](crate::Transaction), [`AsyncTransaction`](crate::AsyncTransaction)).
//!
//! An entry of [`session_methods!`] names the method, its arguments and return type, and a
//! closure that builds the operation from the session's [`Core`](crate::core::Core). The
//! macro emits the blocking method (run on the sync pool), the async one (run on the
//! multiplexed connection) and, for entries marked `pipe`, the pipeline and transaction
//! methods; none contains any logic of its own.

/// Declares session methods for every surface.
///
/// ```text
/// /// docs
/// fn name[generics](arg: Type, ...) -> Output where [bounds] = [markers] kind |core| build_op(core, ...);
/// fn name[generics](arg: Type, ...) -> SyncOutput | AsyncOutput where [bounds] = attach |core| ...;
/// fn name[T](value: &T) -> Output where [T: Serialize] async [T: Sync] = [markers] kind |core| ...;
/// ```
///
/// Bounds in `async [..]` (after `where [..]`) are added to the async methods only
/// (`AsyncSession`, `AsyncTransaction`), whose futures hold the arguments across an `.await`
/// and must be `Send`: the blocking methods do not ask for them.
///
/// The kind says how the transports run what the closure builds:
///
/// | kind | builds | sync method returns | async method returns |
/// |---|---|---|---|
/// | `run` | an [`Op`](crate::transport::Op) | `Result<Output>` | `async`, `Result<Output>` |
/// | `converse` | a [`Conversation`](crate::transport::Conversation) | `Result<Output>` | `async`, `Result<Output>` |
/// | `fallible` | a conversation whose output is `Result<_, E>` with `E: From<Error>` | `Output` (that `Result`) | `async`, `Output` |
/// | `blocking` | a [`Blocking`](crate::transport::Blocking) op | `Result<Output>` | `async`, `Result<Output>` |
/// | `attach` | a conversation whose output is bound to the session ([`Attach`]) | `Result<SyncOutput>` | `async`, `Result<AsyncOutput>` |
/// | `pages` | a [`Pages`](crate::transport::Pages) | `Result<impl Iterator<Item = Result<Output>>>` | not `async`, `Result<impl Stream<Item = Result<Output>> + Unpin>` |
/// | `subscribe` | a [`pubsub::Subscribe`] | `Result<Subscriber<Output>>` | `async`, `Result<Subscription<Output>>` |
/// | `local` | the output itself, without I/O | `Output` | not `async`, `Output` |
///
/// The optional markers, in brackets before the kind, say which other surfaces get the
/// operation; an arm ignores the markers it does not know, so a new marker only needs the
/// arms that use it:
///
/// | marker | meaning | adds |
/// |---|---|---|
/// | `pipe` | the op is one [`Command`](crate::transport::Command) (kind `run`) | `Pipeline::name` returning `Handle<Output>`; in a transaction, a queued write |
/// | `read` | the operation only reads (changes nothing) | resent after a lost connection; on the session (kinds `run`, `converse`, `pages`), the op wrapped in [`ReadOnly`](crate::transport::ReadOnly): with [`read_from_replicas`](crate::SessionOptions::read_from_replicas) a sentinel session may send it to a replica, and its docs say so; with `pipe`, in a transaction, an immediate read (`Result<Output>`) instead of a queued write |
/// | `idempotent` | twice leaves the same data as once (`SET`, `DEL`, `HSET`) | resent after a lost connection |
/// | `once` | twice may do it twice (`INCR`, `LPUSH`, lock acquisition) | never resent unless the policy says so |
/// | `per_call` | the builder decides from the arguments (`Command::with_safety`), else `once` | as decided |
///
/// `read`, `idempotent`, `once` and `per_call` are the retry safety: whether the request may be
/// sent again after its connection failed with no reply (see [`Retry`](crate::Retry) and
/// `docs/reliability.md`). An entry without one is `once`, the safe default. A pipeline is as
/// safe as its least safe command (each generated `Pipeline` method records its entry's
/// safety); an atomic pipeline is never resent. Multi-step operations (`converse`,
/// `fallible`, `attach`) are only retried while no connection could be made: a conversation
/// that failed half-way is not started again. The pages of `pages` entries only read: each is
/// asked for again after a lost connection.
///
/// Without `read`, an operation always goes to the primary.
macro_rules! session_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident $([$($gen:tt)*])? ($($arg:ident : $ty:ty),* $(,)?) -> $out:ty $(| $aout:ty)?
            $(where [$($wc:tt)*] $(async [$($awc:tt)*])?)?
            = $([$($flag:ident),* $(,)?])? $kind:ident $op:expr;
    )*) => {
        /// Each method of this list and its retry safety marker, for the tests that check
        /// which commands the drivers resend.
        #[cfg(test)]
        pub(crate) const RETRY_SAFETY: &[(&str, &str)] = &[
            $((stringify!($name), session_methods!(@safety_name [$($($flag)*)?])),)*
        ];

        impl $crate::Session {
            $(
                session_methods!(@session sync (session_methods!(@safety [$($($flag)*)?])) [$($($flag)*)?] $kind [$(#[$meta])*]
                    $name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op);
            )*
        }

        #[cfg(feature = "async")]
        impl $crate::AsyncSession {
            $(
                session_methods!(@session async (session_methods!(@safety [$($($flag)*)?])) [$($($flag)*)?] $kind [$(#[$meta])*]
                    $name [$($($gen)*)?] [$($arg: $ty),*] [$out $(| $aout)?] [$($($wc)* $(, $($awc)*)?)?] $op);
            )*
        }

        impl<'a> $crate::Pipeline<'a> {
            $(
                session_methods!(@marked pipeline {no no} [$($($flag)*)?]
                    {(session_methods!(@safety [$($($flag)*)?])) $name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op});
            )*
        }

        impl<'a> $crate::Transaction<'a> {
            $(
                session_methods!(@marked tx_sync {no no} [$($($flag)*)?]
                    {(session_methods!(@safety [$($($flag)*)?])) $name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op});
            )*
        }

        #[cfg(feature = "async")]
        impl<'a> $crate::AsyncTransaction<'a> {
            $(
                session_methods!(@marked tx_async {no no} [$($($flag)*)?]
                    {(session_methods!(@safety [$($($flag)*)?])) $name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)* $(, $($awc)*)?)?] $op});
            )*
        }

        $(
            session_methods!(@marked list {no no} [$($($flag)*)?]
                {(session_methods!(@safety [$($($flag)*)?])) $name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op});
        )*
    };

    // ---- markers: `{pipe read}` flags collected, unknown markers skipped ----
    (@marked $surface:ident {$p:ident $r:ident} [pipe $($rest:ident)*] $entry:tt) => {
        session_methods!(@marked $surface {yes $r} [$($rest)*] $entry);
    };
    (@marked $surface:ident {$p:ident $r:ident} [read $($rest:ident)*] $entry:tt) => {
        session_methods!(@marked $surface {$p yes} [$($rest)*] $entry);
    };
    (@marked $surface:ident $flags:tt [$other:ident $($rest:ident)*] $entry:tt) => {
        session_methods!(@marked $surface $flags [$($rest)*] $entry);
    };
    (@marked pipeline {yes $r:ident} [] $entry:tt) => { session_methods!(@pipeline $entry); };
    (@marked tx_sync {yes yes} [] $entry:tt) => { session_methods!(@tx_read_sync $entry); };
    (@marked tx_sync {yes no} [] $entry:tt) => { session_methods!(@tx_write $entry); };
    (@marked tx_async {yes yes} [] $entry:tt) => { session_methods!(@tx_read_async $entry); };
    (@marked tx_async {yes no} [] $entry:tt) => { session_methods!(@tx_write $entry); };
    (@marked list {yes $r:ident} [] {$safety:tt $name:ident $($entry:tt)*}) => {
        #[cfg(feature = "testing")]
        inventory::submit! {
            $crate::testing::PipelinedOp { name: stringify!($name), read: session_methods!(@yes $r) }
        }
    };
    (@marked $surface:ident $flags:tt [] $entry:tt) => {};
    (@yes yes) => { true };
    (@yes no) => { false };

    // ---- retry safety: the first safety marker, else `once` ----
    (@safety [read $($rest:ident)*]) => { $crate::retry::Safety::Read };
    (@safety [idempotent $($rest:ident)*]) => { $crate::retry::Safety::Idempotent };
    (@safety [once $($rest:ident)*]) => { $crate::retry::Safety::Once };
    // The builder decides (`Command::with_safety`); this is its fallback.
    (@safety [per_call $($rest:ident)*]) => { $crate::retry::Safety::Once };
    (@safety [$other:ident $($rest:ident)*]) => { session_methods!(@safety [$($rest)*]) };
    (@safety []) => { $crate::retry::Safety::Once };
    (@safety_name [read $($rest:ident)*]) => { "read" };
    (@safety_name [idempotent $($rest:ident)*]) => { "idempotent" };
    (@safety_name [once $($rest:ident)*]) => { "once" };
    (@safety_name [per_call $($rest:ident)*]) => { "per_call" };
    (@safety_name [$other:ident $($rest:ident)*]) => { session_methods!(@safety_name [$($rest)*]) };
    (@safety_name []) => { "once" };

    // ---- pipeline and transactions ----
    (@pipeline {$safety:tt $name:ident [$($g:ident),*] [$($arg:ident: $ty:ty),*] [$out:ty] [$($wc:tt)*] $op:expr}) => {
        #[doc = concat!("Queues [`", stringify!($name), "`](crate::Session::", stringify!($name),
            "); its result is taken from the executed pipeline with the returned handle.")]
        pub fn $name<$($g),*>(&mut self, $($arg: $ty),*) -> $crate::Handle<$out>
        where $out: Send + 'static, $($g: 'a,)* $($wc)*
        {
            let core = *self.core();
            self.add(($op)(&core), $safety)
        }
    };
    (@tx_write {$safety:tt $name:ident [$($g:ident),*] [$($arg:ident: $ty:ty),*] [$out:ty] [$($wc:tt)*] $op:expr}) => {
        #[doc = concat!("Queues [`", stringify!($name), "`](crate::Session::", stringify!($name),
            "), to run in the transaction's `MULTI`/`EXEC` if the watched keys are unchanged.")]
        pub fn $name<$($g),*>(&mut self, $($arg: $ty),*) -> &mut Self
        where $out: Send + 'static, $($g: 'a,)* $($wc)*
        {
            let core = *self.queue.core();
            let _ = self.queue.add(($op)(&core), $safety);
            self
        }
    };
    (@tx_read_sync {$safety:tt $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*] [$out:ty] [$($wc:tt)*] $op:expr}) => {
        #[doc = concat!("[`", stringify!($name), "`](crate::Session::", stringify!($name),
            "), read now on the transaction's connection (after `WATCH`).")]
        pub fn $name<$($gen)*>(&mut self, $($arg: $ty),*) -> $crate::Result<$out> where $($wc)* {
            let op = ($op)(self.queue.core())?;
            self.read(op)
        }
    };
    (@tx_read_async {$safety:tt $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*] [$out:ty] [$($wc:tt)*] $op:expr}) => {
        #[doc = concat!("[`", stringify!($name), "`](crate::AsyncSession::", stringify!($name),
            "), read now on the transaction's connection (after `WATCH`).")]
        pub async fn $name<$($gen)*>(&mut self, $($arg: $ty),*) -> $crate::Result<$out>
        where $($wc)*
        {
            let op = ($op)(self.queue.core())?;
            self.read(op).await
        }
    };

    // ---- session methods: a `read` op is wrapped in `ReadOnly` (replica reads) ----
    // (Only kinds `run`, `converse` and `pages` are routed; for the others `read` is only
    // the retry safety.)
    (@session $side:ident $safety:tt [read $($rest:ident)*] $kind:ident [$($meta:tt)*] $name:ident
        $gen:tt $args:tt $out:tt $wc:tt $op:expr) => {
        session_methods!(@routed $kind $side $safety [$($meta)*] $name $gen $args $out $wc $op);
    };
    (@routed run $($rest:tt)*) => { session_methods!(@read_only run $($rest)*); };
    (@routed converse $($rest:tt)*) => { session_methods!(@read_only converse $($rest)*); };
    (@routed pages $($rest:tt)*) => { session_methods!(@read_only pages $($rest)*); };
    (@routed $kind:ident $side:ident $safety:tt $meta:tt $name:ident
        $gen:tt $args:tt $out:tt $wc:tt $op:expr) => {
        session_methods!(@$side $kind $safety $meta $name $gen $args $out $wc $op);
    };
    (@read_only $kind:ident $side:ident $safety:tt [$($meta:tt)*] $name:ident
        $gen:tt $args:tt $out:tt $wc:tt $op:expr) => {
        session_methods!(@$side $kind $safety [$($meta)* #[doc = session_methods!(@doc read)]]
            $name $gen $args $out $wc (|core| ($op)(core).map($crate::transport::ReadOnly)));
    };
    (@session $side:ident $safety:tt [$other:ident $($rest:ident)*] $kind:ident $meta:tt $name:ident
        $gen:tt $args:tt $out:tt $wc:tt $op:expr) => {
        session_methods!(@session $side $safety [$($rest)*] $kind $meta $name $gen $args $out $wc $op);
    };
    (@session $side:ident $safety:tt [] $kind:ident $meta:tt $name:ident
        $gen:tt $args:tt $out:tt $wc:tt $op:expr) => {
        session_methods!(@$side $kind $safety $meta $name $gen $args $out $wc $op);
    };
    (@doc read) => {
        "\n\n*Read-only*: with [`read_from_replicas`](crate::SessionOptions::read_from_replicas), \
         a replica may serve it (and may lag the primary by a moment)."
    };

    // ---- sync ----
    (@sync local $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            ($op)(self.core())
        }
    };
    (@sync pages $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*)
            -> $crate::Result<impl Iterator<Item = $crate::Result<$out>> + '_>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            Ok(self.pool().sync.pages(op, self.op_info(stringify!($name))))
        }
    };
    (@sync subscribe $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
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
    (@sync fallible $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            let op = ($op)(self.core())?;
            self.pool().sync.converse(op, self.op_info(stringify!($name)).with_safety($safety))?
        }
    };
    (@sync attach $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out> where $($wc)* {
            let op = ($op)(self.core())?;
            let out = self.pool().sync.converse(op, self.op_info(stringify!($name)).with_safety($safety))?;
            Ok($crate::ops::Attach::attach(out, self))
        }
    };
    (@sync $kind:ident $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out> where $($wc)* {
            let op = ($op)(self.core())?;
            self.pool().sync.$kind(op, self.op_info(stringify!($name)).with_safety($safety))
        }
    };

    // ---- async ----
    (@async local $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            ($op)(self.core())
        }
    };
    (@async pages $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*)
            -> $crate::Result<impl futures_core::Stream<Item = $crate::Result<$out>> + Send + Unpin + '_>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            // Boxed so that the stream is `Unpin`: `stream.next().await` works without pinning.
            Ok(Box::pin(self.pool().aio.pages(op, self.op_info(stringify!($name)))))
        }
    };
    (@async subscribe $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
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
    (@async fallible $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            let op = ($op)(self.core())?;
            self.pool().aio.converse(op, self.op_info(stringify!($name)).with_safety($safety)).await?
        }
    };
    (@async attach $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$sout:ty | $out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            let out = self.pool().aio.converse(op, self.op_info(stringify!($name)).with_safety($safety)).await?;
            Ok($crate::ops::Attach::attach(out, self))
        }
    };
    (@async $kind:ident $safety:tt [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            self.pool().aio.$kind(op, self.op_info(stringify!($name)).with_safety($safety)).await
        }
    };
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
pub(crate) use model_conv::{MAX_ATTEMPTS, backoff};
pub(crate) mod pubsub;
mod raw;
mod reply_de;
mod script;
mod server;
pub(crate) mod sets;
pub(crate) mod strings;
mod subscriber;
mod transaction;
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
pub use transaction::Transaction;
#[cfg(feature = "async")]
pub use transaction::{AsyncTransaction, TxFuture};

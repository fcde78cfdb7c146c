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
/// ```
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
/// | `read` | the operation only reads (changes nothing) | on the session (kinds `run`, `converse`, `pages`), the op wrapped in [`ReadOnly`](crate::transport::ReadOnly): with [`read_from_replicas`](crate::SessionOptions::read_from_replicas) a sentinel session may send it to a replica, and its docs say so; with `pipe`, in a transaction, an immediate read (`Result<Output>`) instead of a queued write |
///
/// Without `read`, an operation always goes to the primary.
macro_rules! session_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident $([$($gen:tt)*])? ($($arg:ident : $ty:ty),* $(,)?) -> $out:ty $(| $aout:ty)?
            $(where [$($wc:tt)*])?
            = $([$($flag:ident),* $(,)?])? $kind:ident $op:expr;
    )*) => {
        impl $crate::Session {
            $(
                session_methods!(@session sync [$($($flag)*)?] $kind [$(#[$meta])*]
                    $name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op);
            )*
        }

        #[cfg(feature = "async")]
        impl $crate::AsyncSession {
            $(
                session_methods!(@session async [$($($flag)*)?] $kind [$(#[$meta])*]
                    $name [$($($gen)*)?] [$($arg: $ty),*] [$out $(| $aout)?] [$($($wc)*)?] $op);
            )*
        }

        impl<'a> $crate::Pipeline<'a> {
            $(
                session_methods!(@marked pipeline {no no} [$($($flag)*)?]
                    {$name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op});
            )*
        }

        impl<'a> $crate::Transaction<'a> {
            $(
                session_methods!(@marked tx_sync {no no} [$($($flag)*)?]
                    {$name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op});
            )*
        }

        #[cfg(feature = "async")]
        impl<'a> $crate::AsyncTransaction<'a> {
            $(
                session_methods!(@marked tx_async {no no} [$($($flag)*)?]
                    {$name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op});
            )*
        }

        $(
            session_methods!(@marked list {no no} [$($($flag)*)?]
                {$name [$($($gen)*)?] [$($arg: $ty),*] [$out] [$($($wc)*)?] $op});
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
    (@marked list {yes $r:ident} [] {$name:ident $($entry:tt)*}) => {
        #[cfg(feature = "testing")]
        inventory::submit! {
            $crate::testing::PipelinedOp { name: stringify!($name), read: session_methods!(@yes $r) }
        }
    };
    (@marked $surface:ident $flags:tt [] $entry:tt) => {};
    (@yes yes) => { true };
    (@yes no) => { false };

    // ---- pipeline and transactions ----
    (@pipeline {$name:ident [$($g:ident),*] [$($arg:ident: $ty:ty),*] [$out:ty] [$($wc:tt)*] $op:expr}) => {
        #[doc = concat!("Queues [`", stringify!($name), "`](crate::Session::", stringify!($name),
            "); its result is taken from the executed pipeline with the returned handle.")]
        pub fn $name<$($g),*>(&mut self, $($arg: $ty),*) -> $crate::Handle<$out>
        where $out: Send + 'static, $($g: 'a,)* $($wc)*
        {
            let core = *self.core();
            self.add(($op)(&core))
        }
    };
    (@tx_write {$name:ident [$($g:ident),*] [$($arg:ident: $ty:ty),*] [$out:ty] [$($wc:tt)*] $op:expr}) => {
        #[doc = concat!("Queues [`", stringify!($name), "`](crate::Session::", stringify!($name),
            "), to run in the transaction's `MULTI`/`EXEC` if the watched keys are unchanged.")]
        pub fn $name<$($g),*>(&mut self, $($arg: $ty),*) -> &mut Self
        where $out: Send + 'static, $($g: 'a,)* $($wc)*
        {
            let core = *self.queue.core();
            let _ = self.queue.add(($op)(&core));
            self
        }
    };
    (@tx_read_sync {$name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*] [$out:ty] [$($wc:tt)*] $op:expr}) => {
        #[doc = concat!("[`", stringify!($name), "`](crate::Session::", stringify!($name),
            "), read now on the transaction's connection (after `WATCH`).")]
        pub fn $name<$($gen)*>(&mut self, $($arg: $ty),*) -> $crate::Result<$out> where $($wc)* {
            let op = ($op)(self.queue.core())?;
            self.read(op)
        }
    };
    (@tx_read_async {$name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*] [$out:ty] [$($wc:tt)*] $op:expr}) => {
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
    (@session $side:ident [read $($rest:ident)*] $kind:ident [$($meta:tt)*] $name:ident
        $gen:tt $args:tt $out:tt $wc:tt $op:expr) => {
        session_methods!(@$side $kind [$($meta)* #[doc = session_methods!(@doc read)]]
            $name $gen $args $out $wc (|core| ($op)(core).map($crate::transport::ReadOnly)));
    };
    (@session $side:ident [$other:ident $($rest:ident)*] $kind:ident $meta:tt $name:ident
        $gen:tt $args:tt $out:tt $wc:tt $op:expr) => {
        session_methods!(@session $side [$($rest)*] $kind $meta $name $gen $args $out $wc $op);
    };
    (@session $side:ident [] $kind:ident $meta:tt $name:ident
        $gen:tt $args:tt $out:tt $wc:tt $op:expr) => {
        session_methods!(@$side $kind $meta $name $gen $args $out $wc $op);
    };
    (@doc read) => {
        "\n\n*Read-only*: with [`read_from_replicas`](crate::SessionOptions::read_from_replicas), \
         a replica may serve it (and may lag the primary by a moment)."
    };

    // ---- sync ----
    (@sync local [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            ($op)(self.core())
        }
    };
    (@sync pages [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
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
    (@sync subscribe [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
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
    (@sync fallible [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            let op = ($op)(self.core())?;
            self.pool().sync.converse(op, self.op_info(stringify!($name)))?
        }
    };
    (@sync attach [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out> where $($wc)* {
            let op = ($op)(self.core())?;
            let out = self.pool().sync.converse(op, self.op_info(stringify!($name)))?;
            Ok($crate::ops::Attach::attach(out, self))
        }
    };
    (@sync $kind:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out> where $($wc)* {
            let op = ($op)(self.core())?;
            self.pool().sync.$kind(op, self.op_info(stringify!($name)))
        }
    };

    // ---- async ----
    (@async local [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            ($op)(self.core())
        }
    };
    (@async pages [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
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
    (@async subscribe [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
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
    (@async fallible [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $out where $($wc)* {
            let op = ($op)(self.core())?;
            self.pool().aio.converse(op, self.op_info(stringify!($name))).await?
        }
    };
    (@async attach [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$sout:ty | $out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            let out = self.pool().aio.converse(op, self.op_info(stringify!($name))).await?;
            Ok($crate::ops::Attach::attach(out, self))
        }
    };
    (@async $kind:ident [$(#[$meta:meta])*] $name:ident [$($gen:tt)*] [$($arg:ident: $ty:ty),*]
        [$out:ty] [$($wc:tt)*] $op:expr) => {
        $(#[$meta])*
        pub async fn $name<$($gen)*>(&self, $($arg: $ty),*) -> $crate::Result<$out>
        where $($wc)*
        {
            let op = ($op)(self.core())?;
            self.pool().aio.$kind(op, self.op_info(stringify!($name))).await
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

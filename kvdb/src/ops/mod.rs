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
/// fn name[generics](arg: Type, ...) -> Output where [bounds] = run |core| build_op(core, ...);
/// ```
/// `run` sends one [`Op`](crate::transport::Op); `converse` runs a
/// [`Conversation`](crate::transport::Conversation).
macro_rules! session_methods {
    ($(
        $(#[$meta:meta])*
        fn $name:ident $([$($gen:tt)*])? ($($arg:ident : $ty:ty),* $(,)?) -> $out:ty
            $(where [$($wc:tt)*])?
            = $kind:ident $op:expr;
    )*) => {
        impl $crate::Session {
            $(
                $(#[$meta])*
                pub fn $name $(<$($gen)*>)? (&self, $($arg: $ty),*) -> $crate::Result<$out>
                $(where $($wc)*)?
                {
                    let op = ($op)(self.core())?;
                    self.pool().sync.$kind(op)
                }
            )*
        }

        #[cfg(feature = "async")]
        impl $crate::AsyncSession {
            $(
                $(#[$meta])*
                pub async fn $name $(<$($gen)*>)? (&self, $($arg: $ty),*) -> $crate::Result<$out>
                $(where $($wc)*)?
                {
                    let op = ($op)(self.core())?;
                    self.pool().aio.$kind(op).await
                }
            )*
        }
    };
}

pub(crate) mod model;
mod model_conv;
mod strings;

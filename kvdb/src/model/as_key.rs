//! Keys as callers hold them: a model whose key is a `String` is found with a `&str`, one
//! keyed by `(u64, String)` with `&(7, "acme")`. Pure code, no I/O.
//!
//! Every model method takes `&(impl AsKey<T::Key> + ?Sized)`: the key itself, or a form that
//! writes the same key parts without being converted first (nothing is allocated but the
//! Redis key itself, as with the owned key).
//!
//! | the model's key part | accepted |
//! |---|---|
//! | `String` (or `Box<str>`, `Arc<str>`, `Rc<str>`) | itself, `&String`, `str` (a `"literal"`), `&str`, `Cow<str>` |
//! | any other key part `P` (`u64`, `Uuid`, your newtype...) | `P`; `&P` for kvdb's own key parts |
//! | a tuple `(A, B, ...)` (several key fields) | a tuple of accepted forms of `A`, `B`, ... |
//! | `()` (a singleton) | `()` |
//!
//! ```
//! use kvdb::KvModel;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, KvModel)]
//! #[kv(prefix = "users")]
//! struct User { #[kv(key)] email: String }
//!
//! #[derive(Serialize, Deserialize, KvModel)]
//! #[kv(key = "org:{org}:member:{user}")]
//! struct Membership { user: u64, org: String }
//!
//! assert_eq!(kvdb::model::key_of::<User>("a@b.com")?, "users:a@b.com");
//! assert_eq!(kvdb::model::key_of::<Membership>(&("acme", 7))?, "org:acme:member:7");
//! # Ok::<(), kvdb::Error>(())
//! ```

use std::borrow::Cow;

use super::key::KeyPart;

/// A value that writes the same key part as a `P`: `P` itself or a borrowed form of it (see
/// the [module docs](self)). Implemented for every [`KeyPart`] (as a form of itself), so your
/// own key part types need nothing more.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot stand for a key part of type `{P}`",
    label = "expected a `{P}` key part, or a borrowed form of it",
    note = "a `String` key part also accepts `&str`, `&String` and `Cow<str>`; other key parts \
            accept themselves (and a reference, for kvdb's own key parts)"
)]
pub trait AsPart<P: ?Sized> {
    /// The key part this value writes.
    fn as_part(&self) -> &dyn KeyPart;
}

impl<P: KeyPart> AsPart<P> for P {
    fn as_part(&self) -> &dyn KeyPart {
        self
    }
}

/// The borrowed forms of the string key parts: `&str`, `&String`, `Cow<str>`.
macro_rules! string_parts {
    ($($s:ty),* $(,)?) => {$(
        impl AsPart<$s> for &str {
            fn as_part(&self) -> &dyn KeyPart {
                self
            }
        }

        impl AsPart<$s> for Cow<'_, str> {
            fn as_part(&self) -> &dyn KeyPart {
                self
            }
        }

        impl AsKey<$s> for str {
            fn visit_parts(&self, f: &mut dyn FnMut(&[&dyn KeyPart])) {
                f(&[&self])
            }
        }
    )*};
}

string_parts!(String, Box<str>, std::sync::Arc<str>, std::rc::Rc<str>);

macro_rules! string_refs {
    ($($s:ty),* $(,)?) => {$(
        impl AsPart<$s> for &String {
            fn as_part(&self) -> &dyn KeyPart {
                self
            }
        }
    )*};
}

string_refs!(Box<str>, std::sync::Arc<str>, std::rc::Rc<str>);

macro_rules! reference_parts {
    ($($t:ty),* $(,)?) => {$(
        impl AsPart<$t> for &$t {
            fn as_part(&self) -> &dyn KeyPart {
                self
            }
        }
    )*};
}

reference_parts!(
    u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, bool, char, String
);
#[cfg(feature = "uuid")]
reference_parts!(uuid::Uuid);
#[cfg(feature = "ulid")]
reference_parts!(ulid::Ulid);
#[cfg(feature = "chrono")]
reference_parts!(chrono::NaiveDate);
#[cfg(feature = "time")]
reference_parts!(time::Date);

/// A value that stands for a model key of type `K` (a model's [`KvModel::Key`](super::KvModel::Key)):
/// the key, or a form of it that borrows (see the [module docs](self)).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a key of type `{K}`",
    label = "expected a `{K}` key, or a borrowed form of it",
    note = "a model key is its key field (a `String` key also accepts `&str`), a tuple of its key \
            fields in key order (each in any accepted form, e.g. `&(7, \"acme\")`), or `()`"
)]
pub trait AsKey<K: ?Sized> {
    /// Calls `f` with the key's parts, in key order.
    fn visit_parts(&self, f: &mut dyn FnMut(&[&dyn KeyPart]));
}

impl<Q: AsPart<P> + ?Sized, P> AsKey<P> for Q {
    fn visit_parts(&self, f: &mut dyn FnMut(&[&dyn KeyPart])) {
        f(&[self.as_part()])
    }
}

impl AsKey<()> for () {
    fn visit_parts(&self, f: &mut dyn FnMut(&[&dyn KeyPart])) {
        f(&[])
    }
}

macro_rules! tuple_keys {
    ($(($($q:ident $k:ident $i:tt),+))*) => {$(
        impl<$($q: AsPart<$k>, $k,)+> AsKey<($($k,)+)> for ($($q,)+) {
            fn visit_parts(&self, f: &mut dyn FnMut(&[&dyn KeyPart])) {
                f(&[$(self.$i.as_part()),+])
            }
        }
    )*};
}

tuple_keys! {
    (A KA 0)
    (A KA 0, B KB 1)
    (A KA 0, B KB 1, C KC 2)
    (A KA 0, B KB 1, C KC 2, D KD 3)
    (A KA 0, B KB 1, C KC 2, D KD 3, E KE 4)
    (A KA 0, B KB 1, C KC 2, D KD 3, E KE 4, F KF 5)
    (A KA 0, B KB 1, C KC 2, D KD 3, E KE 4, F KF 5, G KG 6)
    (A KA 0, B KB 1, C KC 2, D KD 3, E KE 4, F KF 5, G KG 6, H KH 7)
}

//! Models: typed values with a stable type tag, a schema version and a key schema.
//!
//! A model is a serde type that implements [`KvModel`], normally through
//! `#[derive(KvModel)]`. It is always stored as a self-describing value whose header carries
//! its type tag and schema version (`kv1j-users.User@2|{...}`), so a reader can check that a
//! key holds the type it expects ([`Error::TypeMismatch`](crate::Error::TypeMismatch)), rebuild the exact type from the tag
//! alone ([`Session::get_any`](crate::Session::get_any)), and migrate older versions.
//!
//! # The derive
//!
//! ```
//! use kvdb::KvModel;
//! use serde::{Deserialize, Serialize};
//!
//! /// Stored at `users:{id}`, e.g. `users:42`.
//! #[derive(Serialize, Deserialize, KvModel)]
//! #[kv(prefix = "users", ttl = "30d")]
//! struct User {
//!     #[kv(key)]
//!     id: u64,
//!     name: String,
//! }
//!
//! /// Stored at `org:{acme}:member:7`: every member of an org shares a Cluster slot.
//! #[derive(Serialize, Deserialize, KvModel)]
//! #[kv(tag = "orgs.Member", key = "org:{org}:member:{id}", hash_tag = "{org}")]
//! struct Member {
//!     org: String,
//!     id: u32,
//!     role: String,
//! }
//!
//! assert_eq!(kvdb::model::key_of::<User>(&42)?, "users:42");
//! assert_eq!(kvdb::model::key_of::<Member>(&("acme", 7))?, "org:{acme}:member:7");
//! # Ok::<(), kvdb::Error>(())
//! ```
//!
//! | attribute | on | meaning |
//! |---|---|---|
//! | `tag = "users.User"` | type | the stored type tag; default: the type's name (`User`). Charset: [`validate_tag`](crate::format::validate_tag) |
//! | `version = 2` | type | the schema version stored in the header; default 1 |
//! | `migrate_from(1, path::to_fn)` | type | reads version 1 values through `fn(Old) -> Result<Self, E>` (repeatable) |
//! | `key` | field | a key field; several are key parts in field order; `type Key` is the field's type, or a tuple of them |
//! | `prefix = "users"` | type | the key's fixed first segment; default: the tag |
//! | `key = "org:{org}:user:{id}"` | type | a full key template; its `{field}` placeholders are the key fields, in template order (instead of `#[kv(key)]` and `prefix`). A template without placeholders is a singleton, `type Key = ()` |
//! | `hash_tag = "{org}"` | type | writes that key field's part as a Redis Cluster hash tag `{...}`: every key with the same `org` is in one slot, so a cluster can run atomic pipelines and scripts over them (see `docs/scaling.md`) |
//! | `ttl = "1h30m"` or `ttl = 3600` | type | the default TTL of [`set_model`](crate::Session::set_model) (units d, h, m, s; an integer is seconds) |
//! | `crate = "path::to::kvdb"` | type | where kvdb is, for crates that re-export it |
//! | `python = "models.User"` | type | the Python class of this model in kvdb-py data (repeatable: the first is written, all are read; see `docs/kvdb-py.md`) |
//! | `python_kind = "dataclass"` | type | the Python class is a dataclass, not a pydantic model |
//!
//! Every attribute is checked at compile time: an unknown or repeated attribute, a bad tag or
//! TTL, a placeholder that names no field, a key field whose type is not a [`KeyPart`]... are
//! compile errors pointing at the offending attribute or field.
//!
//! Generic models are refused (a stored tag must name exactly one concrete type); implement
//! [`KvModel`] by hand for a concrete instantiation if you need one. Enums and unit structs
//! are supported as singletons (`#[kv(key = "config:app")]`): an enum's variants have no
//! common key field.
//!
//! # Keys
//!
//! See [`key`] for the escaping that keeps every key distinct and the hash-tag rules.
//!
//! # Schema versions and migrations
//!
//! A value stored with another version than the model's is an [`Error::SchemaVersion`](crate::Error::SchemaVersion),
//! unless the model declares `#[kv(migrate_from(N, path::to_fn))]` for that version. The
//! function takes the old shape, as any `DeserializeOwned` type (a typed `UserV1` struct, or
//! `serde_json::Value`), and returns the new model:
//!
//! ```
//! use kvdb::KvModel;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct UserV1 { id: u64, name: String }
//!
//! #[derive(Serialize, Deserialize, KvModel)]
//! #[kv(prefix = "users", version = 2, migrate_from(1, upgrade_v1))]
//! struct User { #[kv(key)] id: u64, first: String, last: String }
//!
//! fn upgrade_v1(old: UserV1) -> Result<User, kvdb::Error> {
//!     let (first, last) = old.name.split_once(' ').unwrap_or((&old.name, ""));
//!     Ok(User { id: old.id, first: first.into(), last: last.into() })
//! }
//! ```
//!
//! Each migration goes straight to the current version (write `migrate_from(1, ...)` and
//! `migrate_from(2, ...)`; a v1 function can reuse the v2 one). Reading never writes: the
//! stored value keeps its old version until the model is stored again. Values of a *newer*
//! version than the model are always an [`Error::SchemaVersion`](crate::Error::SchemaVersion).

pub mod as_key;
pub mod key;
pub mod key_features;
pub mod registry;
pub(crate) mod stored;
pub(crate) mod ttl;

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use as_key::{AsKey, AsPart};
pub use key::{KeyPart, KeySchema, PartWriter, Segment, escape_part, glob_escape, unescape_part};
pub(crate) use registry::decode_any;
pub use registry::{AnyModel, Registration};
pub(crate) use stored::decode_model;
pub use stored::{Migration, Stored};
pub use ttl::{parse_ttl, ttl_seconds};

use crate::error::Result;
use crate::format::{PyClass, PyKind};

/// The Python class sessions in kvdb-py format write for `T`.
pub(crate) fn py_class<T: KvModel>() -> PyClass<'static> {
    PyClass {
        kind: T::PYTHON_KIND,
        name: T::PYTHON.first().copied().unwrap_or(T::TAG),
    }
}

/// Whether kvdb-py data of class `class` is a `T`.
pub(crate) fn is_py_class<T: KvModel>(class: &str) -> bool {
    if T::PYTHON.is_empty() {
        class == T::TAG
    } else {
        T::PYTHON.contains(&class)
    }
}

/// A typed value with a stable type tag, a schema version and a key schema.
///
/// Implemented by `#[derive(KvModel)]` (see the [module docs](self)); everything here is
/// constants and a key visitor, so implementing it by hand is also simple (register such
/// a type with [`registry::register`] for [`get_any`](crate::Session::get_any)).
///
/// ```
/// use kvdb::model::{KeyPart, KeySchema, KvModel, Segment};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize)]
/// struct Counter { name: String, n: i64 }
///
/// impl KvModel for Counter {
///     type Key = String;
///     const TAG: &'static str = "Counter";
///     const KEY_SCHEMA: KeySchema = KeySchema::new(&[Segment::Lit("counters"), Segment::Part]);
///     fn visit_key(&self, f: &mut dyn FnMut(&[&dyn KeyPart])) { f(&[&self.name]) }
/// }
/// assert_eq!(kvdb::model::key_of::<Counter>("hits")?, "counters:hits");
/// # Ok::<(), kvdb::Error>(())
/// ```
pub trait KvModel: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// What identifies one stored model: the key field's type, a tuple of the key fields'
    /// types in key order (up to 8), or `()` for a singleton. Methods that take a key accept
    /// it or a borrowed form of it ([`AsKey`]).
    type Key: Send + Sync;

    /// The type tag stored in the header (see [`validate_tag`](crate::format::validate_tag)).
    const TAG: &'static str;

    /// The schema version stored in the header. Default 1.
    const VERSION: u32 = 1;

    /// How keys are built from the key parts.
    const KEY_SCHEMA: KeySchema;

    /// The TTL [`set_model`](crate::Session::set_model) applies; `None` (the default) keeps
    /// values forever.
    const TTL: Option<Duration> = None;

    /// Reads older schema versions. Default: none.
    const MIGRATIONS: &'static [Migration<Self>] = &[];

    /// The Python classes this model corresponds to in kvdb-py data (`models.User`), the first
    /// one written by sessions in [`Format::KvdbPy`](crate::Format::KvdbPy), every one read.
    /// Default: none (kvdb-py sessions then write the tag as the class).
    const PYTHON: &'static [&'static str] = &[];

    /// Whether the Python class is a pydantic model (the default) or a dataclass.
    const PYTHON_KIND: PyKind = PyKind::Pydantic;

    /// Calls `f` with this model's key parts, in key order.
    fn visit_key(&self, f: &mut dyn FnMut(&[&dyn KeyPart]));
}

fn format_with(
    schema: &KeySchema,
    visit: impl FnOnce(&mut dyn FnMut(&[&dyn KeyPart])),
) -> Result<String> {
    let mut out = Ok(String::new());
    visit(&mut |parts| out = schema.format(parts));
    out
}

/// The Redis key of the `T` identified by `key`: a [`T::Key`](KvModel::Key) or a borrowed
/// form of it ([`AsKey`]: `"a@b.com"` for a `String` key, `&(7, "acme")` for `(u64, String)`).
pub fn key_of<T: KvModel>(key: &(impl AsKey<T::Key> + ?Sized)) -> Result<String> {
    format_with(&T::KEY_SCHEMA, |f| key.visit_parts(f))
}

/// The Redis key of `model`.
pub fn model_key<T: KvModel>(model: &T) -> Result<String> {
    format_with(&T::KEY_SCHEMA, |f| model.visit_key(f))
}

/// The `SCAN MATCH` pattern of every key of `T` (see [`KeySchema::pattern`]).
pub fn scan_pattern<T: KvModel>() -> String {
    T::KEY_SCHEMA.pattern()
}

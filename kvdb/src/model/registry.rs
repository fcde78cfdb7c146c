//! The registry of model types by type tag, so a stored value can be rebuilt as its exact
//! type from its tag alone ([`Session::get_any`](crate::Session::get_any)).
//!
//! Every `#[derive(KvModel)]` type registers itself at link time (through the `inventory`
//! crate); the registry is built from those registrations on first use. If two types claim
//! the same tag, that first use fails with [`Error::DuplicateTag`] naming both types, and so
//! does every later one: a program with ambiguous tags cannot read models by tag. Call
//! [`check`] at startup to find out early.
//!
//! Where link-time registration cannot run (some targets, or hand-written [`KvModel`] impls),
//! [`register`] adds a type by hand.
//!
// Standalone: rustdoc merges the other doctests into one binary, where their example types
// (several `User`s) share tags and would make `check()` fail.
//! ```rust,standalone_crate
//! use kvdb::KvModel;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Debug, Serialize, Deserialize, KvModel)]
//! #[kv(tag = "docs.Note", key = "notes:{id}")]
//! struct Note { id: u32, text: String }
//!
//! kvdb::registry::check()?;
//! assert_eq!(kvdb::registry::lookup("docs.Note")?.map(|r| r.tag()), Some("docs.Note"));
//! kvdb::registry::register::<Note>()?; // idempotent for the same type
//! # Ok::<(), kvdb::Error>(())
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;

use super::KvModel;
use super::stored::{Stored, read};
use crate::error::{Error, Result};

type AnyBox = Box<dyn Any + Send + Sync>;

/// What the registry knows of one model type. Built by [`Registration::of`].
#[derive(Clone, Copy)]
pub struct Registration {
    tag: &'static str,
    version: u32,
    python: &'static [&'static str],
    type_name: fn() -> &'static str,
    type_id: fn() -> TypeId,
    decode: fn(&Stored<'_>) -> Result<AnyBox>,
    to_json: fn(&(dyn Any + Send + Sync)) -> Option<serde_json::Value>,
}

inventory::collect!(Registration);

fn decode_boxed<T: KvModel>(stored: &Stored<'_>) -> Result<AnyBox> {
    read::<T>(stored).map(|t| Box::new(t) as AnyBox)
}

fn json_of<T: KvModel>(value: &(dyn Any + Send + Sync)) -> Option<serde_json::Value> {
    value
        .downcast_ref::<T>()
        .and_then(|t| serde_json::to_value(t).ok())
}

impl Registration {
    /// The registration of `T`.
    pub const fn of<T: KvModel>() -> Self {
        Registration {
            tag: T::TAG,
            version: T::VERSION,
            python: T::PYTHON,
            type_name: std::any::type_name::<T>,
            type_id: TypeId::of::<T>,
            decode: decode_boxed::<T>,
            to_json: json_of::<T>,
        }
    }

    /// The type tag.
    pub fn tag(&self) -> &'static str {
        self.tag
    }

    /// The current schema version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// The Python classes this model corresponds to in kvdb-py data.
    pub fn python(&self) -> &'static [&'static str] {
        self.python
    }

    /// The Rust type's name (with its module path).
    pub fn type_name(&self) -> &'static str {
        (self.type_name)()
    }

    pub(super) fn decode(&self, stored: &Stored<'_>) -> Result<AnyModel> {
        Ok(AnyModel {
            reg: *self,
            value: (self.decode)(stored)?,
        })
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("tag", &self.tag)
            .field("version", &self.version)
            .field("type", &self.type_name())
            .finish()
    }
}

/// Two types claiming one tag.
#[derive(Clone, Copy, Debug)]
struct Duplicate {
    tag: &'static str,
    first: &'static str,
    second: &'static str,
}

impl Duplicate {
    fn error(self) -> Error {
        Error::DuplicateTag {
            tag: self.tag.to_owned(),
            first: self.first,
            second: self.second,
        }
    }
}

/// The registrations by tag and by Python class. Pure: no global state.
#[derive(Default)]
struct Table {
    by_tag: HashMap<&'static str, Registration>,
    by_python: HashMap<&'static str, Registration>,
}

/// `reg` under `name` in `map`, unless another type has it.
fn claim(
    map: &HashMap<&'static str, Registration>,
    name: &'static str,
    reg: &Registration,
) -> std::result::Result<bool, Duplicate> {
    match map.get(name) {
        Some(old) if (old.type_id)() != (reg.type_id)() => Err(Duplicate {
            tag: name,
            first: old.type_name(),
            second: reg.type_name(),
        }),
        Some(_) => Ok(false),
        None => Ok(true),
    }
}

impl Table {
    /// Adds `reg`; registering the same type again is a no-op. Nothing changes on error.
    fn insert(&mut self, reg: Registration) -> std::result::Result<(), Duplicate> {
        let new_tag = claim(&self.by_tag, reg.tag, &reg)?;
        for name in reg.python {
            claim(&self.by_python, name, &reg)?;
        }
        if new_tag {
            self.by_tag.insert(reg.tag, reg);
        }
        for name in reg.python {
            self.by_python.insert(name, reg);
        }
        Ok(())
    }

    /// The model of kvdb-py class `class`: one that declares it, or one whose tag it is and
    /// that declares no Python class.
    fn python(&self, class: &str) -> Option<Registration> {
        self.by_python.get(class).copied().or_else(|| {
            self.by_tag
                .get(class)
                .filter(|r| r.python.is_empty())
                .copied()
        })
    }

    fn build(
        regs: impl IntoIterator<Item = Registration>,
    ) -> std::result::Result<Table, Duplicate> {
        let mut table = Table::default();
        for reg in regs {
            table.insert(reg)?;
        }
        Ok(table)
    }
}

enum State {
    Unbuilt,
    Built(Table),
    Broken(Duplicate),
}

static STATE: RwLock<State> = RwLock::new(State::Unbuilt);

/// Runs `f` on the built registry, building it first if needed.
fn with_table<R>(f: impl FnOnce(&mut Table) -> Result<R>) -> Result<R> {
    // The state is only ever replaced whole, so a poisoned lock holds a consistent value.
    let mut state = STATE.write().unwrap_or_else(|p| p.into_inner());
    if let State::Unbuilt = *state {
        *state = match Table::build(inventory::iter::<Registration>.into_iter().copied()) {
            Ok(table) => State::Built(table),
            Err(dup) => State::Broken(dup),
        };
    }
    match &mut *state {
        State::Built(table) => f(table),
        State::Broken(dup) => Err(dup.error()),
        State::Unbuilt => Err(Error::Unsupported(
            "internal: the model registry is unbuilt".into(),
        )),
    }
}

/// The registration of the model type tagged `tag`, if any.
pub fn lookup(tag: &str) -> Result<Option<Registration>> {
    {
        let state = STATE.read().unwrap_or_else(|p| p.into_inner());
        match &*state {
            State::Built(table) => return Ok(table.by_tag.get(tag).copied()),
            State::Broken(dup) => return Err(dup.error()),
            State::Unbuilt => {}
        }
    }
    with_table(|table| Ok(table.by_tag.get(tag).copied()))
}

/// The registration of the model that corresponds to the Python class `class` in kvdb-py
/// data, if any.
pub fn lookup_python(class: &str) -> Result<Option<Registration>> {
    with_table(|table| Ok(table.python(class)))
}

/// Builds the registry now; fails with [`Error::DuplicateTag`] if two types share a tag.
pub fn check() -> Result<()> {
    with_table(|_| Ok(()))
}

/// Every registered model type, sorted by tag.
pub fn registrations() -> Result<Vec<Registration>> {
    with_table(|table| {
        let mut all: Vec<Registration> = table.by_tag.values().copied().collect();
        all.sort_by_key(|r| r.tag);
        Ok(all)
    })
}

/// Registers `T` by hand (for hand-written [`KvModel`] impls, or targets where link-time
/// registration does not run). Registering a type twice is a no-op; a tag already taken by
/// another type is an [`Error::DuplicateTag`] and leaves the registry unchanged.
pub fn register<T: KvModel>() -> Result<()> {
    with_table(|table| {
        table
            .insert(Registration::of::<T>())
            .map_err(Duplicate::error)
    })
}

/// A model read by [`get_any`](crate::Session::get_any): a value of whichever registered
/// type its stored tag names.
///
/// Models need not implement `Debug`: `{:?}` shows the tag and the value as JSON (models are
/// `Serialize`), e.g. `AnyModel { tag: "users.User", value: {"id":42,"name":"Ann"} }`.
///
/// ```no_run
/// # use kvdb::KvModel;
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Serialize, Deserialize, KvModel)] #[kv(key = "u:{id}")] struct User { id: u64 }
/// # #[derive(Serialize, Deserialize, KvModel)] #[kv(key = "o:{id}")] struct Order { id: u64 }
/// # let session: kvdb::Session = todo!();
/// match session.get_any("u:42")? {
///     Some(m) if m.is::<User>() => println!("a user: {m:?}"),
///     Some(m) => match m.downcast::<Order>() {
///         Ok(order) => println!("order {}", order.id),
///         Err(other) => println!("something else: {}", other.tag()),
///     },
///     None => println!("no such key"),
/// }
/// # Ok::<(), kvdb::Error>(())
/// ```
pub struct AnyModel {
    reg: Registration,
    value: AnyBox,
}

impl AnyModel {
    /// The type tag.
    pub fn tag(&self) -> &'static str {
        self.reg.tag
    }

    /// The Rust type's name.
    pub fn type_name(&self) -> &'static str {
        self.reg.type_name()
    }

    /// Whether the value is a `T`.
    pub fn is<T: KvModel>(&self) -> bool {
        (*self.value).is::<T>()
    }

    /// The value as a `T`, or `self` back if it is another type.
    pub fn downcast<T: KvModel>(self) -> std::result::Result<T, AnyModel> {
        match self.value.downcast::<T>() {
            Ok(t) => Ok(*t),
            Err(value) => Err(AnyModel {
                reg: self.reg,
                value,
            }),
        }
    }

    /// A reference to the value if it is a `T`.
    pub fn downcast_ref<T: KvModel>(&self) -> Option<&T> {
        (*self.value).downcast_ref::<T>()
    }

    /// The value as JSON (through its `Serialize`); `None` if it cannot be serialized.
    pub fn to_json(&self) -> Option<serde_json::Value> {
        (self.reg.to_json)(&*self.value)
    }
}

impl fmt::Debug for AnyModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("AnyModel");
        d.field("tag", &self.reg.tag);
        match self.to_json() {
            Some(json) => d.field("value", &format_args!("{json}")),
            None => d.field("value", &format_args!("<not serializable>")),
        };
        d.finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
#[path = "registry_tests.rs"]
mod tests;

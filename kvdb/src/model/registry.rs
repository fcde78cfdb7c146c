//! The registry of model types by type tag, so a stored value can be rebuilt as its exact
//! type from its tag alone ([`Session::get_any`](crate::Session::get_any)).
//!
//! Every `#[derive(KvModel)]` type registers itself at link time (through the `inventory`
//! crate); the registry is built from those registrations on first use. If two types claim
//! the same tag (two `User` structs in different modules share the default tag `User`), that
//! tag is recorded as ambiguous: reading a value by it fails with [`Error::DuplicateTag`]
//! naming both types and the fix, and every other tag keeps working. Call [`check`] in a test
//! to find ambiguous tags early.
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
use crate::error::{Error, KeyContext, Result};

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

/// Two types claiming one tag (or one Python class).
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

/// What a tag (or Python class) names: one type, or two or more (then the tag is ambiguous,
/// and only reading by that tag fails, as in typetag).
#[derive(Clone, Copy)]
enum Entry {
    One(Registration),
    Ambiguous(Duplicate),
}

impl Entry {
    fn get(&self) -> Result<Registration> {
        match self {
            Entry::One(reg) => Ok(*reg),
            Entry::Ambiguous(dup) => Err(dup.error()),
        }
    }
}

/// The registrations by tag and by Python class. Pure: no global state.
#[derive(Default)]
struct Table {
    by_tag: HashMap<&'static str, Entry>,
    by_python: HashMap<&'static str, Entry>,
}

/// Whether `reg` may take `name` in `map`: `Ok(true)` if it is free, `Ok(false)` if `reg`
/// already has it, `Err` if another type does.
fn claim(
    map: &HashMap<&'static str, Entry>,
    name: &'static str,
    reg: &Registration,
) -> std::result::Result<bool, Duplicate> {
    match map.get(name) {
        Some(Entry::One(old)) if (old.type_id)() == (reg.type_id)() => Ok(false),
        Some(Entry::One(old)) => Err(Duplicate {
            tag: name,
            first: old.type_name(),
            second: reg.type_name(),
        }),
        Some(Entry::Ambiguous(dup)) => Err(*dup),
        None => Ok(true),
    }
}

/// Records `reg` under `name`, marking the name ambiguous if another type has it.
fn record(map: &mut HashMap<&'static str, Entry>, name: &'static str, reg: Registration) {
    match claim(map, name, &reg) {
        Ok(true) => {
            map.insert(name, Entry::One(reg));
        }
        Ok(false) => {}
        Err(dup) => {
            map.insert(name, Entry::Ambiguous(dup));
        }
    }
}

impl Table {
    /// Adds `reg` at run time ([`register`]); registering the same type again is a no-op.
    /// Nothing changes on error.
    fn insert(&mut self, reg: Registration) -> std::result::Result<(), Duplicate> {
        claim(&self.by_tag, reg.tag, &reg)?;
        for name in reg.python {
            claim(&self.by_python, name, &reg)?;
        }
        self.record(reg);
        Ok(())
    }

    /// Adds a link-time registration: a name another type has becomes ambiguous.
    fn record(&mut self, reg: Registration) {
        record(&mut self.by_tag, reg.tag, reg);
        for name in reg.python {
            record(&mut self.by_python, name, reg);
        }
    }

    fn tag(&self, tag: &str) -> Result<Option<Registration>> {
        self.by_tag.get(tag).map(Entry::get).transpose()
    }

    /// The model of kvdb-py class `class`: one that declares it, or one whose tag it is and
    /// that declares no Python class.
    fn python(&self, class: &str) -> Result<Option<Registration>> {
        if let Some(entry) = self.by_python.get(class) {
            return entry.get().map(Some);
        }
        Ok(self.tag(class)?.filter(|r| r.python.is_empty()))
    }

    /// The first ambiguous tag or Python class, in name order.
    fn first_ambiguity(&self) -> Option<Duplicate> {
        self.by_tag
            .values()
            .chain(self.by_python.values())
            .filter_map(|e| match e {
                Entry::Ambiguous(dup) => Some(*dup),
                Entry::One(_) => None,
            })
            .min_by_key(|d| d.tag)
    }

    fn build(regs: impl IntoIterator<Item = Registration>) -> Table {
        let mut table = Table::default();
        for reg in regs {
            table.record(reg);
        }
        table
    }
}

static STATE: RwLock<Option<Table>> = RwLock::new(None);

/// Runs `f` on the registry, building it first if needed.
fn with_table<R>(f: impl FnOnce(&mut Table) -> R) -> R {
    // The state is only ever replaced whole, so a poisoned lock holds a consistent value.
    let mut state = STATE.write().unwrap_or_else(|p| p.into_inner());
    let table = state
        .get_or_insert_with(|| Table::build(inventory::iter::<Registration>.into_iter().copied()));
    f(table)
}

/// Runs `f` on the built registry under the read lock (building it first if needed).
fn read_table<R>(f: impl Fn(&Table) -> R) -> R {
    {
        let state = STATE.read().unwrap_or_else(|p| p.into_inner());
        if let Some(table) = &*state {
            return f(table);
        }
    }
    with_table(|table| f(table))
}

/// The registration of the model type tagged `tag`, if any. A tag that two registered types
/// share is an [`Error::DuplicateTag`] naming both; every other tag keeps working.
pub fn lookup(tag: &str) -> Result<Option<Registration>> {
    read_table(|table| table.tag(tag))
}

/// The registration of the model that corresponds to the Python class `class` in kvdb-py
/// data, if any.
pub fn lookup_python(class: &str) -> Result<Option<Registration>> {
    read_table(|table| table.python(class))
}

/// Checks that no two registered model types share a type tag (or a Python class): call it
/// in a test (or at startup) to find ambiguous tags before reading by tag does.
///
/// Two models with the same default tag (two `User` structs in different modules: the default
/// tag is the type's name) make only that tag unreadable by
/// [`get_any`](crate::Session::get_any); this reports the first such tag as an
/// [`Error::DuplicateTag`] naming both types and the fix (`#[kv(tag = "...")]`).
///
/// ```text
/// #[test]
/// fn model_tags_are_unique() {
///     kvdb::registry::check().unwrap();
/// }
/// ```
pub fn check() -> Result<()> {
    read_table(|table| table.first_ambiguity().map_or(Ok(()), |d| Err(d.error())))
}

/// Every registered model type, sorted by tag (both types of an ambiguous tag included).
pub fn registrations() -> Result<Vec<Registration>> {
    read_table(|table| {
        let mut all: Vec<Registration> = inventory::iter::<Registration>
            .into_iter()
            .copied()
            .chain(table.by_tag.values().filter_map(|e| match e {
                Entry::One(r) => Some(*r),
                Entry::Ambiguous(_) => None,
            }))
            .collect();
        all.sort_by_key(|r| (r.tag, r.type_name()));
        all.dedup_by_key(|r| (r.type_id)());
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

/// Decodes stored bytes as whatever registered model their tag names.
pub(crate) fn decode_any(bytes: &[u8], limit: usize) -> Result<AnyModel> {
    let stored = Stored::parse(bytes, limit, "<any registered model>")?;
    let reg = if stored.is_kvdb_py() {
        lookup_python(stored.tag())?
    } else {
        lookup(stored.tag())?
    };
    let reg = reg.ok_or_else(|| Error::UnknownTag {
        key: KeyContext::default(),
        tag: stored.tag().to_owned(),
    })?;
    reg.decode(&stored)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

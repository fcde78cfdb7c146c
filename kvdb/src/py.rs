//! Wrappers that store Rust values as the Python types kvdb-py knows, for services that share
//! data with Python (see `docs/kvdb-py.md`).
//!
//! kvdb-py wraps datetimes, UUIDs, sets, bytes, timedeltas and paths in
//! `{"__type__": ..., "value": ...}` objects so Python gets the right type back. Reading needs
//! nothing special: every kvdb session unwraps those objects into whatever Rust type is asked
//! for. Writing does: a `chrono::DateTime` serializes as a string, which Python would read back
//! as a `str`. Wrap it (`py::Datetime(t)`) or annotate the field
//! (`#[serde(with = "kvdb::py::datetime")]`) and Python reads a `datetime`.
//!
//! ```
//! use kvdb::format::Encoder;
//! use kvdb::{Format, Serializer, py};
//! use std::collections::BTreeSet;
//!
//! let mut enc = Encoder::new(Serializer::Json);
//! enc.format = Format::KvdbPy;
//! let bytes = enc.encode(&py::Set(BTreeSet::from([1, 2, 3])))?;
//! assert_eq!(bytes, br#"_kvdbenc_{"__type__": "set", "value": [1, 2, 3]}"#);
//! # Ok::<(), kvdb::Error>(())
//! ```

use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn envelope<S: Serializer, T: Serialize + ?Sized>(
    s: S,
    kind: &str,
    class: Option<&str>,
    value: &T,
) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(if class.is_some() { 3 } else { 2 }))?;
    m.serialize_entry("__type__", kind)?;
    if let Some(class) = class {
        m.serialize_entry("__class__", class)?;
    }
    m.serialize_entry("value", value)?;
    m.end()
}

macro_rules! wrapper {
    ($(#[$doc:meta])* $name:ident, $module:ident, $kind:literal, [$($bound:tt)+], |$v:ident| $value:expr) => {
        wrapper!($(#[$doc])* $name, $module, $kind, None, [$($bound)+], |$v| $value);
    };
    ($(#[$doc:meta])* $name:ident, $module:ident, $kind:literal, $class:expr, [$($bound:tt)+], |$v:ident| $value:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name<T>(pub T);

        impl<T: $($bound)+> Serialize for $name<T> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let $v = &self.0;
                envelope(s, $kind, $class, &$value)
            }
        }

        impl<'de, T: Deserialize<'de>> Deserialize<'de> for $name<T> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                T::deserialize(d).map($name)
            }
        }

        #[doc = concat!("`#[serde(with = \"kvdb::py::", stringify!($module), "\")]` for a field: see [`", stringify!($name), "`].")]
        pub mod $module {
            #[allow(unused_imports)]
            use super::AsDuration;
            use serde::{Deserialize, Deserializer, Serialize, Serializer};

            /// Serializes the field inside the kvdb-py envelope.
            pub fn serialize<S: Serializer, T: $($bound)+>(v: &T, s: S) -> Result<S::Ok, S::Error> {
                super::$name(v).serialize(s)
            }

            /// Deserializes the field (envelopes are unwrapped by every kvdb reader).
            pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<T, D::Error> {
                T::deserialize(d)
            }
        }
    };
}

wrapper!(
    /// A datetime, date or time (anything that serializes as ISO 8601 text, e.g. chrono's or
    /// time's types): `{"__type__": "datetime", "value": "2024-01-02T03:04:05+00:00"}`.
    Datetime, datetime, "datetime", [Serialize], |v| v
);
wrapper!(
    /// A UUID (anything that serializes as its hyphenated text):
    /// `{"__type__": "uuid", "value": "..."}`.
    Uuid, uuid, "uuid", [Serialize], |v| v
);
wrapper!(
    /// A set (any sequence): `{"__type__": "set", "value": [...]}`.
    Set, set, "set", [Serialize], |v| v
);
wrapper!(
    /// A filesystem path, as kvdb-py writes one (and its reader needs the class to give back
    /// a path, not a string): `{"__type__": "path", "__class__": "pathlib.PurePosixPath",
    /// "value": "/srv/x"}`.
    Path, path, "path", Some("pathlib.PurePosixPath"), [Serialize], |v| v
);
wrapper!(
    /// Bytes nested in a structure: `{"__type__": "bytes", "value": "<lowercase hex>"}`.
    Bytes, bytes, "bytes", [AsRef<[u8]>], |v| Hex(v.as_ref())
);
wrapper!(
    /// A `std::time::Duration` as Python's `timedelta`: `{"__type__": "timedelta", "value":
    /// 90.5}` (seconds).
    Timedelta, timedelta, "timedelta", [AsDuration], |v| Seconds(v)
);

struct Hex<'a>(&'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let hex: String = self.0.iter().map(|b| format!("{b:02x}")).collect();
        s.serialize_str(&hex)
    }
}

/// Durations as float seconds.
struct Seconds<'a, T>(&'a T);

impl<T: AsDuration> Serialize for Seconds<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.0.as_duration().as_secs_f64())
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Bytes<&T> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref()
    }
}

/// Types [`Timedelta`] can hold.
pub trait AsDuration {
    /// The value as a `Duration`.
    fn as_duration(&self) -> std::time::Duration;
}

impl AsDuration for std::time::Duration {
    fn as_duration(&self) -> std::time::Duration {
        *self
    }
}

impl<T: AsDuration> AsDuration for &T {
    fn as_duration(&self) -> std::time::Duration {
        (*self).as_duration()
    }
}

/// A Python `Enum` member of class `class` with value `value`:
/// `{"__type__": "enum", "__class__": "models.Color", "value": "red"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Enum<'a, T> {
    /// The Python class, e.g. `models.Color`.
    pub class: &'a str,
    /// The member's value.
    pub value: T,
}

impl<T: Serialize> Serialize for Enum<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        envelope(s, "enum", Some(self.class), &self.value)
    }
}

/// A model nested in a structure (a field, a map value, a list element), written as kvdb-py
/// writes a pydantic model held in a dict: in JSON the envelope `{"__type__": "pydantic",
/// "__class__": C, "value": {...}}`, in MessagePack extension type 2 holding the fields'
/// JSON with `"__class__"` last. `C` is the model's first `#[kv(python = ...)]` class (or its
/// tag). Python reads the field back as that class. Reading needs no wrapper: every kvdb
/// session reads such a nested model into the plain struct (or `serde_json::Value`).
///
/// ```
/// use kvdb::format::Encoder;
/// use kvdb::{Format, KvModel, Serializer, py};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, KvModel)]
/// #[kv(key = "users:{id}", python = "models.User")]
/// struct User { id: u32, name: String }
///
/// #[derive(Serialize)]
/// struct Team { lead: py::Model<User>, size: u32 }
///
/// let mut enc = Encoder::new(Serializer::Json);
/// enc.format = Format::KvdbPy;
/// let team = Team { lead: py::Model(User { id: 1, name: "Ann".into() }), size: 3 };
/// assert_eq!(
///     enc.encode(&team)?,
///     br#"_kvdbenc_{"lead": {"__type__": "pydantic", "__class__": "models.User", "value": {"id": 1, "name": "Ann"}}, "size": 3}"#
/// );
/// # Ok::<(), kvdb::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Model<T>(pub T);

impl<T: crate::KvModel> Serialize for Model<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        model::serialize(&self.0, s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Model<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Model)
    }
}

/// `#[serde(with = "kvdb::py::model")]` for a field holding a model: see [`Model`].
pub mod model {
    use serde::ser::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::format::PyKind;

    /// Bytes for rmp-serde's extension form.
    struct Raw<'a>(&'a [u8]);

    impl Serialize for Raw<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }

    /// Serializes the model as kvdb-py nests it: an envelope in JSON (human-readable
    /// formats), extension type 2 in MessagePack.
    pub fn serialize<S: Serializer, T: crate::KvModel>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        let class = crate::model::py_class::<T>();
        if s.is_human_readable() {
            return super::envelope(s, class.kind.name(), Some(class.name), v);
        }
        if class.kind != PyKind::Pydantic {
            return Err(S::Error::custom(
                "kvdb-py's MessagePack has a form for pydantic models only, not dataclasses",
            ));
        }
        let json = crate::format::model_json(v, class.name).map_err(S::Error::custom)?;
        // rmp-serde writes this newtype as an extension value: (type, data).
        s.serialize_newtype_struct("_ExtStruct", &(2i8, Raw(&json)))
    }

    /// Deserializes the model (nested envelopes are unwrapped by every kvdb reader).
    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<T, D::Error> {
        T::deserialize(d)
    }
}

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
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name<T>(pub T);

        impl<T: $($bound)+> Serialize for $name<T> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let $v = &self.0;
                envelope(s, $kind, None, &$value)
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
    /// A filesystem path: `{"__type__": "path", "__class__": "pathlib.PurePosixPath", ...}` is
    /// what kvdb-py writes; this writes `{"__type__": "path", "value": "..."}`, which it reads.
    Path, path, "path", [Serialize], |v| v
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

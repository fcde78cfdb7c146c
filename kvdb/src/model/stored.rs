//! Reading stored models: the tag check, schema versions and migrations.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use super::{KvModel, is_py_class, py_class};
use crate::error::{BoxError, Error, KeyContext, Result};
use crate::format::{PyDoc, StoredKind, decode_payload, split};

/// A stored model value whose header has been read and whose payload is not decoded yet:
/// what a [`Migration`] receives.
#[derive(Debug)]
pub struct Stored<'a> {
    kind: StoredKind<'a>,
    payload: &'a [u8],
    limit: usize,
    /// The type tag, or the Python class of a kvdb-py value.
    tag: Cow<'a, str>,
    version: u32,
    /// A kvdb-py value, already parsed (kvdb-py has no schema versions).
    python: Option<PyDoc>,
}

impl<'a> Stored<'a> {
    /// Splits `bytes`; errors unless they are a tagged kvdb value.
    pub(super) fn parse(bytes: &'a [u8], limit: usize, expected: &str) -> Result<Self> {
        let (kind, payload) = split(bytes)?;
        match kind {
            StoredKind::Kvdb(h) => match h.tag {
                Some(tag) => Ok(Stored {
                    kind,
                    payload,
                    limit,
                    tag: Cow::Borrowed(tag),
                    version: h.version,
                    python: None,
                }),
                None => Err(untagged(
                    expected,
                    format!("with set (a {} value)", h.codec),
                )),
            },
            StoredKind::KvdbPy => {
                let doc = PyDoc::parse(payload, limit)?;
                let class = doc.class().ok_or_else(|| {
                    untagged(
                        expected,
                        "by kvdb-py as plain data (not a pydantic model or dataclass)".into(),
                    )
                })?;
                Ok(Stored {
                    kind,
                    payload,
                    limit,
                    tag: Cow::Owned(class.to_owned()),
                    version: 0,
                    python: Some(doc),
                })
            }
            StoredKind::Plain => Err(untagged(
                expected,
                "as a plain value (a string, number or bytes: set of a scalar, or another \
                 client)"
                    .into(),
            )),
        }
    }

    /// The stored type tag, or the Python class of a value written by kvdb-py.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The stored schema version (0 for kvdb-py values, which have none).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Whether the value was written in kvdb-py's format.
    pub fn is_kvdb_py(&self) -> bool {
        self.python.is_some()
    }

    /// Decodes the payload as an `O` (whatever codec and compression wrote it).
    pub fn decode<O: DeserializeOwned>(&self) -> Result<O> {
        match &self.python {
            Some(doc) => doc.deserialize(),
            None => decode_payload(self.kind, self.payload, self.limit),
        }
    }
}

fn untagged(expected: &str, stored: String) -> Error {
    Error::Untagged {
        key: KeyContext::default(),
        expected: expected.to_owned(),
        stored,
    }
}

fn mismatch(expected: &str, found: &str) -> Error {
    Error::TypeMismatch {
        key: KeyContext::default(),
        expected: expected.to_owned(),
        found: found.to_owned(),
    }
}

/// Reads one older schema version of `T`. Built by `#[kv(migrate_from(N, path))]`.
pub struct Migration<T: 'static> {
    from: u32,
    run: fn(&Stored<'_>) -> Result<T>,
}

impl<T> Migration<T> {
    /// Reads values of version `from` with `run` (which typically calls [`Stored::decode`]
    /// and converts).
    pub const fn new(from: u32, run: fn(&Stored<'_>) -> Result<T>) -> Self {
        Migration { from, run }
    }

    /// The version this migration reads.
    pub const fn from(&self) -> u32 {
        self.from
    }
}

impl<T> std::fmt::Debug for Migration<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Decodes `stored` as an `Old` and converts it with `upgrade`; its error becomes an
/// [`Error::Migration`]. What `#[kv(migrate_from(N, upgrade))]` expands to.
pub fn migrate<T, Old, E>(
    stored: &Stored<'_>,
    upgrade: impl FnOnce(Old) -> Result<T, E>,
) -> Result<T>
where
    T: KvModel,
    Old: DeserializeOwned,
    E: Into<BoxError>,
{
    let old = stored.decode::<Old>()?;
    upgrade(old).map_err(|e| Error::Migration {
        key: KeyContext::default(),
        tag: T::TAG.to_owned(),
        from: stored.version,
        to: T::VERSION,
        source: e.into(),
    })
}

/// Reads a value already known to carry `T`'s tag: the current version, or a migration.
pub(super) fn read<T: KvModel>(stored: &Stored<'_>) -> Result<T> {
    if stored.version == T::VERSION || stored.is_kvdb_py() {
        return stored.decode();
    }
    match T::MIGRATIONS.iter().find(|m| m.from == stored.version) {
        Some(m) => (m.run)(stored),
        None => Err(Error::SchemaVersion {
            key: KeyContext::default(),
            tag: T::TAG.to_owned(),
            expected: T::VERSION,
            found: stored.version,
        }),
    }
}

/// Decodes stored bytes as a `T`, checking the tag and migrating older versions.
pub(crate) fn decode_model<T: KvModel>(bytes: &[u8], limit: usize) -> Result<T> {
    let stored = Stored::parse(bytes, limit, T::TAG)?;
    if stored.is_kvdb_py() {
        if !is_py_class::<T>(&stored.tag) {
            return Err(mismatch(py_class::<T>().name, &stored.tag));
        }
    } else if stored.tag != T::TAG {
        return Err(mismatch(T::TAG, &stored.tag));
    }
    read(&stored)
}

//! Reading stored models: the tag check, schema versions and migrations.

use serde::de::DeserializeOwned;

use super::KvModel;
use super::registry::{self, AnyModel};
use crate::error::{BoxError, Error, KeyContext, Result};
use crate::format::{StoredKind, decode_payload, split};

/// What `TypeMismatch` reports for a value that carries no type tag.
const UNTAGGED: &str = "<none>";

/// A stored model value whose header has been read and whose payload is not decoded yet:
/// what a [`Migration`] receives.
#[derive(Clone, Copy, Debug)]
pub struct Stored<'a> {
    kind: StoredKind<'a>,
    payload: &'a [u8],
    limit: usize,
    tag: &'a str,
    version: u32,
}

impl<'a> Stored<'a> {
    /// Splits `bytes`; errors unless they are a tagged kvdb value.
    fn parse(bytes: &'a [u8], limit: usize, expected: &str) -> Result<Self> {
        let (kind, payload) = split(bytes)?;
        match kind {
            StoredKind::Kvdb(h) => match h.tag {
                Some(tag) => Ok(Stored {
                    kind,
                    payload,
                    limit,
                    tag,
                    version: h.version,
                }),
                None => Err(mismatch(expected, UNTAGGED)),
            },
            _ => Err(mismatch(expected, UNTAGGED)),
        }
    }

    /// The stored type tag.
    pub fn tag(&self) -> &'a str {
        self.tag
    }

    /// The stored schema version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Decodes the payload as an `O` (whatever codec and compression wrote it).
    pub fn decode<O: DeserializeOwned>(&self) -> Result<O> {
        decode_payload(self.kind, self.payload, self.limit)
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
    if stored.version == T::VERSION {
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
    if stored.tag != T::TAG {
        return Err(mismatch(T::TAG, stored.tag));
    }
    read(&stored)
}

/// Decodes stored bytes as whatever registered model their tag names.
pub(crate) fn decode_any(bytes: &[u8], limit: usize) -> Result<AnyModel> {
    let stored = Stored::parse(bytes, limit, "<any registered model>")?;
    let reg = registry::lookup(stored.tag)?.ok_or_else(|| Error::UnknownTag {
        key: KeyContext::default(),
        tag: stored.tag.to_owned(),
    })?;
    reg.decode(&stored)
}

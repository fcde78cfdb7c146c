//! Every setting of a session, listed once: [`ConnectionSettings::settings`] and
//! [`Resolved::settings`] destructure their structs without `..`, so a new field does not
//! compile until it is listed here. `Resolved::differences` (a `SessionConflict`'s message)
//! and the `Debug` of [`ConnectionSettings`] read the list.

use super::resolve::{Limits, Resolved};
use super::*;

/// One setting of a session: its option name, how it shows (passwords as `***`) and a hash
/// of its value, which tells two values apart without showing them.
pub(crate) struct Setting {
    pub(crate) name: &'static str,
    pub(crate) shown: String,
    value: u64,
}

fn setting<T: std::hash::Hash>(name: &'static str, shown: String, value: &T) -> Setting {
    use std::hash::BuildHasher;
    // A fixed hasher: the two sides of a comparison must hash alike.
    let value =
        std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default()
            .hash_one(value);
    Setting { name, shown, value }
}

fn debug<T: std::hash::Hash + fmt::Debug>(name: &'static str, value: &T) -> Setting {
    setting(name, format!("{value:?}"), value)
}

fn secret(name: &'static str, value: &Option<Secret>) -> Setting {
    setting(
        name,
        if value.is_some() { "***" } else { "None" }.into(),
        value,
    )
}

impl ConnectionSettings {
    /// Every setting, once: the list `differences` and `Debug` read (the fingerprint is the
    /// derived `Eq`/`Hash`, which sees every field). The struct is destructured without `..`,
    /// so a new field does not compile until it is listed here.
    pub(crate) fn settings(&self) -> Vec<Setting> {
        let ConnectionSettings {
            addr,
            db,
            username,
            password,
            sentinel_username,
            sentinel_password,
            protocol,
            connect_timeout,
            response_timeout,
            pool_size,
            pool_timeout,
            client_name,
            tls,
            read_from_replicas,
            retry,
        } = self;
        vec![
            setting("url", self.to_string(), addr),
            debug("db_id", db),
            debug("username", username),
            secret("password", password),
            debug("sentinel_username", sentinel_username),
            secret("sentinel_password", sentinel_password),
            debug("protocol", protocol),
            debug("connect_timeout", connect_timeout),
            debug("response_timeout", response_timeout),
            setting("pool_size", pool_size.to_string(), pool_size),
            debug("pool_timeout", pool_timeout),
            debug("client_name", client_name),
            debug("tls", tls),
            setting(
                "read_from_replicas",
                read_from_replicas.to_string(),
                read_from_replicas,
            ),
            debug("retry", retry),
        ]
    }
}

impl Resolved {
    /// Every setting of the session, once (see [`ConnectionSettings::settings`]).
    fn settings(&self) -> Vec<Setting> {
        let Resolved {
            conn,
            encoder,
            limits,
        } = self;
        let Encoder {
            format,
            serializer,
            serializer_options,
            compression,
        } = encoder;
        let CompressionOptions {
            algorithm,
            level,
            min_size,
        } = compression;
        let Limits {
            max_value_size,
            max_decompressed_size,
        } = limits;
        let mut out = conn.settings();
        out.extend([
            debug("format", format),
            setting("serializer", serializer.to_string(), serializer),
            debug("serializer_options", serializer_options),
            setting("compression", algorithm.to_string(), algorithm),
            setting("compression_level", level.to_string(), level),
            setting("compression_min_size", min_size.to_string(), min_size),
            setting("max_value_size", max_value_size.to_string(), max_value_size),
            setting(
                "max_decompressed_size",
                max_decompressed_size.to_string(),
                max_decompressed_size,
            ),
        ]);
        out
    }

    /// The names and values (passwords as `***`) of the settings that differ.
    pub(crate) fn differences(&self, other: &Resolved) -> Vec<String> {
        self.settings()
            .into_iter()
            .zip(other.settings())
            .filter(|(a, b)| a.value != b.value)
            .map(|(a, b)| format!("{} ({} vs {})", a.name, a.shown, b.shown))
            .collect()
    }
}

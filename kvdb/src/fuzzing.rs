//! Entry points for `cargo fuzz` (the `fuzz/` directory) and property tests: pure functions
//! over untrusted input, with no I/O. Not a public API: hidden from the docs, may change.

use crate::options::SessionOptions;

/// What resolving a URL gave, as text: everything a user could see of it.
#[derive(Debug)]
pub struct Shown {
    /// `Display` of the resolved connection settings (the redacted URL), or of the error.
    pub display: String,
    /// `Debug` of the resolved settings and of the options, or of the error.
    pub debug: String,
    /// Whether the URL was accepted.
    pub ok: bool,
}

/// Resolves `url` exactly as [`KVDBClient::get_session`](crate::KVDBClient::get_session)
/// would with an empty environment, without connecting; returns what a user could see.
pub fn resolve_url(url: &str) -> Shown {
    let options = SessionOptions::new("fuzz").url(url);
    match options.resolve_with_env(&|_| None) {
        Ok(r) => Shown {
            display: r.conn.to_string(),
            debug: format!("{:?} {options:?}", r.conn),
            ok: true,
        },
        Err(e) => Shown {
            display: e.to_string(),
            debug: format!("{e:?} {options:?}"),
            ok: false,
        },
    }
}

/// Decodes stored bytes as a `T` as [`Session::get_model`](crate::Session::get_model) does:
/// the tag check, schema versions, migrations.
pub fn decode_model<T: crate::KvModel>(bytes: &[u8], limit: usize) -> crate::Result<T> {
    crate::model::decode_model(bytes, limit)
}

/// Decodes stored bytes as whatever registered model their tag names, as
/// [`Session::get_any`](crate::Session::get_any) does.
pub fn decode_any(bytes: &[u8], limit: usize) -> crate::Result<crate::AnyModel> {
    crate::model::decode_any(bytes, limit)
}

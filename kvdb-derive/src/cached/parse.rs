//! `#[kvdb::cached(...)]` arguments and the function → IR, checking only syntax: which
//! options, which kind of literal, each at most once. Every problem is recorded.

use syn::meta::ParseNestedMeta;
use syn::{Lit, LitBool, LitFloat, LitInt, LitStr};

use crate::parse::Errors;

/// The options as written.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) session: Option<LitStr>,
    pub(crate) ttl: Option<LitStr>,
    pub(crate) key: Option<LitStr>,
    pub(crate) namespace: Option<LitStr>,
    pub(crate) version: Option<LitInt>,
    pub(crate) negative_ttl: Option<LitStr>,
    pub(crate) error_ttl: Option<LitStr>,
    pub(crate) refresh_ahead: Option<LitStr>,
    pub(crate) lock_ttl: Option<LitStr>,
    pub(crate) wait: Option<LitStr>,
    pub(crate) jitter: Option<LitFloat>,
    pub(crate) disabled: Option<LitBool>,
    pub(crate) refresh_inline: Option<LitBool>,
}

const OPTIONS: &str = "session, ttl, key, namespace, version, negative_ttl, error_ttl, \
                       refresh_ahead, refresh_inline, lock_ttl, wait, jitter, disabled";

/// Parses the attribute's arguments.
pub(crate) fn args(tokens: proc_macro2::TokenStream, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    let parser = syn::meta::parser(|meta| {
        option(&meta, &mut args, errors);
        Ok(())
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, tokens) {
        errors.push(e);
    }
    args
}

fn option(meta: &ParseNestedMeta<'_>, args: &mut Args, errors: &mut Errors) {
    let Some(name) = meta.path.get_ident().map(ToString::to_string) else {
        errors.spanned(
            &meta.path,
            format!("unknown option; the options are: {OPTIONS}"),
        );
        return;
    };
    let lit: Lit = match meta.value().and_then(|v| v.parse()) {
        Ok(lit) => lit,
        Err(e) => {
            errors.push(e);
            return;
        }
    };
    // Each branch: `name = "text"` (or a number / bool where said), at most once.
    macro_rules! set {
        ($field:ident, $kind:ident, $what:literal) => {{
            let Lit::$kind(v) = lit else {
                errors.spanned(&lit, format!("`{name}` takes {}", $what));
                return;
            };
            if args.$field.is_some() {
                errors.spanned(&meta.path, format!("`{name}` is given twice"));
                return;
            }
            args.$field = Some(v);
        }};
    }
    match name.as_str() {
        // session = "app"
        "session" => set!(session, Str, "a session name in quotes"),
        // ttl = "10m"
        "ttl" => set!(ttl, Str, "a duration in quotes, like \"10m\""),
        // key = "user:{id}"
        "key" => set!(key, Str, "a key template in quotes, like \"user:{id}\""),
        // namespace = "users"
        "namespace" => set!(namespace, Str, "a name in quotes"),
        // version = 2
        "version" => set!(version, Int, "an integer, like 2"),
        // negative_ttl = "30s"
        "negative_ttl" => set!(negative_ttl, Str, "a duration in quotes, like \"30s\""),
        // error_ttl = "30s"
        "error_ttl" => set!(error_ttl, Str, "a duration in quotes, like \"30s\""),
        // refresh_ahead = "1m"
        "refresh_ahead" => set!(refresh_ahead, Str, "a duration in quotes, like \"1m\""),
        // refresh_inline = true
        "refresh_inline" => set!(refresh_inline, Bool, "true or false"),
        // lock_ttl = "30s"
        "lock_ttl" => set!(lock_ttl, Str, "a duration in quotes, like \"30s\""),
        // wait = "10s"
        "wait" => set!(wait, Str, "a duration in quotes, like \"10s\""),
        // jitter = 0.1
        "jitter" => set!(jitter, Float, "a fraction, like 0.1"),
        // disabled = true
        "disabled" => set!(disabled, Bool, "true or false"),
        _ => errors.spanned(
            &meta.path,
            format!("unknown option `{name}`; the options are: {OPTIONS}"),
        ),
    }
}

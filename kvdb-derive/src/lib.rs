//! `#[derive(KvModel)]` for kvdb. Use it through `kvdb::KvModel` (the trait and the derive
//! share the name, like serde's); the attributes are documented in `kvdb::model`.
//!
//! The crate is split by stage: `parse` reads the attributes into an IR, `validate` checks
//! it and computes what the impl says, `generate` writes the tokens. Every error is collected
//! and reported at once, each at the attribute, field or type it is about; after an error a
//! stub impl is still emitted, so the user's uses of the type do not add errors of their own.

mod cached;
mod generate;
mod parse;
mod rules;
mod validate;

use proc_macro::TokenStream;

/// Implements `kvdb::KvModel`; see `kvdb::model` for the `#[kv(...)]` attributes.
#[proc_macro_derive(KvModel, attributes(kv))]
pub fn derive_kv_model(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let mut errors = parse::Errors::default();
    let parsed = parse::parse(&input, &mut errors);
    match validate::validate(&parsed, &mut errors) {
        Some(plan) => generate::generate(&plan),
        None => {
            let mut out = errors
                .into_error()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
            out.extend(generate::stub(&parsed));
            out
        }
    }
    .into()
}

/// Caches a function's result in Redis (cache-aside with single flight); see `kvdb::cached`.
#[proc_macro_attribute]
pub fn cached(args: TokenStream, item: TokenStream) -> TokenStream {
    cached::expand(args.into(), item.into()).into()
}

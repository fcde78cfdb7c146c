//! `#[kvdb::cached(...)]`: `parse` reads the options, `validate` checks them against the
//! function and plans the call, `generate` writes the function back around a call of the
//! runtime (`kvdb::__private::call*`). On an error the function is emitted unchanged next to
//! the errors, so its callers do not add errors of their own.

mod generate;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::parse::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let parsed = parse::args(args, &mut errors);
    let func: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            let e = syn::Error::new(
                e.span(),
                "#[kvdb::cached] goes on a function or a method (sync or async)",
            );
            let mut out = e.to_compile_error();
            out.extend(item);
            return out;
        }
    };
    match validate::validate(&parsed, &func, &mut errors) {
        Some(plan) => generate::generate(&plan),
        None => {
            let mut out = errors
                .into_error()
                .map(|e| e.to_compile_error())
                .unwrap_or_default();
            out.extend(quote::quote!(#func));
            out
        }
    }
}

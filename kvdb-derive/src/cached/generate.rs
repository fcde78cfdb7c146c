//! Plan → tokens: the function, its signature unchanged, whose body declares a
//! `kvdb::__private::CachedFn` and hands the key and the original body (as a closure) to the
//! runtime. No logic of its own.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ReturnType;

use super::validate::{Call, KeyPlan, Plan, Seg};

fn opt(v: Option<u64>) -> TokenStream {
    match v {
        Some(n) => quote!(::kvdb::__private::Option::Some(#n)),
        None => quote!(::kvdb::__private::Option::None),
    }
}

pub(crate) fn generate(plan: &Plan<'_>) -> TokenStream {
    let item = plan.item;
    let (attrs, vis, sig, block) = (&item.attrs, &item.vis, &item.sig, &item.block);
    let spec = syn::Ident::new("__KVDB_CACHED", Span::mixed_site());
    let key = syn::Ident::new("__kvdb_key", Span::mixed_site());
    let session = &plan.session;
    let function = sig.ident.to_string();
    let namespace = match &plan.namespace {
        Some(ns) => quote!(::kvdb::__private::Option::Some(#ns)),
        None => quote!(::kvdb::__private::Option::None),
    };
    let version = plan.version;
    let (ttl, jitter, disabled) = (plan.ttl_ms, plan.jitter, plan.disabled);
    let negative = opt(plan.negative_ttl_ms);
    let error = opt(plan.error_ttl_ms);
    let refresh = opt(plan.refresh_ahead_ms);
    let lock = opt(plan.lock_ttl_ms);
    let wait = opt(plan.wait_ms);
    let (template, parts, args) = match &plan.key {
        KeyPlan::Template(segs, parts) => {
            let segs = segs.iter().map(|s| match s {
                Seg::Lit(t) => quote!(::kvdb::__private::Segment::Lit(#t)),
                Seg::Part => quote!(::kvdb::__private::Segment::Part),
            });
            (
                quote!(::kvdb::__private::Option::Some(::kvdb::__private::KeySchema::new(&[#(#segs),*]))),
                quote!(#(#parts),*),
                quote!(&()),
            )
        }
        KeyPlan::Hash(names) if names.is_empty() => (
            quote!(::kvdb::__private::Option::None),
            quote!(),
            quote!(&[(); 0]),
        ),
        KeyPlan::Hash(names) => (
            quote!(::kvdb::__private::Option::None),
            quote!(),
            quote!(&(#(&#names,)*)),
        ),
    };
    let ret = match &sig.output {
        ReturnType::Type(_, ty) => quote!(#ty),
        ReturnType::Default => quote!(()),
    };
    let owned = if plan.background { "_owned" } else { "" };
    let name = |base: &str| syn::Ident::new(&format!("{base}{owned}"), Span::call_site());
    let run = match (&plan.call, sig.asyncness.is_some()) {
        (Call::Value, false) => {
            let call = name("call");
            quote!(::kvdb::__private::#call(&#spec, #key, move || -> #ret #block))
        }
        (Call::OkOnly, false) => {
            let call = name("call_result");
            quote!(::kvdb::__private::#call(&#spec, #key, move || -> #ret #block))
        }
        (Call::Value, true) => {
            let call = name("call_async");
            quote!(
                ::kvdb::__private::#call(&#spec, #key, move || {
                    ::kvdb::__private::typed::<#ret, _>(async move #block)
                }).await
            )
        }
        (Call::OkOnly, true) => {
            let call = name("call_result_async");
            quote!(
                ::kvdb::__private::#call(&#spec, #key, move || {
                    ::kvdb::__private::typed::<#ret, _>(async move #block)
                }).await
            )
        }
    };
    quote! {
        #(#attrs)*
        #vis #sig {
            static #spec: ::kvdb::__private::CachedFn = ::kvdb::__private::CachedFn {
                session: #session,
                module: ::kvdb::__private::module_path!(),
                function: #function,
                namespace: #namespace,
                version: #version,
                template: #template,
                ttl_ms: #ttl,
                negative_ttl_ms: #negative,
                error_ttl_ms: #error,
                refresh_ahead_ms: #refresh,
                lock_ttl_ms: #lock,
                wait_ms: #wait,
                jitter: #jitter,
                disabled: #disabled,
                options: ::kvdb::__private::OnceLock::new(),
            };
            let #key = #spec.key(&[#parts], #args);
            #run
        }
    }
}

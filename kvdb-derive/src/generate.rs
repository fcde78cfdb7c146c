//! IR → tokens. The generated impl holds no logic: constants, the key fields handed to a
//! visitor, and a registration, all through `kvdb::__private`.

use proc_macro2::TokenStream;
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Index, Member};

use crate::parse::{Input, Shape};
use crate::validate::{Plan, Seg, krate, placeholder};

/// The `KvModel` impl and the registration of a checked model.
pub(crate) fn generate(plan: &Plan<'_>) -> TokenStream {
    // The impl names the type with the derive's span: an unmet supertrait bound (a missing
    // `Serialize`) is then reported once, at `KvModel` in the derive list.
    let mut ident = plan.ident.clone();
    ident.set_span(proc_macro2::Span::call_site());
    let ident = &ident;
    let krate = &plan.krate;
    let p = quote!(#krate::__private);
    let key_ty = key_type(&plan.key.iter().map(|f| &f.ty).collect::<Vec<_>>());
    let (tag, version) = (&plan.tag, plan.version);
    let segments = plan.segments.iter().map(|s| match s {
        Seg::Lit(text) => quote!(#p::Segment::Lit(#text)),
        Seg::Part => quote!(#p::Segment::Part),
        Seg::HashTagged => quote!(#p::Segment::HashTagged),
    });
    let ttl = match plan.ttl {
        Some(secs) => quote!(#p::Option::Some(#p::Duration::from_secs(#secs))),
        None => quote!(#p::Option::None),
    };
    let migrations = plan.migrations.iter().map(|(from, path)| {
        // `Self` is named, so a function of the wrong type is reported at its path.
        quote_spanned!(path.span()=> #p::Migration::new(#from, |stored| #p::migrate::<Self, _, _>(stored, #path)))
    });
    // Each key part is spanned at its field's type, so a type that is not a `KeyPart` is
    // reported there.
    let self_parts = plan.key.iter().map(|f| {
        let span = f.ty.span();
        let member = match &f.member {
            Member::Named(id) => {
                let mut id = id.clone();
                id.set_span(span);
                Member::Named(id)
            }
            Member::Unnamed(i) => Member::Unnamed(Index {
                index: i.index,
                span,
            }),
        };
        quote_spanned!(span=> &self.#member)
    });
    let visitor = quote!(&mut dyn ::core::ops::FnMut(&[&dyn #p::KeyPart]));
    let python = &plan.python;
    let python_kind = if plan.dataclass {
        quote!(#p::PyKind::Dataclass)
    } else {
        quote!(#p::PyKind::Pydantic)
    };
    quote! {
        #[automatically_derived]
        impl #p::KvModel for #ident {
            type Key = #key_ty;
            const TAG: &'static #p::str = #tag;
            const VERSION: #p::u32 = #version;
            const PYTHON: &'static [&'static #p::str] = &[#(#python),*];
            const PYTHON_KIND: #p::PyKind = #python_kind;
            const KEY_SCHEMA: #p::KeySchema = #p::KeySchema::new(&[#(#segments),*]);
            const TTL: #p::Option<#p::Duration> = #ttl;
            const MIGRATIONS: &'static [#p::Migration<Self>] = &[#(#migrations),*];
            fn visit_key(&self, f: #visitor) {
                f(&[#(#self_parts),*])
            }
        }
        #p::inventory::submit! { #p::Registration::of::<#ident>() }
    }
}

/// An impl that compiles whatever the attributes said, emitted next to the errors so that
/// uses of the type (`get_model::<T>`) do not add errors of their own.
pub(crate) fn stub(input: &Input) -> TokenStream {
    let fields = match &input.shape {
        _ if !input.generics.params.is_empty() => return TokenStream::new(),
        Shape::Union(_) => return TokenStream::new(),
        Shape::Struct(fields) => fields.as_slice(),
        Shape::Enum => &[],
    };
    let ident = &input.ident;
    let krate = krate(&input.attrs);
    let p = quote!(#krate::__private);
    // The key fields as the valid part of the attributes name them: the template's
    // placeholders in order, else the `#[kv(key)]` fields.
    let key: Vec<&syn::Type> = match &input.attrs.template {
        Some(template) => template
            .value()
            .split(':')
            .filter_map(placeholder)
            .filter_map(|name| fields.iter().find(|f| f.name == name))
            .map(|f| &f.ty)
            .collect(),
        None => fields
            .iter()
            .filter(|f| f.key.is_some())
            .map(|f| &f.ty)
            .collect(),
    };
    let key_ty = key_type(&key);
    let visitor = quote!(&mut dyn ::core::ops::FnMut(&[&dyn #p::KeyPart]));
    quote! {
        #[automatically_derived]
        impl #p::KvModel for #ident {
            type Key = #key_ty;
            const TAG: &'static #p::str = "";
            const KEY_SCHEMA: #p::KeySchema = #p::KeySchema::new(&[]);
            fn visit_key(&self, _: #visitor) {}
        }
    }
}

/// `()`, the one type, or a tuple of them.
fn key_type(tys: &[&syn::Type]) -> TokenStream {
    match tys {
        [one] => one.to_token_stream(),
        _ => quote!((#(#tys,)*)),
    }
}

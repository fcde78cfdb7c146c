//! IR → plan: checks the options' values (durations, the jitter, the key template against the
//! function's arguments) and decides what the generated code calls.

use proc_macro2::TokenStream;
use quote::quote;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, LitStr, Pat, ReturnType, Type};

use super::parse::Args;
use crate::parse::Errors;
use crate::rules;

/// One segment of the key template.
pub(crate) enum Seg {
    Lit(String),
    Part,
}

/// How the key of a call is made.
pub(crate) enum KeyPlan {
    /// The template's segments and, for each placeholder, the expression of its value.
    Template(Vec<Seg>, Vec<TokenStream>),
    /// The hash of these arguments.
    Hash(Vec<syn::Ident>),
}

/// Which runtime function runs the body.
pub(crate) enum Call {
    /// Any value, cached whole.
    Value,
    /// A `Result`: only `Ok` is cached.
    OkOnly,
}

pub(crate) struct Plan<'a> {
    pub(crate) item: &'a ItemFn,
    pub(crate) session: String,
    pub(crate) namespace: Option<String>,
    pub(crate) version: u32,
    pub(crate) ttl_ms: u64,
    pub(crate) negative_ttl_ms: Option<u64>,
    pub(crate) error_ttl_ms: Option<u64>,
    pub(crate) refresh_ahead_ms: Option<u64>,
    pub(crate) lock_ttl_ms: Option<u64>,
    pub(crate) wait_ms: Option<u64>,
    pub(crate) jitter: f64,
    pub(crate) disabled: bool,
    pub(crate) key: KeyPlan,
    pub(crate) call: Call,
    /// Whether a due refresh runs in the background: `refresh_ahead` is set, not
    /// `refresh_inline`, and the body owns everything it uses (see [`owned`]).
    pub(crate) background: bool,
}

fn millis(lit: &Option<LitStr>, name: &str, errors: &mut Errors) -> Option<u64> {
    let lit = lit.as_ref()?;
    match rules::ttl_seconds(&lit.value()) {
        Ok(s) => Some(s.saturating_mul(1000)),
        Err(e) => {
            errors.spanned(lit, format!("invalid `{name}`: {e}"));
            None
        }
    }
}

/// Whether `ty` is written as a `Result` (`Result<T, E>`, `io::Result<T>`, `anyhow::Result<T>`).
fn is_result(ty: &Type) -> bool {
    matches!(ty, Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "Result"))
}

pub(crate) fn validate<'a>(args: &Args, item: &'a ItemFn, errors: &mut Errors) -> Option<Plan<'a>> {
    let sig = &item.sig;
    if let Some(c) = &sig.constness {
        errors.spanned(
            c,
            "#[kvdb::cached] cannot go on a `const fn`: caching needs I/O",
        );
    }
    let returns = match &sig.output {
        ReturnType::Type(_, ty) if !matches!(&**ty, Type::Tuple(t) if t.elems.is_empty()) => {
            Some(ty)
        }
        _ => None,
    };
    if returns.is_none() {
        errors.spanned(
            &sig.ident,
            "a cached function must return the value to cache; this one returns `()`",
        );
    }
    let session = match &args.session {
        Some(s) if s.value().is_empty() => {
            errors.spanned(s, "`session` must name a session");
            String::new()
        }
        Some(s) => s.value(),
        None => "default".to_owned(),
    };
    let version = match &args.version {
        Some(v) => match v.base10_parse::<u32>() {
            Ok(n) if n >= 1 => n,
            _ => {
                errors.spanned(v, "`version` is a whole number from 1");
                1
            }
        },
        None => 1,
    };
    let jitter = match &args.jitter {
        Some(j) => match j.base10_parse::<f64>() {
            Ok(f) if (0.0..=1.0).contains(&f) => f,
            _ => {
                errors.spanned(j, "`jitter` is a fraction from 0 to 1, like 0.1");
                0.0
            }
        },
        None => 0.0,
    };
    let ttl_ms = millis(&args.ttl, "ttl", errors).unwrap_or(600_000);
    let negative_ttl_ms = millis(&args.negative_ttl, "negative_ttl", errors);
    let error_ttl_ms = millis(&args.error_ttl, "error_ttl", errors);
    let refresh_ahead_ms = millis(&args.refresh_ahead, "refresh_ahead", errors);
    let lock_ttl_ms = millis(&args.lock_ttl, "lock_ttl", errors);
    let wait_ms = millis(&args.wait, "wait", errors);
    let key = match &args.key {
        Some(t) => template(t, item, errors),
        None => hashed(item, errors),
    };
    let call = match returns {
        Some(ty) if is_result(ty) && error_ttl_ms.is_none() => Call::OkOnly,
        _ => Call::Value,
    };
    let background = refresh_ahead_ms.is_some()
        && !args.refresh_inline.as_ref().is_some_and(|b| b.value)
        && owned(item);
    if !errors.is_empty() {
        return None;
    }
    Some(Plan {
        item,
        session,
        namespace: args.namespace.as_ref().map(LitStr::value),
        version,
        ttl_ms,
        negative_ttl_ms,
        error_ttl_ms,
        refresh_ahead_ms,
        lock_ttl_ms,
        wait_ms,
        jitter,
        disabled: args.disabled.as_ref().is_some_and(|b| b.value),
        key: key?,
        call,
        background,
    })
}

/// Whether the function's body can move to a background thread or task as it is: no
/// receiver, no generics, and no argument or return type that borrows (`&` other than
/// `&'static`, a lifetime other than `'static`, `impl`, `dyn`, `Self`). Its types must then
/// also be `Send`, which the compiler checks (`refresh_inline = true` opts out).
fn owned(item: &ItemFn) -> bool {
    let sig = &item.sig;
    let types = sig.inputs.iter().map(|a| match a {
        FnArg::Typed(t) => Some(&*t.ty),
        FnArg::Receiver(_) => None,
    });
    let ret = match &sig.output {
        ReturnType::Type(_, ty) => Some(&**ty),
        ReturnType::Default => None,
    };
    sig.generics.params.is_empty()
        && types
            .chain(ret.map(Some))
            .all(|t| t.is_some_and(|t| static_tokens(quote!(#t))))
}

fn static_tokens(tokens: TokenStream) -> bool {
    use proc_macro2::TokenTree;
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let is_static = |i: usize| {
        matches!(tokens.get(i), Some(TokenTree::Punct(p)) if p.as_char() == '\'')
            && matches!(tokens.get(i + 1), Some(TokenTree::Ident(id)) if id == "static")
    };
    tokens.iter().enumerate().all(|(i, t)| match t {
        TokenTree::Punct(p) if p.as_char() == '&' => is_static(i + 1),
        TokenTree::Punct(p) if p.as_char() == '\'' => is_static(i),
        TokenTree::Ident(id) => id != "impl" && id != "dyn" && id != "Self",
        TokenTree::Group(g) => static_tokens(g.stream()),
        _ => true,
    })
}

/// The plain argument names of the function (`None` for a receiver).
fn arg_names(item: &ItemFn) -> Vec<Option<&syn::Ident>> {
    item.sig
        .inputs
        .iter()
        .map(|a| match a {
            FnArg::Typed(t) => match &*t.pat {
                Pat::Ident(p) => Some(&p.ident),
                _ => None,
            },
            FnArg::Receiver(_) => None,
        })
        .collect()
}

fn has_receiver(item: &ItemFn) -> bool {
    matches!(item.sig.inputs.first(), Some(FnArg::Receiver(_)))
}

fn hashed(item: &ItemFn, errors: &mut Errors) -> Option<KeyPlan> {
    if let Some(FnArg::Receiver(r)) = item.sig.inputs.first() {
        errors.spanned(
            r,
            "a cached method needs a key template: `self` is not hashed into the key \
             (write e.g. key = \"{self.id}:{arg}\")",
        );
        return None;
    }
    let mut names = Vec::new();
    for (arg, name) in item.sig.inputs.iter().zip(arg_names(item)) {
        match name {
            Some(n) => names.push(n.clone()),
            None => errors.spanned(
                arg,
                "without a key template every argument must be a plain name, to be hashed \
                 into the key; give this one a name or write a key template",
            ),
        }
    }
    Some(KeyPlan::Hash(names))
}

fn template(lit: &LitStr, item: &ItemFn, errors: &mut Errors) -> Option<KeyPlan> {
    let text = lit.value();
    if text.is_empty() {
        errors.spanned(lit, "the key template must not be empty");
        return None;
    }
    let names: Vec<String> = arg_names(item)
        .into_iter()
        .flatten()
        .map(ToString::to_string)
        .collect();
    let (mut segs, mut parts) = (Vec::new(), Vec::new());
    for seg in text.split(':') {
        if !seg.contains(['{', '}']) {
            if let Err(e) = rules::validate_key_text(seg) {
                errors.spanned(lit, format!("invalid key template: {e}"));
            }
            match segs.last_mut() {
                Some(Seg::Lit(prev)) => {
                    prev.push(':');
                    prev.push_str(seg);
                }
                _ => segs.push(Seg::Lit(seg.to_owned())),
            }
            continue;
        }
        let name = seg
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .filter(|n| !n.is_empty() && !n.contains(['{', '}']));
        let Some(name) = name else {
            errors.spanned(
                lit,
                format!(
                    "invalid key template: a placeholder must be a whole `:`-separated segment, \
                     like `user:{{id}}` ({seg:?} is not)"
                ),
            );
            continue;
        };
        match name.split_once('.') {
            Some(("self", fields)) if has_receiver(item) => {
                let fields: Vec<syn::Ident> = fields
                    .split('.')
                    .filter_map(|f| syn::parse_str::<syn::Ident>(f).ok())
                    .collect();
                parts.push(quote!(&self #(.#fields)*));
            }
            _ if names.iter().any(|n| n == name) => {
                let ident = syn::Ident::new(name, lit.span());
                parts.push(quote!(&#ident));
            }
            _ => {
                let known = if names.is_empty() {
                    "none".to_owned()
                } else {
                    names.join(", ")
                };
                errors.spanned(
                    lit,
                    format!(
                        "the key template names `{{{name}}}`, which is not an argument of `{}` \
                         (its arguments: {known}{})",
                        item.sig.ident,
                        if has_receiver(item) {
                            "; and `self.<field>`"
                        } else {
                            ""
                        }
                    ),
                );
                continue;
            }
        }
        segs.push(Seg::Part);
    }
    let _ = item.span();
    Some(KeyPlan::Template(segs, parts))
}

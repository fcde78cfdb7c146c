//! Attributes → IR: reads `#[kv(...)]` on the type and its fields, checking only syntax
//! (which attributes, which kind of literal). Every problem is recorded and parsing goes on,
//! so all errors are reported at once.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, Expr, Fields, Ident, Lit, LitInt, LitStr, Member, Path, Token,
    Type,
};

/// Accumulated compile errors.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn at(&mut self, span: Span, msg: impl std::fmt::Display) {
        self.push(syn::Error::new(span, msg));
    }

    /// An error covering all of `tokens` (a range, on stable too).
    pub(crate) fn spanned(&mut self, tokens: impl quote::ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    pub(crate) fn into_error(self) -> Option<syn::Error> {
        self.0
    }
}

/// The derive input, as far as the model is concerned.
pub(crate) struct Input {
    pub(crate) ident: Ident,
    pub(crate) generics: syn::Generics,
    pub(crate) shape: Shape,
    pub(crate) attrs: Attrs,
}

pub(crate) enum Shape {
    /// Named, tuple or unit struct.
    Struct(Vec<Field>),
    Enum,
    Union(Span),
}

pub(crate) struct Field {
    pub(crate) member: Member,
    /// The field's name, or its index for tuple structs.
    pub(crate) name: String,
    pub(crate) ty: Type,
    /// Where `#[kv(key)]` is, if the field has it.
    pub(crate) key: Option<Span>,
}

/// The container attributes, each with the span of what the user wrote.
#[derive(Default)]
pub(crate) struct Attrs {
    pub(crate) tag: Option<LitStr>,
    pub(crate) version: Option<LitInt>,
    pub(crate) prefix: Option<LitStr>,
    pub(crate) template: Option<LitStr>,
    pub(crate) hash_tag: Option<LitStr>,
    pub(crate) ttl: Option<Lit>,
    pub(crate) krate: Option<Path>,
    pub(crate) migrations: Vec<(LitInt, Path)>,
    /// `python = "models.User"`, repeatable.
    pub(crate) python: Vec<LitStr>,
    pub(crate) python_kind: Option<LitStr>,
    /// `#[kv(key)]` written on the type (already reported).
    pub(crate) misplaced_key: bool,
}

const CONTAINER_ATTRS: &str =
    "tag, version, prefix, key, hash_tag, ttl, migrate_from, python, python_kind, crate";

pub(crate) fn parse(input: &DeriveInput, errors: &mut Errors) -> Input {
    let mut attrs = Attrs::default();
    for attr in kv_attrs(&input.attrs) {
        let r = attr.parse_nested_meta(|meta| container_attr(&meta, &mut attrs, errors));
        if let Err(e) = r {
            errors.push(e);
        }
    }
    let shape = match &input.data {
        Data::Struct(s) => Shape::Struct(fields(&s.fields, errors)),
        Data::Enum(e) => {
            for v in &e.variants {
                let inner = v.fields.iter().flat_map(|f| kv_attrs(&f.attrs));
                for attr in kv_attrs(&v.attrs).chain(inner) {
                    errors.spanned(
                        attr,
                        "`#[kv(...)]` is not supported inside an enum: an enum model is a \
                         singleton, keyed by a template on the enum, like `#[kv(key = \"app:state\")]`",
                    );
                }
            }
            Shape::Enum
        }
        Data::Union(u) => Shape::Union(u.union_token.span),
    };
    Input {
        ident: input.ident.clone(),
        generics: input.generics.clone(),
        shape,
        attrs,
    }
}

fn kv_attrs(attrs: &[Attribute]) -> impl Iterator<Item = &Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("kv"))
}

fn fields(fields: &Fields, errors: &mut Errors) -> Vec<Field> {
    let mut out = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        let (member, name) = match &f.ident {
            Some(id) => (Member::Named(id.clone()), unraw(id)),
            None => (Member::Unnamed(i.into()), i.to_string()),
        };
        let mut key = None;
        for attr in kv_attrs(&f.attrs) {
            let r = attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("key") {
                    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
                        errors.at(
                            meta.path.span(),
                            "on a field, `key` takes no value: write `#[kv(key)]` (a key \
                             template goes on the type: `#[kv(key = \"users:{id}\")]`)",
                        );
                        // Still a key field, so no "needs a key" error follows from this one.
                        key = Some(meta.path.span());
                        return skip_value(&meta);
                    }
                    if key.is_some() {
                        errors.at(meta.path.span(), "duplicate `key` attribute");
                    }
                    key = Some(meta.path.span());
                    Ok(())
                } else {
                    errors.at(
                        meta.path.span(),
                        format!(
                            "unknown kvdb field attribute `{}`; the only field attribute is `key`",
                            path_name(&meta.path)
                        ),
                    );
                    skip_value(&meta)
                }
            });
            if let Err(e) = r {
                errors.push(e);
            }
        }
        out.push(Field {
            member,
            name,
            ty: f.ty.clone(),
            key,
        });
    }
    out
}

fn container_attr(
    meta: &ParseNestedMeta<'_>,
    attrs: &mut Attrs,
    errors: &mut Errors,
) -> syn::Result<()> {
    let name = path_name(&meta.path);
    let span = meta.path.span();
    match name.as_str() {
        "tag" => {
            let v = string(meta, &name, "tag = \"users.User\"", errors)?;
            set_once(&mut attrs.tag, v, &name, span, errors);
        }
        "prefix" => {
            let v = string(meta, &name, "prefix = \"users\"", errors)?;
            set_once(&mut attrs.prefix, v, &name, span, errors);
        }
        "key" => {
            if !meta.input.peek(Token![=]) {
                errors.at(
                    span,
                    "on the type, `key` takes a template, like `#[kv(key = \"org:{org}:user:{id}\")]`; \
                     to mark a key field, put `#[kv(key)]` on the field",
                );
                attrs.misplaced_key = true;
                return skip_value(meta);
            }
            let v = string(meta, &name, "key = \"users:{id}\"", errors)?;
            set_once(&mut attrs.template, v, &name, span, errors);
        }
        "hash_tag" => {
            let v = string(meta, &name, "hash_tag = \"{org_id}\"", errors)?;
            set_once(&mut attrs.hash_tag, v, &name, span, errors);
        }
        "version" => {
            let v = match literal(meta)? {
                Some(Lit::Int(i)) => Some(i),
                other => {
                    errors.at(
                        value_span(&other, span),
                        "`version` must be an integer, like `version = 2`",
                    );
                    None
                }
            };
            set_once(&mut attrs.version, v, &name, span, errors);
        }
        "ttl" => {
            let v = match literal(meta)? {
                Some(l @ (Lit::Str(_) | Lit::Int(_))) => Some(l),
                other => {
                    errors.at(
                        value_span(&other, span),
                        "`ttl` must be a duration string like `ttl = \"1h30m\"` (units d, h, m, s) \
                         or a number of seconds like `ttl = 3600`",
                    );
                    None
                }
            };
            set_once(&mut attrs.ttl, v, &name, span, errors);
        }
        "crate" => {
            let v = string(meta, &name, "crate = \"my_crate::kvdb\"", errors)?;
            let path = v.and_then(|lit| match lit.parse::<Path>() {
                Ok(p) => Some(p),
                Err(_) => {
                    errors.at(lit.span(), format!("`crate` must be a path, like `crate = \"my_crate::kvdb\"`; {:?} is not one", lit.value()));
                    None
                }
            });
            set_once(&mut attrs.krate, path, &name, span, errors);
        }
        "python" => {
            if let Some(v) = string(meta, &name, "python = \"models.User\"", errors)? {
                attrs.python.push(v);
            }
        }
        "python_kind" => {
            let v = string(meta, &name, "python_kind = \"dataclass\"", errors)?;
            set_once(&mut attrs.python_kind, v, &name, span, errors);
        }
        "migrate_from" => {
            let content;
            syn::parenthesized!(content in meta.input);
            let parsed = (|| -> syn::Result<(LitInt, Path)> {
                let from: LitInt = content.parse()?;
                content.parse::<Token![,]>()?;
                let func: Path = content.parse()?;
                let _ = content.parse::<Option<Token![,]>>()?;
                if !content.is_empty() {
                    return Err(content.error("expected `migrate_from(VERSION, path::to_fn)`"));
                }
                Ok((from, func))
            })();
            match parsed {
                Ok(migration) => attrs.migrations.push(migration),
                // The parentheses are consumed: report, and go on with the next attribute.
                Err(e) => errors.push(e),
            }
        }
        _ => {
            errors.at(
                span,
                format!("unknown kvdb attribute `{name}`; expected one of: {CONTAINER_ATTRS}"),
            );
            skip_value(meta)?;
        }
    }
    Ok(())
}

fn set_once<T>(
    slot: &mut Option<T>,
    value: Option<T>,
    name: &str,
    span: Span,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.at(span, format!("duplicate `{name}` attribute"));
    } else if value.is_some() {
        *slot = value;
    }
}

/// The `= value` of an attribute as a literal; `None` (and nothing consumed past the value)
/// for any other expression.
fn literal(meta: &ParseNestedMeta<'_>) -> syn::Result<Option<Lit>> {
    let expr: Expr = meta.value()?.parse()?;
    Ok(match expr {
        Expr::Lit(l) => Some(l.lit),
        _ => None,
    })
}

fn value_span(lit: &Option<Lit>, fallback: Span) -> Span {
    lit.as_ref().map_or(fallback, |l| l.span())
}

fn string(
    meta: &ParseNestedMeta<'_>,
    name: &str,
    example: &str,
    errors: &mut Errors,
) -> syn::Result<Option<LitStr>> {
    let lit = literal(meta)?;
    Ok(match lit {
        Some(Lit::Str(s)) => Some(s),
        other => {
            errors.at(
                value_span(&other, meta.path.span()),
                format!("`{name}` must be a string literal, like `{example}`"),
            );
            None
        }
    })
}

/// Consumes what follows an unknown attribute name (`= expr` or `(...)`), so parsing goes on.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<proc_macro2::TokenStream>()?;
    }
    Ok(())
}

fn path_name(path: &Path) -> String {
    match path.get_ident() {
        Some(id) => unraw(id),
        None => quote::ToTokens::to_token_stream(path)
            .to_string()
            .replace(' ', ""),
    }
}

/// An identifier's name without `r#`.
pub(crate) fn unraw(id: &Ident) -> String {
    let s = id.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}

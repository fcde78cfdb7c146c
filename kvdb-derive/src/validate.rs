//! Checks → errors: turns the parsed attributes into a [`Plan`] (everything the generated code
//! needs, already computed), or records why not, pointing at the offending attribute, field or
//! type.

use proc_macro2::Span;
use syn::{Ident, LitInt, LitStr, Path};

use crate::parse::{Attrs, Errors, Field, Input, Shape, unraw};
use crate::rules;

/// What the generated impl says, checked.
pub(crate) struct Plan<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) krate: Path,
    pub(crate) tag: String,
    pub(crate) version: u32,
    pub(crate) segments: Vec<Seg>,
    /// The key fields, in key order.
    pub(crate) key: Vec<&'a Field>,
    pub(crate) ttl: Option<u64>,
    pub(crate) migrations: Vec<(u32, &'a Path)>,
    /// Python class names, first written.
    pub(crate) python: Vec<String>,
    pub(crate) dataclass: bool,
}

/// A key schema segment (`kvdb::model::Segment`).
pub(crate) enum Seg {
    Lit(String),
    Part,
    HashTagged,
}

/// The crate path the generated code uses.
pub(crate) fn krate(attrs: &Attrs) -> Path {
    attrs
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::kvdb))
}

/// The plan, if the input has no error (including those found while parsing).
pub(crate) fn validate<'a>(input: &'a Input, errors: &mut Errors) -> Option<Plan<'a>> {
    let a = &input.attrs;
    let fields: &[Field] = match &input.shape {
        Shape::Struct(f) => f,
        Shape::Enum => &[],
        Shape::Union(span) => {
            errors.at(
                *span,
                "`#[derive(KvModel)]` does not support unions (serde cannot store them); use a \
                 struct or an enum",
            );
            &[]
        }
    };
    if !input.generics.params.is_empty() {
        errors.spanned(
            &input.generics,
            "`#[derive(KvModel)]` does not support generic types: a stored type tag must name \
             exactly one concrete type; implement `kvdb::KvModel` by hand for each \
             instantiation, each with its own tag",
        );
    }
    let tag = tag(input, errors);
    let version = a
        .version
        .as_ref()
        .and_then(|v| version(v, errors))
        .unwrap_or(1);
    let ttl = a.ttl.as_ref().and_then(|t| ttl(t, errors));
    let migrations = migrations(a, version, errors);
    let python = python(a, errors);
    let dataclass = python_kind(a, errors);
    let (segments, key) = key_schema(input, fields, tag.as_deref().unwrap_or(""), errors);
    if !errors.is_empty() {
        return None;
    }
    Some(Plan {
        ident: &input.ident,
        krate: krate(a),
        tag: tag?,
        version,
        segments,
        key,
        ttl,
        migrations,
        python,
        dataclass,
    })
}

/// `python = "..."`: dotted Python class paths (`module.Class`), each declared once.
fn python(a: &Attrs, errors: &mut Errors) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for lit in &a.python {
        let name = lit.value();
        if let Err(e) = rules::validate_python_class(&name) {
            errors.at(lit.span(), format!("invalid `python` class: {e}"));
        } else if out.contains(&name) {
            errors.at(
                lit.span(),
                format!("the Python class {name:?} is declared twice"),
            );
        } else {
            out.push(name);
        }
    }
    out
}

/// `python_kind = "pydantic" | "dataclass"`; true for a dataclass.
fn python_kind(a: &Attrs, errors: &mut Errors) -> bool {
    let Some(lit) = &a.python_kind else {
        return false;
    };
    match lit.value().as_str() {
        "pydantic" => false,
        "dataclass" => true,
        other => {
            errors.at(
                lit.span(),
                format!(
                    "`python_kind` is \"pydantic\" (the default) or \"dataclass\", not {other:?}"
                ),
            );
            false
        }
    }
}

fn tag(input: &Input, errors: &mut Errors) -> Option<String> {
    match &input.attrs.tag {
        Some(lit) => {
            let tag = lit.value();
            if let Err(e) = rules::validate_tag(&tag) {
                errors.at(lit.span(), format!("invalid `tag`: {e}"));
            }
            Some(tag)
        }
        None => {
            let tag = unraw(&input.ident);
            if let Err(e) = rules::validate_tag(&tag) {
                errors.at(
                    input.ident.span(),
                    format!("the default type tag is the type's name, which is not a valid tag: {e}; set one with `#[kv(tag = \"...\")]`"),
                );
            }
            Some(tag)
        }
    }
}

fn version(lit: &LitInt, errors: &mut Errors) -> Option<u32> {
    match lit.base10_parse::<u32>() {
        Ok(v) if v >= 1 => Some(v),
        _ => {
            errors.at(
                lit.span(),
                "`version` must be an integer from 1 to 4294967295",
            );
            None
        }
    }
}

fn ttl(lit: &syn::Lit, errors: &mut Errors) -> Option<u64> {
    let r = match lit {
        syn::Lit::Str(s) => rules::ttl_seconds(&s.value()),
        syn::Lit::Int(i) => match i.base10_parse::<u64>() {
            Ok(0) => Err("a TTL must be greater than zero".into()),
            Ok(n) => Ok(n),
            Err(_) => Err("the TTL in seconds must fit in a u64".into()),
        },
        _ => return None,
    };
    r.map_err(|e| errors.at(lit.span(), format!("invalid `ttl`: {e}")))
        .ok()
}

fn migrations<'a>(a: &'a Attrs, version: u32, errors: &mut Errors) -> Vec<(u32, &'a Path)> {
    let mut out: Vec<(u32, &Path)> = Vec::new();
    for (lit, path) in &a.migrations {
        match lit.base10_parse::<u32>() {
            Ok(from) if from >= 1 && from < version => {
                if out.iter().any(|(f, _)| *f == from) {
                    errors.at(
                        lit.span(),
                        format!("duplicate migration from version {from}"),
                    );
                } else {
                    out.push((from, path));
                }
            }
            _ if version == 1 => errors.at(
                lit.span(),
                "`migrate_from` must name an older schema version, but the model is at version 1: \
                 set the current one with `version = 2` (or more)",
            ),
            _ => errors.at(
                lit.span(),
                format!(
                    "`migrate_from` must name a schema version older than the model's \
                     `version = {version}` ({})",
                    if version == 2 {
                        "here: 1".to_owned()
                    } else {
                        format!("1 to {}", version - 1)
                    }
                ),
            ),
        }
    }
    out
}

fn key_schema<'a>(
    input: &Input,
    fields: &'a [Field],
    tag: &str,
    errors: &mut Errors,
) -> (Vec<Seg>, Vec<&'a Field>) {
    let a = &input.attrs;
    let (mut segments, key, names) = match &a.template {
        Some(template) => {
            if let Some(prefix) = &a.prefix {
                errors.at(
                    prefix.span(),
                    "`prefix` cannot be combined with a key template: the template is the whole key",
                );
            }
            for f in fields {
                if let Some(span) = f.key {
                    errors.at(
                        span,
                        "with a key template on the type, the key fields are the template's \
                         `{placeholders}`: remove this `#[kv(key)]`",
                    );
                }
            }
            from_template(input, template, fields, errors)
        }
        None => {
            let key: Vec<&Field> = fields.iter().filter(|f| f.key.is_some()).collect();
            if key.is_empty() && !a.misplaced_key {
                let msg = match input.shape {
                    Shape::Struct(ref f) if !f.is_empty() => {
                        "a model needs a key: mark its key fields with `#[kv(key)]`, or give a \
                         key template on the type, like `#[kv(key = \"users:{id}\")]`"
                    }
                    _ => {
                        "a model without fields is a singleton: give its key on the type, like \
                         `#[kv(key = \"config:app\")]`"
                    }
                };
                errors.at(input.ident.span(), msg);
            }
            let prefix = match &a.prefix {
                Some(lit) => {
                    let p = lit.value();
                    let check = if p.is_empty() {
                        Err("`prefix` must not be empty".to_owned())
                    } else {
                        rules::validate_key_text(&p)
                    };
                    if let Err(e) = check {
                        errors.at(lit.span(), format!("invalid `prefix`: {e}"));
                    }
                    p
                }
                None => tag.to_owned(),
            };
            let mut segments = vec![Seg::Lit(prefix)];
            let mut names = Vec::new();
            for f in &key {
                segments.push(Seg::Part);
                names.push(f.name.clone());
            }
            (segments, key, names)
        }
    };
    if let Some(lit) = &a.hash_tag {
        hash_tag(lit, &names, &mut segments, errors);
    }
    (segments, key)
}

fn from_template<'a>(
    input: &Input,
    lit: &LitStr,
    fields: &'a [Field],
    errors: &mut Errors,
) -> (Vec<Seg>, Vec<&'a Field>, Vec<String>) {
    let text = lit.value();
    let span = lit.span();
    let (mut segments, mut key, mut names) = (Vec::new(), Vec::new(), Vec::<String>::new());
    if text.is_empty() {
        errors.at(span, "the key template must not be empty");
    }
    for seg in text.split(':') {
        if !seg.contains(['{', '}']) {
            if let Err(e) = rules::validate_key_text(seg) {
                errors.at(span, format!("invalid key template: {e}"));
            }
            match segments.last_mut() {
                Some(Seg::Lit(prev)) => {
                    prev.push(':');
                    prev.push_str(seg);
                }
                _ => segments.push(Seg::Lit(seg.to_owned())),
            }
            continue;
        }
        let Some(name) = placeholder(seg) else {
            errors.at(
                span,
                format!(
                    "invalid key template: a placeholder must be a whole `:`-separated segment, \
                     like `user:{{id}}` ({seg:?} is not); a Cluster hash tag is declared with \
                     `hash_tag = \"{{field}}\"`"
                ),
            );
            continue;
        };
        if names.iter().any(|n| n == name) {
            errors.at(span, format!("the key template names `{{{name}}}` twice"));
            continue;
        }
        match fields.iter().find(|f| f.name == name) {
            Some(f) => {
                segments.push(Seg::Part);
                key.push(f);
                names.push(name.to_owned());
            }
            None => errors.at(span, unknown_field(input, fields, name)),
        }
    }
    (segments, key, names)
}

/// `name` for a segment `{name}`.
pub(crate) fn placeholder(seg: &str) -> Option<&str> {
    let name = seg.strip_prefix('{')?.strip_suffix('}')?;
    (!name.is_empty() && !name.contains(['{', '}'])).then_some(name)
}

fn unknown_field(input: &Input, fields: &[Field], name: &str) -> String {
    let ident = &input.ident;
    if fields.is_empty() {
        return format!(
            "the key template names `{{{name}}}`, but `{ident}` has no fields: a model without \
             fields is a singleton, keyed by a template without placeholders"
        );
    }
    let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    format!(
        "the key template names `{{{name}}}`, but `{ident}` has no field `{name}` (its fields: {})",
        known.join(", ")
    )
}

fn hash_tag(lit: &LitStr, names: &[String], segments: &mut [Seg], errors: &mut Errors) {
    let value = lit.value();
    let Some(name) = placeholder(&value) else {
        errors.at(
            lit.span(),
            format!("`hash_tag` must be a key field in braces, like `hash_tag = \"{{org_id}}\"`; found {value:?}"),
        );
        return;
    };
    let Some(index) = names.iter().position(|n| n == name) else {
        let span: Span = lit.span();
        errors.at(
            span,
            if names.is_empty() {
                format!("`hash_tag` names `{{{name}}}`, but this model has no key fields")
            } else {
                format!(
                    "`hash_tag` names `{{{name}}}`, which is not a key field (key fields: {})",
                    names.join(", ")
                )
            },
        );
        return;
    };
    if let Some(seg) = segments
        .iter_mut()
        .filter(|s| matches!(s, Seg::Part))
        .nth(index)
    {
        *seg = Seg::HashTagged;
    }
}

//! The rules the derive checks at compile time, copied from the runtime so that a bad tag or
//! TTL is a compile error: `kvdb::format::validate_tag` and `kvdb::model::ttl_seconds`.
//!
//! This file depends on nothing, so `ui-tests/tests/rules_agree.rs` includes it and checks,
//! on many inputs, that both copies accept and refuse exactly the same strings.

/// The longest type tag, in bytes (`kvdb::format::MAX_TAG_LEN`).
pub(crate) const MAX_TAG_LEN: usize = 128;

/// `kvdb::format::validate_tag`: 1 to 128 bytes of ASCII letters, digits and `_ . : - /`,
/// starting with a letter or `_`.
pub(crate) fn validate_tag(tag: &str) -> Result<(), String> {
    let b = tag.as_bytes();
    if b.is_empty() {
        return Err("a type tag must not be empty".into());
    }
    if b.len() > MAX_TAG_LEN {
        return Err(format!(
            "a type tag is at most {MAX_TAG_LEN} bytes, this one is {}",
            b.len()
        ));
    }
    if !(b[0].is_ascii_alphabetic() || b[0] == b'_') {
        return Err(format!(
            "a type tag must start with an ASCII letter or `_`: {tag:?}"
        ));
    }
    if let Some(c) = tag
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-' | '/')))
    {
        return Err(format!(
            "a type tag may contain only ASCII letters, digits and `_ . : - /`; {tag:?} contains {c:?}"
        ));
    }
    Ok(())
}

/// `kvdb::model::ttl_seconds`: `<digits><unit>` groups, units `d h m s` from largest to
/// smallest, each at most once; greater than zero.
pub(crate) fn ttl_seconds(text: &str) -> Result<u64, String> {
    const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
    if text.is_empty() {
        return Err(
            "a TTL must not be empty; write e.g. \"30s\", \"15m\", \"1h30m\", \"7d\"".into(),
        );
    }
    let mut total: u64 = 0;
    let mut next_unit = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "bad TTL {text:?}: expected a number at {rest:?} (units: d, h, m, s)"
            ));
        }
        let Some(unit) = rest[digits..].chars().next() else {
            return Err(format!(
                "bad TTL {text:?}: {:?} has no unit; write d, h, m or s after it",
                &rest[..digits]
            ));
        };
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!(
                "bad TTL {text:?}: unknown unit {unit:?} (units: d, h, m, s)"
            ));
        };
        if pos < next_unit {
            return Err(format!(
                "bad TTL {text:?}: units must go from largest to smallest, each at most once (d, h, m, s)"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad TTL {text:?}: {:?} is too large", &rest[..digits]))?;
        total = n
            .checked_mul(UNITS[pos].1)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("bad TTL {text:?}: too large"))?;
        next_unit = pos + 1;
        rest = &rest[digits + 1..];
    }
    if total == 0 {
        return Err(format!("bad TTL {text:?}: a TTL must be greater than zero"));
    }
    Ok(total)
}

/// Fixed key text (a prefix, or the literal pieces of a template): none of `%` (the escape character) or `{` `}` (reserved for placeholders and hash tags), nor
/// control characters.
pub(crate) fn validate_key_text(text: &str) -> Result<(), String> {
    if let Some(c) = text
        .chars()
        .find(|c| matches!(c, '%' | '{' | '}') || c.is_control())
    {
        return Err(format!(
            "{c:?} cannot appear in fixed key text ({text:?}): `%` is the key escape character, \
             `{{` `}}` are reserved for placeholders and hash tags"
        ));
    }
    Ok(())
}

/// A Python class path as kvdb-py records it in `__class__`: a module path and a class name
/// joined by dots (`models.User`, `__main__.User`), each part a Python identifier (ASCII).
pub(crate) fn validate_python_class(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() < 2 {
        return Err(format!(
            "{name:?} has no module: kvdb-py records `module.Class`, like \"models.User\""
        ));
    }
    for part in parts {
        let mut chars = part.chars();
        let first_ok = chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "{name:?}: {part:?} is not a Python identifier (ASCII letters, digits, `_`)"
            ));
        }
    }
    Ok(())
}

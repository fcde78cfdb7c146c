//! How an error's message shows what it is about: the key ([`KeyContext`]), a Rust type's
//! name as it is written in code ([`TypeName`]), keys and their Cluster hash slots.

use std::fmt;

/// The Redis key an error is about, when there is one.
///
/// Displays as ` at key "users:42"`, or as nothing when no key is known (pure codec calls).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeyContext(pub(super) Option<String>);

impl KeyContext {
    /// The context of `key`, or of no key.
    pub(crate) fn new(key: Option<String>) -> Self {
        KeyContext(key)
    }

    /// The context of `key`.
    pub(crate) fn of(key: impl Into<String>) -> Self {
        KeyContext(Some(key.into()))
    }

    /// The key, if known.
    pub fn key(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl fmt::Display for KeyContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(k) => write!(f, " at key {k:?}"),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for KeyContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

/// `"a" (slot 15495), "b" (slot 3300)`, the first 8 keys.
pub(super) fn slots_list(keys: &[(String, u16)]) -> String {
    let mut out: Vec<String> = keys
        .iter()
        .take(8)
        .map(|(k, s)| format!("{k:?} (slot {s})"))
        .collect();
    if keys.len() > 8 {
        out.push(format!("and {} more", keys.len() - 8));
    }
    out.join(", ")
}

/// A Rust type's name as it is written in code, for messages: `std::any::type_name` gives
/// `alloc::vec::Vec<alloc::string::String>`, this shows `Vec<String>` (every path segment but
/// the last is dropped).
pub(crate) struct TypeName<'a>(pub(crate) &'a str);

impl fmt::Display for TypeName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(self.0.len());
        let mut word_start = 0;
        let mut rest = self.0;
        while let Some(c) = rest.chars().next() {
            if let Some(after) = rest.strip_prefix("::") {
                if out.len() > word_start {
                    out.truncate(word_start); // a module: drop it
                } else {
                    out.push_str("::"); // `<T as Trait>::Assoc`
                }
                rest = after;
                continue;
            }
            out.push(c);
            if !(c.is_alphanumeric() || c == '_') {
                word_start = out.len();
            }
            rest = &rest[c.len_utf8()..];
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::format::Codec;

    #[test]
    fn type_names_show_as_written() {
        for (t, want) in [
            (std::any::type_name::<String>(), "String"),
            (
                std::any::type_name::<Vec<Option<String>>>(),
                "Vec<Option<String>>",
            ),
            (
                std::any::type_name::<std::collections::HashMap<String, (u8, &str)>>(),
                "HashMap<String, (u8, &str)>",
            ),
            (std::any::type_name::<[i32; 3]>(), "[i32; 3]"),
            ("<a::T as b::Tr>::Assoc", "<T as Tr>::Assoc"),
        ] {
            assert_eq!(TypeName(t).to_string(), want, "{t}");
        }
        let e = Error::Decode {
            key: KeyContext::of("k"),
            type_name: std::any::type_name::<Vec<String>>(),
            codec: Codec::Json,
            source: "x".into(),
        };
        assert_eq!(
            e.to_string(),
            "cannot decode Vec<String> at key \"k\" from json data: x"
        );
    }
}

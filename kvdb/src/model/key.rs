//! Model keys: the parts a key is made of, the key schema of a model type, escaping, and
//! `SCAN` patterns. Pure code, no I/O.
//!
//! A model's Redis key is its key schema's segments joined by `:`. A segment is fixed text
//! (the prefix, or the literal pieces of a key template) or one key part: the value of a key
//! field, escaped so that it never contains `:`, `{` or `}`:
//!
//! | character | escaped as |
//! |---|---|
//! | `%` (the escape character itself) | `%25` |
//! | `:` (the separator) | `%3A` |
//! | `{` | `%7B` |
//! | `}` | `%7D` |
//!
//! Every other character (spaces, `*`, Unicode...) is kept as is: Redis keys are binary-safe.
//! Because an escaped part never contains the separator, a key splits back into its parts in
//! exactly one way, so two different keys of a model type never map to the same Redis key.
//! Because it never contains braces, user data cannot create a Redis Cluster hash tag: the
//! only hash tag in a key is the one the model declares (`#[kv(hash_tag = "{field}")]`),
//! written as `{part}`. (An empty hash-tagged part gives `{}`, which Redis ignores: such a key
//! is hashed whole.)
//!
//! Scanning uses [`KeySchema::pattern`]: the fixed text glob-escaped (`* ? [ ] \`), each part
//! `*`; as `*` also matches `:`, keys are then filtered with [`KeySchema::matches`].
//!
//! ```
//! use kvdb::model::{KeyPart, KeySchema, Segment};
//!
//! const MEMBER: KeySchema =
//!     KeySchema::new(&[Segment::Lit("org"), Segment::HashTagged, Segment::Lit("user"), Segment::Part]);
//! let key = MEMBER.format(&[&"acme:eu", &42u64])?;
//! assert_eq!(key, "org:{acme%3Aeu}:user:42");
//! assert!(MEMBER.matches(&key));
//! assert_eq!(MEMBER.pattern(), "org:{*}:user:*");
//! # Ok::<(), kvdb::Error>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::{Error, Result};

/// The separator between the segments of a key.
pub const SEPARATOR: char = ':';

/// A value that can be one part of a model key: integers, `bool`, `char` and strings.
///
/// Floating-point numbers are deliberately not key parts (`NaN`, `-0.0` and rounding make
/// equal-looking keys differ). `uuid::Uuid`, `ulid::Ulid`, `chrono::NaiveDate` and
/// `time::Date` are key parts with kvdb's cargo features of the same names (see
/// [`key_features`](super::key_features)). For your own types (an id newtype), implement this
/// trait by writing a canonical text form; the writer escapes it. For another crate's type,
/// wrap it in a newtype of yours and implement it for that (Rust's orphan rule forbids
/// implementing kvdb's trait for a type neither crate owns).
///
/// ```
/// use kvdb::model::{KeyPart, PartWriter};
///
/// struct OrderId(u64);
///
/// impl KeyPart for OrderId {
///     fn write_part(&self, out: &mut PartWriter<'_>) {
///         out.push_str("o-");
///         self.0.write_part(out);
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a model key",
    label = "not a key part",
    note = "key parts are integers, `bool`, `char` and strings (`String`, `Box<str>`, `Arc<str>`, \
            `Cow<str>`); with kvdb's features `uuid`, `ulid`, `chrono` and `time`, also \
            `uuid::Uuid`, `ulid::Ulid`, `chrono::NaiveDate` and `time::Date`",
    note = "for a type of your own crate, implement `kvdb::model::KeyPart` for it; for another \
            crate's type, wrap it in a newtype (`struct Price(f64);`) and implement \
            `kvdb::model::KeyPart` for the newtype"
)]
pub trait KeyPart {
    /// Writes this part's canonical text; the writer escapes it.
    fn write_part(&self, out: &mut PartWriter<'_>);
}

/// Receives the text of a [`KeyPart`] and appends it, escaped, to a key being built.
pub struct PartWriter<'a> {
    out: &'a mut String,
}

impl PartWriter<'_> {
    /// Appends `s`, escaped.
    pub fn push_str(&mut self, s: &str) {
        escape_part_into(s, self.out);
    }

    /// Appends `c`, escaped.
    pub fn push(&mut self, c: char) {
        escape_part_into(c.encode_utf8(&mut [0; 4]), self.out);
    }
}

impl fmt::Write for PartWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push_str(s);
        Ok(())
    }
}

/// Appends the decimal digits of `v` (preceded by `-` if `negative`), without going through
/// `fmt`: digits and `-` never need escaping, and this runs for every model key.
fn push_decimal<const N: usize>(out: &mut String, mut v: u128, negative: bool) {
    let mut buf = [0u8; N];
    let mut i = N;
    // `u64` division is much cheaper than `u128`'s; take it as soon as the value fits.
    while v > u128::from(u64::MAX) {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let mut w = v as u64;
    loop {
        i -= 1;
        buf[i] = b'0' + (w % 10) as u8;
        w /= 10;
        if w == 0 {
            break;
        }
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    // Only ASCII digits and `-` were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
}

macro_rules! unsigned_parts {
    ($($t:ty),*) => {$(
        impl KeyPart for $t {
            #[allow(clippy::unnecessary_cast)]
            fn write_part(&self, out: &mut PartWriter<'_>) {
                push_decimal::<40>(out.out, *self as u128, false);
            }
        }
    )*};
}

macro_rules! signed_parts {
    ($($t:ty),*) => {$(
        impl KeyPart for $t {
            #[allow(clippy::unnecessary_cast)]
            fn write_part(&self, out: &mut PartWriter<'_>) {
                push_decimal::<41>(out.out, self.unsigned_abs() as u128, *self < 0);
            }
        }
    )*};
}

unsigned_parts!(u8, u16, u32, u64, u128, usize);
signed_parts!(i8, i16, i32, i64, i128, isize);

impl KeyPart for bool {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        out.out.push_str(if *self { "true" } else { "false" });
    }
}

impl KeyPart for char {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        out.push(*self);
    }
}

impl KeyPart for str {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        out.push_str(self);
    }
}

impl KeyPart for String {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        out.push_str(self);
    }
}

impl KeyPart for Cow<'_, str> {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        out.push_str(self);
    }
}

macro_rules! pointer_parts {
    ($($p:ident),*) => {$(
        impl<T: KeyPart + ?Sized> KeyPart for $p<T> {
            fn write_part(&self, out: &mut PartWriter<'_>) {
                (**self).write_part(out);
            }
        }
    )*};
}

pointer_parts!(Box, Arc, Rc);

impl<T: KeyPart + ?Sized> KeyPart for &T {
    fn write_part(&self, out: &mut PartWriter<'_>) {
        (**self).write_part(out);
    }
}

/// Appends `raw` to `out` with `%`, `:`, `{` and `}` escaped (see the [module docs](self)).
pub fn escape_part_into(raw: &str, out: &mut String) {
    // A byte scan: the four escaped characters are ASCII, so every index where one is found
    // is a character boundary.
    let mut start = 0;
    for (i, b) in raw.bytes().enumerate() {
        let escaped = match b {
            b'%' => "%25",
            b':' => "%3A",
            b'{' => "%7B",
            b'}' => "%7D",
            _ => continue,
        };
        out.push_str(&raw[start..i]);
        out.push_str(escaped);
        start = i + 1;
    }
    out.push_str(&raw[start..]);
}

/// `raw` escaped as a key part.
///
/// ```
/// assert_eq!(kvdb::model::escape_part("a:b{c}%"), "a%3Ab%7Bc%7D%25");
/// ```
pub fn escape_part(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    escape_part_into(raw, &mut out);
    out
}

/// The text an escaped key part stands for; `None` if `escaped` could not have been written by
/// [`escape_part`] (a separator, a brace, or a `%` not followed by one of the four escapes).
pub fn unescape_part(escaped: &str) -> Option<String> {
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(i) = rest.find(['%', ':', '{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let c = match tail.get(..3)? {
            "%25" => '%',
            "%3A" => ':',
            "%7B" => '{',
            "%7D" => '}',
            _ => return None,
        };
        out.push(c);
        rest = &tail[3..];
    }
    out.push_str(rest);
    Some(out)
}

/// Escapes the characters Redis glob patterns treat specially (`* ? [ ] \`), so `text` matches
/// only itself in a `SCAN MATCH` or `KEYS` pattern.
///
/// ```
/// assert_eq!(kvdb::model::glob_escape(r"a*b?[c]\"), r"a\*b\?\[c\]\\");
/// ```
pub fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One segment of a [`KeySchema`]; segments are joined by `:`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Fixed text, written as is (it may itself contain `:`).
    Lit(&'static str),
    /// The next key part, escaped.
    Part,
    /// The next key part, escaped and wrapped in `{...}`: a Redis Cluster hash tag, so every
    /// key with the same value of this part lands in the same slot.
    HashTagged,
}

/// How a model type's keys are built from its key parts: `#[kv(prefix = ...)]` or
/// `#[kv(key = "template")]`, compiled by the derive into segments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeySchema {
    segments: &'static [Segment],
}

impl KeySchema {
    /// A schema of these segments.
    pub const fn new(segments: &'static [Segment]) -> Self {
        KeySchema { segments }
    }

    /// The segments.
    pub const fn segments(&self) -> &'static [Segment] {
        self.segments
    }

    /// How many key parts a key of this schema has.
    pub fn part_count(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| !matches!(s, Segment::Lit(_)))
            .count()
    }

    /// The Redis key for these parts (in schema order).
    pub fn format(&self, parts: &[&dyn KeyPart]) -> Result<String> {
        // Room for the fixed text and short parts: one allocation for most keys.
        let fixed: usize = self
            .segments
            .iter()
            .map(|s| match s {
                Segment::Lit(text) => text.len() + 1,
                _ => 24,
            })
            .sum();
        let mut out = String::with_capacity(fixed);
        self.format_into(parts, &mut out)?;
        Ok(out)
    }

    /// Appends the Redis key for these parts to `out`.
    pub fn format_into(&self, parts: &[&dyn KeyPart], out: &mut String) -> Result<()> {
        if parts.len() != self.part_count() {
            return Err(Error::Unsupported(format!(
                "the key schema {:?} has {} key parts, {} were given",
                self.pattern(),
                self.part_count(),
                parts.len()
            )));
        }
        let mut parts = parts.iter();
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push(SEPARATOR);
            }
            let tagged = match seg {
                Segment::Lit(text) => {
                    out.push_str(text);
                    continue;
                }
                Segment::Part => false,
                Segment::HashTagged => true,
            };
            // The count was checked above, so there is always a next part.
            let Some(part) = parts.next() else { break };
            if tagged {
                out.push('{');
            }
            part.write_part(&mut PartWriter { out: &mut *out });
            if tagged {
                out.push('}');
            }
        }
        Ok(())
    }

    /// The `SCAN MATCH` pattern of every key of this schema: fixed text glob-escaped, each part
    /// `*`. A `*` also matches `:`, so use [`matches`](Self::matches) to keep only the keys
    /// that really have this shape.
    pub fn pattern(&self) -> String {
        let mut out = String::new();
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                out.push(SEPARATOR);
            }
            match seg {
                Segment::Lit(text) => out.push_str(&glob_escape(text)),
                Segment::Part => out.push('*'),
                Segment::HashTagged => out.push_str("{*}"),
            }
        }
        out
    }

    /// Whether `key` is a key of this schema: the same fixed text, and in each part's place a
    /// validly escaped part.
    pub fn matches(&self, key: &str) -> bool {
        let mut rest = key;
        for (i, seg) in self.segments.iter().enumerate() {
            if i > 0 {
                match rest.strip_prefix(SEPARATOR) {
                    Some(r) => rest = r,
                    None => return false,
                }
            }
            let end = match seg {
                Segment::Lit(text) => match rest.strip_prefix(text) {
                    Some(r) => {
                        rest = r;
                        continue;
                    }
                    None => return false,
                },
                Segment::Part => rest.find(SEPARATOR).unwrap_or(rest.len()),
                Segment::HashTagged => match rest.find('}') {
                    Some(close) if rest.starts_with('{') => close + 1,
                    _ => return false,
                },
            };
            let part = &rest[..end];
            let inner = match seg {
                Segment::HashTagged => &part[1..part.len() - 1],
                _ => part,
            };
            if unescape_part(inner).is_none() {
                return false;
            }
            rest = &rest[end..];
        }
        rest.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;

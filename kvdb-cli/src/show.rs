//! What `get` and `decode` print: a header line and pretty JSON, or one JSON object.

use std::io::Write;
use std::time::Duration;

use kvdb::format::{Description, describe};
use serde_json::{Map, Value, json};

use crate::Failure;

/// A value to show: a string's description, or a collection's values and what they have
/// in common.
pub(crate) struct Shown {
    pub(crate) key: Option<String>,
    /// The Redis type (`string`, `hash`, `list`, `set`, `zset`).
    pub(crate) redis_type: &'static str,
    /// How many elements a collection has.
    pub(crate) len: Option<usize>,
    /// What the elements have in common (`mixed` where they differ).
    pub(crate) facts: Facts,
    /// `None` when there is no server (`decode`); `Some(None)` for a key that never expires.
    pub(crate) ttl: Option<Option<Duration>>,
    pub(crate) value: Value,
}

/// Format, codec, compression, tag and sizes of one value or of all of a collection's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Facts {
    pub(crate) format: String,
    pub(crate) codec: String,
    pub(crate) compression: String,
    pub(crate) tag: Option<String>,
    pub(crate) version: Option<u32>,
    pub(crate) python_class: Option<String>,
    pub(crate) binary: bool,
    pub(crate) stored: usize,
    pub(crate) decoded: usize,
}

impl Facts {
    pub(crate) fn of(d: &Description) -> Facts {
        Facts {
            format: d.origin.name().into(),
            codec: d.codec.name().into(),
            compression: d.compression.name().into(),
            tag: d.tag.clone(),
            version: d.version,
            python_class: d.python_class.clone(),
            binary: d.binary,
            stored: d.stored_size,
            decoded: d.decoded_size,
        }
    }

    /// What `self` (the elements so far) and `other` have in common.
    pub(crate) fn merge(&mut self, other: &Facts, first: bool) {
        if first {
            *self = other.clone();
            return;
        }
        fn same<T: PartialEq + Clone>(a: &mut T, b: &T, mixed: T) {
            if a != b {
                *a = mixed;
            }
        }
        same(&mut self.format, &other.format, "mixed".into());
        same(&mut self.codec, &other.codec, "mixed".into());
        same(&mut self.compression, &other.compression, "mixed".into());
        same(&mut self.tag, &other.tag, Some("mixed".into()));
        same(&mut self.version, &other.version, None);
        same(
            &mut self.python_class,
            &other.python_class,
            Some("mixed".into()),
        );
        self.binary |= other.binary;
        self.stored += other.stored;
        self.decoded += other.decoded;
    }
}

/// Describes stored bytes, naming `what` (e.g. `key "k"`) in the error.
pub(crate) fn described(bytes: &[u8], what: &str) -> Result<(Facts, Value), Failure> {
    let d = describe(bytes).map_err(|e| Failure(format!("{what}: {e}")))?;
    Ok((Facts::of(&d), d.value))
}

/// `n` bytes, for people: `312 B`, `1.2 KiB`.
pub(crate) fn size(n: usize) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn ttl_text(ttl: Option<Duration>) -> String {
    match ttl {
        None => "no TTL".into(),
        Some(d) if d.as_millis() < 10_000 => format!("TTL {:.1} s", d.as_secs_f64()),
        Some(d) => format!("TTL {} s", d.as_secs()),
    }
}

impl Shown {
    /// The header line: `# string · kvdb · json · zstd · tag users.User v2 · 312 B stored ·
    /// 1.2 KiB decoded · TTL 59 s`.
    pub(crate) fn header(&self) -> String {
        let f = &self.facts;
        let mut parts = vec![match self.len {
            Some(n) => format!(
                "{} ({n} {})",
                self.redis_type,
                element_word(self.redis_type, n)
            ),
            None => self.redis_type.to_string(),
        }];
        if self.len != Some(0) {
            parts.push(f.format.clone());
            parts.push(f.codec.clone());
            parts.push(f.compression.clone());
        }
        if let Some(tag) = &f.tag {
            parts.push(match f.version {
                Some(v) => format!("tag {tag} v{v}"),
                None => format!("tag {tag}"),
            });
        }
        if let Some(class) = &f.python_class {
            parts.push(format!("class {class}"));
        }
        if f.binary {
            parts.push("binary, shown as hex".into());
        }
        parts.push(format!("{} stored", size(f.stored)));
        parts.push(format!("{} decoded", size(f.decoded)));
        if let Some(ttl) = self.ttl {
            parts.push(ttl_text(ttl));
        }
        format!("# {}", parts.join(" · "))
    }

    /// The machine-readable form: one JSON object.
    pub(crate) fn object(&self) -> Value {
        let f = &self.facts;
        let mut m = Map::new();
        if let Some(key) = &self.key {
            m.insert("key".into(), json!(key));
        }
        m.insert("type".into(), json!(self.redis_type));
        if let Some(n) = self.len {
            m.insert("length".into(), json!(n));
        }
        m.insert("format".into(), json!(f.format));
        m.insert("codec".into(), json!(f.codec));
        m.insert("compression".into(), json!(f.compression));
        m.insert("tag".into(), json!(f.tag));
        m.insert("version".into(), json!(f.version));
        m.insert("python_class".into(), json!(f.python_class));
        m.insert("binary".into(), json!(f.binary));
        m.insert("stored_bytes".into(), json!(f.stored));
        m.insert("decoded_bytes".into(), json!(f.decoded));
        if let Some(ttl) = self.ttl {
            m.insert("ttl_ms".into(), json!(ttl.map(|d| d.as_millis() as u64)));
        }
        m.insert("value".into(), self.value.clone());
        Value::Object(m)
    }

    /// Prints the header and pretty JSON, or (`json`) one JSON object.
    pub(crate) fn print(&self, json: bool) -> Result<(), Failure> {
        let mut out = std::io::stdout().lock();
        if json {
            writeln!(out, "{}", self.object())?;
        } else {
            writeln!(out, "{}", self.header())?;
            writeln!(out, "{}", serde_json::to_string_pretty(&self.value)?)?;
        }
        Ok(out.flush()?)
    }
}

fn element_word(redis_type: &str, n: usize) -> &'static str {
    match (redis_type, n == 1) {
        ("hash", true) => "field",
        ("hash", false) => "fields",
        (_, true) => "element",
        (_, false) => "elements",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(5 * 1024 * 1024), "5.0 MiB");
    }

    #[test]
    fn the_header_names_every_fact() {
        let (facts, value) = described(b"kv1j-users.User@2|{\"id\":1}", "test").unwrap();
        let shown = Shown {
            key: Some("k".into()),
            redis_type: "string",
            len: None,
            facts,
            ttl: Some(Some(Duration::from_secs(59))),
            value,
        };
        assert_eq!(
            shown.header(),
            "# string · kvdb · json · none · tag users.User v2 · 26 B stored · 8 B decoded · TTL 59 s"
        );
        assert_eq!(shown.object()["ttl_ms"], json!(59_000));
    }

    #[test]
    fn a_collection_says_mixed_where_elements_differ() {
        let (a, _) = described(b"kv1j-|[1]", "a").unwrap();
        let (b, _) = described(b"kv1m-|\x91\x01", "b").unwrap();
        let mut all = Facts::default();
        all.merge(&a, true);
        all.merge(&b, false);
        assert_eq!((all.format.as_str(), all.codec.as_str()), ("kvdb", "mixed"));
        assert_eq!(all.stored, a.stored + b.stored);
    }
}

//! Reads kvdb-py's JSON envelope into Rust types.
//!
//! kvdb-py wraps non-JSON Python values in `{"__type__": ..., "value": ...}` objects
//! (`datetime`, `timedelta`, `uuid`, `bytes`, `set`, `enum`, `path`, `pydantic`, `dataclass`).
//! [`PyValue`] is a serde `Deserializer` over the parsed JSON that unwraps them on the fly into
//! what the requested Rust type wants: a `timedelta` becomes a `std::time::Duration` or an
//! `f64`, `bytes` a `Vec<u8>` or hex text, a `set` any sequence, and so on. `pickle`, `numpy`
//! and `tensor` values are refused: nothing is ever executed or instantiated by name.

use std::fmt;

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, Visitor};
use serde_json::{Map, Value};

/// Placeholder for `NaN` / `Infinity` tokens, which serde_json cannot parse: a string no
/// Python program writes (it starts with a private-use character).
pub(crate) const NON_FINITE: &str = "\u{f8ff}kvdb-non-finite:";

/// An error reading kvdb-py data.
#[derive(Debug)]
pub(crate) struct PyError(pub(crate) String);

impl fmt::Display for PyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PyError {}

impl de::Error for PyError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PyError(msg.to_string())
    }
}

/// Rewrites the bare tokens `NaN`, `Infinity` and `-Infinity` (outside strings), which
/// Python's json writes and serde_json refuses, into placeholder strings.
pub(crate) fn replace_non_finite(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 32);
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            rest = &rest[c.len_utf8()..];
            continue;
        }
        let token = ["-Infinity", "Infinity", "NaN"]
            .into_iter()
            .find(|t| rest.starts_with(t));
        if let Some(t) = token {
            out.push('"');
            out.push_str(NON_FINITE);
            out.push_str(t);
            out.push('"');
            rest = &rest[t.len()..];
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out.into()
}

fn non_finite(s: &str) -> Option<f64> {
    match s.strip_prefix(NON_FINITE)? {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// A kvdb-py envelope, unwrapped.
enum Node<'a> {
    Plain(&'a Value),
    Timedelta(f64),
    Bytes(Vec<u8>),
    /// `pydantic`, `dataclass`, `datetime`, `uuid`, `set`, `enum`, `path`, `numpy`: the value.
    Inner(&'a Value),
}

fn envelope(v: &Value) -> Result<Node<'_>, PyError> {
    let Value::Object(map) = v else {
        return Ok(Node::Plain(v));
    };
    let (Some(Value::String(kind)), Some(inner)) = (map.get("__type__"), map.get("value")) else {
        return Ok(Node::Plain(v));
    };
    Ok(match kind.as_str() {
        "pydantic" | "dataclass" | "datetime" | "uuid" | "set" | "enum" | "path" | "numpy" => {
            Node::Inner(inner)
        }
        "timedelta" => Node::Timedelta(inner.as_f64().ok_or_else(|| {
            PyError(format!(
                "a timedelta's value must be a number, found {inner}"
            ))
        })?),
        "bytes" => {
            let hex = inner
                .as_str()
                .ok_or_else(|| PyError("a bytes value must be hex text".into()))?;
            Node::Bytes(from_hex(hex)?)
        }
        "pickle" | "tensor" => {
            return Err(PyError(format!(
                "kvdb-py stored a {kind:?} value; kvdb refuses to read it (unpickling runs \
                 arbitrary code, tensors need their framework)"
            )));
        }
        other => return Err(PyError(format!("unknown kvdb-py __type__ {other:?}"))),
    })
}

fn from_hex(hex: &str) -> Result<Vec<u8>, PyError> {
    let bad = || PyError(format!("invalid hex in a bytes value: {hex:.40}"));
    if !hex.len().is_multiple_of(2) {
        return Err(bad());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(bad)
        })
        .collect()
}

pub(crate) fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn visit_byte_seq<'de, V: Visitor<'de>>(bytes: Vec<u8>, visitor: V) -> Result<V::Value, PyError> {
    let mut d = SeqDeserializer::new(bytes.into_iter());
    let out = visitor.visit_seq(&mut d)?;
    d.end()?;
    Ok(out)
}

/// A dict key: text, read as a number when the map's key type is one (Python writes int keys
/// as text in JSON, and as text they come from MessagePack too).
struct PyKey<'a>(&'a str);

impl<'de> IntoDeserializer<'de, PyError> for PyKey<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! parse_key {
    ($($m:ident => $visit:ident: $t:ty),*) => {$(
        fn $m<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
            match self.0.parse::<$t>() {
                Ok(n) => visitor.$visit(n),
                Err(_) => visitor.visit_borrowed_str(self.0),
            }
        }
    )*};
}

impl<'de> de::Deserializer<'de> for PyKey<'de> {
    type Error = PyError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        visitor.visit_borrowed_str(self.0)
    }

    with_numbers!(parse_key);

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        match self.0 {
            "True" | "true" => visitor.visit_bool(true),
            "False" | "false" => visitor.visit_bool(false),
            other => visitor.visit_borrowed_str(other),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, PyError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PyError> {
        visitor.visit_enum(self.0.into_deserializer())
    }

    serde::forward_to_deserialize_any! {
        char str string bytes byte_buf option unit unit_struct seq tuple tuple_struct map
        struct identifier ignored_any
    }
}

/// A serde `Deserializer` over kvdb-py JSON that unwraps envelopes.
#[derive(Clone, Copy)]
pub(crate) struct PyValue<'a>(pub(crate) &'a Value);

impl<'de> IntoDeserializer<'de, PyError> for PyValue<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

fn visit_map<'de, V: Visitor<'de>>(
    map: &'de Map<String, Value>,
    visitor: V,
) -> Result<V::Value, PyError> {
    let mut d = MapDeserializer::new(map.iter().map(|(k, v)| (PyKey(k), PyValue(v))));
    let out = visitor.visit_map(&mut d)?;
    d.end()?;
    Ok(out)
}

fn visit_seq<'de, V: Visitor<'de>>(items: &'de [Value], visitor: V) -> Result<V::Value, PyError> {
    let mut d = SeqDeserializer::new(items.iter().map(PyValue));
    let out = visitor.visit_seq(&mut d)?;
    d.end()?;
    Ok(out)
}

impl<'de> de::Deserializer<'de> for PyValue<'de> {
    type Error = PyError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        match envelope(self.0)? {
            Node::Inner(v) => PyValue(v).deserialize_any(visitor),
            Node::Timedelta(secs) => visitor.visit_f64(secs),
            // Bytes read by a self-describing type (`serde_json::Value`) are what serde_json
            // makes of bytes: an array of numbers 0-255.
            Node::Bytes(b) => visit_byte_seq(b, visitor),
            Node::Plain(v) => match v {
                Value::Null => visitor.visit_unit(),
                Value::Bool(b) => visitor.visit_bool(*b),
                Value::Number(n) => {
                    if let Some(u) = n.as_u64() {
                        visitor.visit_u64(u)
                    } else if let Some(i) = n.as_i64() {
                        visitor.visit_i64(i)
                    } else {
                        visitor.visit_f64(n.as_f64().unwrap_or(f64::NAN))
                    }
                }
                Value::String(s) => match non_finite(s) {
                    Some(f) => visitor.visit_f64(f),
                    None => visitor.visit_borrowed_str(s),
                },
                Value::Array(items) => visit_seq(items, visitor),
                Value::Object(map) => visit_map(map, visitor),
            },
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, PyError> {
        visitor.visit_newtype_struct(self)
    }

    /// A `timedelta` read as `std::time::Duration` (serde's `{secs, nanos}`).
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PyError> {
        match envelope(self.0)? {
            Node::Timedelta(secs) if name == "Duration" && fields == ["secs", "nanos"] => {
                if !(secs.is_finite() && secs >= 0.0) {
                    return Err(PyError(format!("timedelta {secs} does not fit a Duration")));
                }
                let d = std::time::Duration::from_secs_f64(secs);
                let entries = [
                    ("secs", d.as_secs()),
                    ("nanos", u64::from(d.subsec_nanos())),
                ];
                visitor.visit_map(MapDeserializer::new(entries.into_iter()))
            }
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        match envelope(self.0)? {
            Node::Plain(Value::Null) => visitor.visit_f64(f64::NAN),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        match envelope(self.0)? {
            Node::Plain(Value::String(s)) => visitor.visit_borrowed_bytes(s.as_bytes()),
            Node::Bytes(b) => visitor.visit_byte_buf(b),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        self.deserialize_bytes(visitor)
    }

    /// `bytes` read as a sequence (`Vec<u8>`), or read as text (hex).
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        match envelope(self.0)? {
            Node::Bytes(b) => visit_byte_seq(b, visitor),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        match envelope(self.0)? {
            Node::Bytes(b) => visitor.visit_string(to_hex(&b)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PyError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PyError> {
        let v = match envelope(self.0)? {
            Node::Inner(v) | Node::Plain(v) => v,
            _ => return Err(PyError("expected an enum".into())),
        };
        match v {
            Value::String(s) => visitor.visit_enum(s.as_str().into_deserializer()),
            // Python enum values may be numbers: `Color.RED = 1`.
            Value::Number(n) => visitor.visit_enum(n.to_string().into_deserializer()),
            Value::Object(map) if map.len() == 1 => {
                let d = MapDeserializer::new(map.iter().map(|(k, v)| (k.as_str(), PyValue(v))));
                visitor.visit_enum(serde::de::value::MapAccessDeserializer::new(d))
            }
            other => Err(PyError(format!("expected an enum, found {other}"))),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 char unit unit_struct tuple
        tuple_struct map identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeSet;
    use std::time::Duration;

    fn read<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, PyError> {
        let text = replace_non_finite(json);
        let v: Value = serde_json::from_str(&text).map_err(|e| PyError(e.to_string()))?;
        T::deserialize(PyValue(&v))
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Color {
        Red,
        Green,
    }

    #[test]
    fn envelopes_unwrap_into_natural_types() {
        assert_eq!(
            read::<String>(r#"{"__type__": "datetime", "value": "2024-01-02T03:04:05+00:00"}"#)
                .unwrap(),
            "2024-01-02T03:04:05+00:00"
        );
        assert_eq!(
            read::<Duration>(r#"{"__type__": "timedelta", "value": 90.5}"#).unwrap(),
            Duration::from_millis(90_500)
        );
        assert_eq!(
            read::<f64>(r#"{"__type__": "timedelta", "value": 90.5}"#).unwrap(),
            90.5
        );
        assert_eq!(
            read::<Vec<u8>>(r#"{"__type__": "bytes", "value": "00ff"}"#).unwrap(),
            vec![0, 255]
        );
        assert_eq!(
            read::<String>(r#"{"__type__": "bytes", "value": "00ff"}"#).unwrap(),
            "00ff"
        );
        assert_eq!(
            read::<BTreeSet<i32>>(r#"{"__type__": "set", "value": [3, 1, 2]}"#).unwrap(),
            [1, 2, 3].into()
        );
        assert_eq!(
            read::<Color>(r#"{"__type__": "enum", "__class__": "models.Color", "value": "red"}"#)
                .unwrap(),
            Color::Red
        );
        assert_eq!(read::<Color>(r#""green""#).unwrap(), Color::Green);
        assert_eq!(
            read::<std::path::PathBuf>(
                r#"{"__type__": "path", "__class__": "pathlib.PurePosixPath", "value": "/srv/x"}"#
            )
            .unwrap(),
            std::path::PathBuf::from("/srv/x")
        );
        assert_eq!(
            read::<Vec<f64>>(r#"[1.5, {"__type__": "timedelta", "value": 2}]"#).unwrap(),
            vec![1.5, 2.0]
        );
    }

    #[test]
    fn non_finite_tokens_are_read() {
        let v = read::<Vec<f64>>("[NaN, Infinity, -Infinity, 1]").unwrap();
        assert!(v[0].is_nan() && v[1] == f64::INFINITY && v[2] == f64::NEG_INFINITY && v[3] == 1.0);
        assert_eq!(
            read::<Vec<String>>(r#"["NaN", "a \"Infinity\""]"#).unwrap(),
            vec!["NaN", "a \"Infinity\""]
        );
    }

    #[test]
    fn dangerous_and_unknown_types_are_refused() {
        let e = read::<Value>(r#"{"__type__": "pickle", "value": "80049500"}"#).unwrap_err();
        assert!(e.0.contains("refuses"), "{e}");
        assert!(read::<Value>(r#"{"__type__": "tensor", "value": [1]}"#).is_err());
        let e = read::<Value>(r#"{"__type__": "mystery", "value": 1}"#).unwrap_err();
        assert!(e.0.contains("mystery"), "{e}");
        assert!(read::<Vec<u8>>(r#"{"__type__": "bytes", "value": "0g"}"#).is_err());
    }

    #[test]
    fn bytes_read_as_value_are_arrays_of_numbers() {
        let v = read::<Value>(r#"{"blob": {"__type__": "bytes", "value": "00ff"}, "l": [{"__type__": "bytes", "value": ""}]}"#).unwrap();
        assert_eq!(v, serde_json::json!({"blob": [0, 255], "l": [[]]}));
        // And that Value reads back into the bytes.
        #[derive(Deserialize)]
        struct Blob {
            blob: Vec<u8>,
        }
        assert_eq!(serde_json::from_value::<Blob>(v).unwrap().blob, [0, 255]);
        // docs/kvdb-py.md: non-finite numbers are null in a Value.
        assert_eq!(
            read::<Value>("[NaN, 1]").unwrap(),
            serde_json::json!([null, 1])
        );
        assert_eq!(
            read::<std::collections::BTreeMap<u32, bool>>(r#"{"1": true, "20": false}"#).unwrap(),
            [(1, true), (20, false)].into()
        );
    }

    #[test]
    fn dynamic_reads_unwrap_to_plain_json() {
        let v = read::<Value>(r#"{"__type__": "pydantic", "__class__": "models.P", "value": {"when": {"__type__": "datetime", "value": "2024-01-02"}, "ids": {"__type__": "set", "value": [1]}}}"#).unwrap();
        assert_eq!(v, serde_json::json!({"when": "2024-01-02", "ids": [1]}));
    }
}

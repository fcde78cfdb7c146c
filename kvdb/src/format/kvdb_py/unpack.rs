//! Reads kvdb-py's MessagePack into the same JSON tree, with the same envelopes, as its JSON
//! serializer writes, so that one reader ([`PyValue`](super::read::PyValue)) handles both.
//!
//! kvdb-py writes `msgpack.packb(value, use_bin_type=True)` with pydantic models as extension
//! type 2 (their JSON plus `__class__`), at the top level or nested in a dict or list. The
//! tree gets:
//!
//! | MessagePack | JSON tree |
//! |---|---|
//! | nil, bool, int, float, str, array | the same (NaN and infinities as [`NON_FINITE`] text) |
//! | map | an object; integer, float, bool and nil keys as their text (Python dict keys) |
//! | bin | `{"__type__": "bytes", "value": "<hex>"}` |
//! | ext 2 | `{"__type__": "pydantic", "__class__": C, "value": {fields}}` |
//! | any other ext | `{"__type__": "bytes", "value": "<hex of its data>"}` (kvdb-py returns its bytes) |
//!
//! Pure; hostile input (lengths past the end, nesting deeper than [`MAX_DEPTH`]) is an error,
//! never a panic or a large allocation.

use serde_json::{Map, Number, Value};

use super::read::{NON_FINITE, replace_non_finite, to_hex};

/// The deepest nesting accepted.
pub(crate) const MAX_DEPTH: usize = 128;

/// The extension type kvdb-py uses for pydantic models.
pub(crate) const MODEL_EXT: i8 = 2;

/// Parses one MessagePack value that fills `bytes`.
pub(crate) fn to_tree(bytes: &[u8]) -> Result<Value, String> {
    let mut r = Reader { bytes, pos: 0 };
    let v = r.value(0)?;
    if r.pos != bytes.len() {
        return Err(format!(
            "{} bytes after the MessagePack value",
            bytes.len() - r.pos
        ));
    }
    Ok(v)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

fn short() -> String {
    "MessagePack value cut short".into()
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or_else(short)?;
        let s = self.bytes.get(self.pos..end).ok_or_else(short)?;
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn uint(&mut self, width: usize) -> Result<u64, String> {
        Ok(self
            .take(width)?
            .iter()
            .fold(0u64, |n, b| (n << 8) | u64::from(*b)))
    }

    fn len(&mut self, width: usize) -> Result<usize, String> {
        usize::try_from(self.uint(width)?).map_err(|_| short())
    }

    /// A count of elements, each at least one byte: never more than the bytes left.
    fn count(&mut self, n: usize) -> Result<usize, String> {
        if n > self.bytes.len() - self.pos {
            return Err(short());
        }
        Ok(n)
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err(format!("MessagePack nested deeper than {MAX_DEPTH}"));
        }
        let b = self.byte()?;
        Ok(match b {
            0x00..=0x7f => Value::from(b),
            0xe0..=0xff => Value::from(b as i8),
            0x80..=0x8f => self.map(usize::from(b & 0x0f), depth)?,
            0x90..=0x9f => self.array(usize::from(b & 0x0f), depth)?,
            0xa0..=0xbf => self.str(usize::from(b & 0x1f))?,
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (b - 0xc4))?;
                bytes_envelope(self.take(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (b - 0xc7))?;
                let ext = self.byte()? as i8;
                self.ext(ext, n)?
            }
            0xca => float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => Value::from(self.uint(1 << (b - 0xcc))?),
            0xd0..=0xd3 => {
                let width = 1 << (b - 0xd0);
                let raw = self.uint(width)?;
                // Sign-extend from `width` bytes.
                let shift = 64 - 8 * width as u32;
                Value::from(((raw << shift) as i64) >> shift)
            }
            0xd4..=0xd8 => {
                let ext = self.byte()? as i8;
                self.ext(ext, 1 << (b - 0xd4))?
            }
            0xd9..=0xdb => {
                let n = self.len(1 << (b - 0xd9))?;
                self.str(n)?
            }
            0xdc | 0xdd => {
                let n = self.len(if b == 0xdc { 2 } else { 4 })?;
                self.array(n, depth)?
            }
            0xde | 0xdf => {
                let n = self.len(if b == 0xde { 2 } else { 4 })?;
                self.map(n, depth)?
            }
            0xc1 => return Err("the byte 0xc1 is not MessagePack".into()),
        })
    }

    fn str(&mut self, n: usize) -> Result<Value, String> {
        let s = std::str::from_utf8(self.take(n)?)
            .map_err(|_| "a MessagePack string is not UTF-8".to_string())?;
        Ok(Value::String(s.to_owned()))
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, String> {
        let n = self.count(n)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, String> {
        let n = self.count(n)?;
        let mut map = Map::new();
        for _ in 0..n {
            let key = match self.value(depth + 1)? {
                Value::String(s) => s,
                Value::Number(n) => n.to_string(),
                // Python's spelling, as `str(key)` would give.
                Value::Bool(true) => "True".into(),
                Value::Bool(false) => "False".into(),
                Value::Null => "None".into(),
                _ => return Err("a MessagePack map key that is not a scalar".into()),
            };
            let value = self.value(depth + 1)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }

    fn ext(&mut self, ext: i8, n: usize) -> Result<Value, String> {
        let data = self.take(n)?;
        if ext != MODEL_EXT {
            return Ok(bytes_envelope(data));
        }
        let text = std::str::from_utf8(data)
            .map_err(|_| "a kvdb-py model (extension type 2) is not UTF-8".to_string())?;
        let Value::Object(mut fields) = serde_json::from_str(&replace_non_finite(text))
            .map_err(|e| format!("a kvdb-py model (extension type 2): {e}"))?
        else {
            return Err("a kvdb-py model (extension type 2) is not a JSON object".into());
        };
        let Some(class @ Value::String(_)) = fields.remove("__class__") else {
            return Err("a kvdb-py model (extension type 2) has no \"__class__\"".into());
        };
        let mut envelope = Map::new();
        envelope.insert("__type__".into(), "pydantic".into());
        envelope.insert("__class__".into(), class);
        envelope.insert("value".into(), Value::Object(fields));
        Ok(Value::Object(envelope))
    }
}

fn bytes_envelope(data: &[u8]) -> Value {
    let mut envelope = Map::new();
    envelope.insert("__type__".into(), "bytes".into());
    envelope.insert("value".into(), Value::String(to_hex(data)));
    Value::Object(envelope)
}

fn float(f: f64) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => {
            let token = if f.is_nan() {
                "NaN"
            } else if f > 0.0 {
                "Infinity"
            } else {
                "-Infinity"
            };
            Value::String(format!("{NON_FINITE}{token}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn unhex(h: &str) -> Vec<u8> {
        let h: String = h.split_whitespace().collect();
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn kvdb_py_dict_reads_as_its_json() {
        // The FORMAT.md example: {"a":1,"b":[1,2],"c":"x","d":None,"e":2.5,"f":True}.
        let t = to_tree(&unhex(
            "86 a161 01 a162 920102 a163 a178 a164 c0 a165 cb4004000000000000 a166 c3",
        ))
        .unwrap();
        assert_eq!(
            t,
            json!({"a": 1, "b": [1, 2], "c": "x", "d": null, "e": 2.5, "f": true})
        );
    }

    #[test]
    fn every_format_family_reads() {
        let t = to_tree(&unhex(
            "9e 7f ff cc ff cd 0100 ce 00010000 cf 0000000100000000 d0 80 d1 8000 d2 80000000 \
             d3 8000000000000000 ca 3fc00000 c4 02 00ff d9 01 61 c2",
        ))
        .unwrap();
        assert_eq!(
            t,
            json!([127, -1, 255, 256, 65536, 4294967296u64, -128, -32768, -2147483648i64,
                   i64::MIN, 1.5, {"__type__": "bytes", "value": "00ff"}, "a", false])
        );
        // Int keys become their text; a map of a model (ext 2 nested in a dict).
        let model = br#"{"id": 1, "__class__": "models.U"}"#;
        let mut bytes = unhex("82 01 a178 a1 6d c7");
        bytes.push(model.len() as u8);
        bytes.push(2);
        bytes.extend_from_slice(model);
        assert_eq!(
            to_tree(&bytes).unwrap(),
            json!({"1": "x", "m": {"__type__": "pydantic", "__class__": "models.U", "value": {"id": 1}}})
        );
        let nan = to_tree(&unhex("cb 7ff8000000000000")).unwrap();
        assert_eq!(nan, Value::String(format!("{NON_FINITE}NaN")));
    }

    #[test]
    fn hostile_input_is_an_error() {
        for bad in [
            "dd ffffffff",
            "c6 ffffffff 00",
            "c1",
            "92 01",
            "a5 6162",
            "01 02",
            "c7 03 02 7b7d7d",
        ] {
            assert!(to_tree(&unhex(bad)).is_err(), "{bad}");
        }
        let deep = vec![0x91u8; MAX_DEPTH + 2];
        assert!(to_tree(&deep).unwrap_err().contains("deeper"));
    }
}

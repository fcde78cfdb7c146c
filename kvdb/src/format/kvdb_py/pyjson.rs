//! Python's `json.dumps` text, byte for byte: `", "` and `": "` separators, `ensure_ascii`
//! (non-ASCII as `\uXXXX`, astral characters as surrogate pairs), Python's float `repr`
//! (`1e-07`, `1e+16`, `1.0`). One deviation: serde_json writes a non-finite float nested in
//! a structure as `null` (as kvdb-py does with its orjson backend) where stdlib json writes
//! `NaN`; top-level floats are plain values and exact (`nan`, `inf`).

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

use crate::format::python::float_repr;

/// A `serde_json` formatter that writes what Python's `json.dumps` (default arguments) writes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PyFormatter;

impl Formatter for PyFormatter {
    fn write_f64<W: ?Sized + Write>(&mut self, w: &mut W, v: f64) -> io::Result<()> {
        let text = match float_repr(v).as_str() {
            "nan" => "NaN".to_owned(),
            "inf" => "Infinity".to_owned(),
            "-inf" => "-Infinity".to_owned(),
            other => other.to_owned(),
        };
        w.write_all(text.as_bytes())
    }

    fn write_f32<W: ?Sized + Write>(&mut self, w: &mut W, v: f32) -> io::Result<()> {
        // Python has no f32: the value is widened, as numpy does.
        self.write_f64(w, f64::from(v))
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { w.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        if fragment.is_ascii() {
            return w.write_all(fragment.as_bytes());
        }
        let mut buf = [0u16; 2];
        for c in fragment.chars() {
            if c.is_ascii() {
                w.write_all(&[c as u8])?;
            } else {
                for unit in c.encode_utf16(&mut buf) {
                    write!(w, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        escape: CharEscape,
    ) -> io::Result<()> {
        let s: &[u8] = match escape {
            CharEscape::Quote => b"\\\"",
            CharEscape::ReverseSolidus => b"\\\\",
            CharEscape::Solidus => b"/",
            CharEscape::Backspace => b"\\b",
            CharEscape::FormFeed => b"\\f",
            CharEscape::LineFeed => b"\\n",
            CharEscape::CarriageReturn => b"\\r",
            CharEscape::Tab => b"\\t",
            CharEscape::AsciiControl(b) => return write!(w, "\\u{b:04x}"),
        };
        w.write_all(s)
    }
}

/// Appends `value` as Python `json.dumps` text.
pub(crate) fn to_writer<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
) -> serde_json::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, PyFormatter);
    value.serialize(&mut ser)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python_repr() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.1"),
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (1e-7, "1e-07"),
            (2.5e-5, "2.5e-05"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1e22, "1e+22"),
            (0.0001, "0.0001"),
            (123456789.12345679, "123456789.12345679"),
            (1.23456, "1.23456"),
            (98.5, "98.5"),
            (-0.0, "-0.0"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (12345678901234567.0, "1.2345678901234568e+16"),
        ];
        for (v, want) in cases {
            assert_eq!(float_repr(*v), *want, "{v:?}");
        }
    }

    #[test]
    fn text_matches_json_dumps() {
        let mut out = Vec::new();
        let v =
            serde_json::json!({"a": 1, "b": [1, 2.5, "é😀\u{1}/\"\\\n\t"], "c": null, "d": true});
        to_writer(&mut out, &v).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a": 1, "b": [1, 2.5, "\u00e9\ud83d\ude00\u0001/\"\\\n\t"], "c": null, "d": true}"#
        );
        // serde_json hands non-finite floats to the formatter as `null`, which is what
        // kvdb-py writes with its orjson backend; top-level floats are plain `nan`/`inf`.
        let mut out = Vec::new();
        to_writer(
            &mut out,
            &[f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e-7],
        )
        .unwrap();
        assert_eq!(out, b"[null, null, null, 1e-07]");
    }
}

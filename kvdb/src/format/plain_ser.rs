//! Writes scalars in plain Redis form: the serde `Serializer` that decides, from the value
//! itself, whether it is a scalar (stored as is) or structured (stored through a codec).
//!
//! Strings are their UTF-8 bytes, integers and floats their decimal text (what `INCR` and
//! `INCRBYFLOAT` read and write), booleans `1`/`0` (as redis-rs writes them), byte strings
//! (`serde_bytes`, `bytes::Bytes`, or a non-empty `Vec<u8>`/`&[u8]`, which serde sees as a
//! sequence of `u8`) their bytes, and fieldless enum variants their name. Anything else is
//! structured, including an empty sequence: serde cannot tell an empty `Vec<u8>` from an empty
//! `Vec<String>`, and storing it as the empty string would read back as `""` everywhere else
//! (kvdb-py writes `_kvdbenc_[]`). Only a session without a serializer, which cannot store it
//! any other way, stores an empty sequence as the empty string.

use std::fmt;
use std::io::Write as _;

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::header::looks_like_header;
use super::python::{KVDB_PY_PREFIX, float_repr};
use super::{Codec, Compression, Header};

/// The value is not a scalar; it must go through a codec.
#[derive(Debug)]
pub(crate) struct NotPlain;

impl fmt::Display for NotPlain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a plain value")
    }
}

impl std::error::Error for NotPlain {}

impl ser::Error for NotPlain {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        NotPlain
    }
}

/// True if a raw value would be misread as a header and so must be stored behind a raw header.
pub(crate) fn needs_escape(bytes: &[u8]) -> bool {
    looks_like_header(bytes) || bytes.starts_with(KVDB_PY_PREFIX)
}

/// Which program's plain forms to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlainStyle {
    /// kvdb's: `1`/`0`, Redis-style floats, magic look-alikes escaped, `None` structured.
    Native,
    /// kvdb-py's: `True`/`False`, Python `repr` floats, `null` for `None`, nothing escaped.
    Python,
}

/// Appends `value` in plain form to `out` and returns true, or leaves `out` as it was and
/// returns false when the value is structured.
///
/// `empty_seq_plain`: store an empty sequence as the empty string (for sessions without a
/// serializer, which have no other way to store it).
pub(crate) fn write_plain<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    empty_seq_plain: bool,
) -> bool {
    write_plain_styled(value, out, PlainStyle::Native, empty_seq_plain)
}

/// [`write_plain`] in the given style.
pub(crate) fn write_plain_styled<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    style: PlainStyle,
    empty_seq_plain: bool,
) -> bool {
    let start = out.len();
    match value.serialize(PlainWriter {
        out: &mut *out,
        style,
        empty_seq_plain,
    }) {
        Ok(()) => {
            if style == PlainStyle::Native && needs_escape(&out[start..]) {
                let mut header = Vec::with_capacity(6);
                Header::new(Codec::Raw, Compression::None).write(&mut header);
                out.splice(start..start, header);
            }
            true
        }
        Err(NotPlain) => {
            out.truncate(start);
            false
        }
    }
}

struct PlainWriter<'a> {
    out: &'a mut Vec<u8>,
    style: PlainStyle,
    empty_seq_plain: bool,
}

impl PlainWriter<'_> {
    fn python_null(self) -> Result<(), NotPlain> {
        match self.style {
            PlainStyle::Python => {
                self.out.extend_from_slice(b"null");
                Ok(())
            }
            PlainStyle::Native => Err(NotPlain),
        }
    }
}

macro_rules! display_int {
    ($($m:ident: $t:ty),*) => {$(
        fn $m(self, v: $t) -> Result<(), NotPlain> {
            write!(self.out, "{v}").map_err(|_| NotPlain)
        }
    )*};
}

/// Writes a float the way Redis reads it back: shortest round-trip text, exponent form only
/// for very large or very small magnitudes, `inf`, `-inf`, `nan`.
pub(crate) fn write_float(out: &mut Vec<u8>, v: f64, shortest: impl fmt::Display + fmt::LowerExp) {
    let r = if v.is_nan() {
        out.write_all(b"nan")
    } else if v.is_infinite() {
        out.write_all(if v > 0.0 { b"inf" } else { b"-inf" })
    } else if v == 0.0 || (1e-5..1e16).contains(&v.abs()) {
        write!(out, "{shortest}")
    } else {
        write!(out, "{shortest:e}")
    };
    debug_assert!(r.is_ok(), "writing to a Vec cannot fail");
}

impl<'a> ser::Serializer for PlainWriter<'a> {
    type Ok = ();
    type Error = NotPlain;
    type SerializeSeq = PlainBytes<'a>;
    type SerializeTuple = Impossible<(), NotPlain>;
    type SerializeTupleStruct = Impossible<(), NotPlain>;
    type SerializeTupleVariant = Impossible<(), NotPlain>;
    type SerializeMap = Impossible<(), NotPlain>;
    type SerializeStruct = Impossible<(), NotPlain>;
    type SerializeStructVariant = Impossible<(), NotPlain>;

    display_int!(
        serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
        serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_u128: u128
    );

    fn serialize_bool(self, v: bool) -> Result<(), NotPlain> {
        let text: &[u8] = match (self.style, v) {
            (PlainStyle::Native, true) => b"1",
            (PlainStyle::Native, false) => b"0",
            (PlainStyle::Python, true) => b"True",
            (PlainStyle::Python, false) => b"False",
        };
        self.out.extend_from_slice(text);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), NotPlain> {
        match self.style {
            PlainStyle::Native => write_float(self.out, f64::from(v), v),
            // Python floats are f64: widen through the shortest f32 text, so 0.1f32 is 0.1.
            PlainStyle::Python => {
                let wide = v.to_string().parse::<f64>().unwrap_or(f64::from(v));
                self.out.extend_from_slice(float_repr(wide).as_bytes());
            }
        }
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), NotPlain> {
        match self.style {
            PlainStyle::Native => write_float(self.out, v, v),
            PlainStyle::Python => self.out.extend_from_slice(float_repr(v).as_bytes()),
        }
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), NotPlain> {
        self.out
            .extend_from_slice(v.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), NotPlain> {
        self.out.extend_from_slice(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), NotPlain> {
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), NotPlain> {
        self.python_null()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotPlain> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), NotPlain> {
        self.python_null()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), NotPlain> {
        Err(NotPlain)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), NotPlain> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotPlain> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), NotPlain> {
        Err(NotPlain)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<PlainBytes<'a>, NotPlain> {
        Ok(PlainBytes {
            out: self.out,
            len: 0,
            empty_plain: self.empty_seq_plain,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotPlain> {
        Err(NotPlain)
    }
}

/// A sequence is plain only if it has elements and every one is a `u8`: it is then a byte
/// string.
struct PlainBytes<'a> {
    out: &'a mut Vec<u8>,
    len: usize,
    empty_plain: bool,
}

impl ser::SerializeSeq for PlainBytes<'_> {
    type Ok = ();
    type Error = NotPlain;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotPlain> {
        self.out.push(value.serialize(OnlyU8)?);
        self.len += 1;
        Ok(())
    }
    fn end(self) -> Result<(), NotPlain> {
        if self.len == 0 && !self.empty_plain {
            return Err(NotPlain);
        }
        Ok(())
    }
}

/// Accepts a `u8` and nothing else.
struct OnlyU8;

macro_rules! refuse {
    ($($m:ident($($t:ty),*)),*) => {$(
        fn $m(self, $(_: $t),*) -> Result<u8, NotPlain> { Err(NotPlain) }
    )*};
}

impl ser::Serializer for OnlyU8 {
    type Ok = u8;
    type Error = NotPlain;
    type SerializeSeq = Impossible<u8, NotPlain>;
    type SerializeTuple = Impossible<u8, NotPlain>;
    type SerializeTupleStruct = Impossible<u8, NotPlain>;
    type SerializeTupleVariant = Impossible<u8, NotPlain>;
    type SerializeMap = Impossible<u8, NotPlain>;
    type SerializeStruct = Impossible<u8, NotPlain>;
    type SerializeStructVariant = Impossible<u8, NotPlain>;

    fn serialize_u8(self, v: u8) -> Result<u8, NotPlain> {
        Ok(v)
    }
    refuse!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str)
    );
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<u8, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotPlain> {
        Err(NotPlain)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotPlain> {
        Err(NotPlain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain<T: Serialize + ?Sized>(v: &T) -> Option<Vec<u8>> {
        let mut out = b"xx".to_vec();
        write_plain(v, &mut out, false).then(|| out[2..].to_vec())
    }

    #[test]
    fn scalars_are_plain() {
        assert_eq!(plain("héllo").as_deref(), Some("héllo".as_bytes()));
        assert_eq!(plain(&-42i64).as_deref(), Some(&b"-42"[..]));
        assert_eq!(
            plain(&u128::MAX).as_deref(),
            Some(u128::MAX.to_string().as_bytes())
        );
        assert_eq!(plain(&true).as_deref(), Some(&b"1"[..]));
        assert_eq!(plain(&1.5f64).as_deref(), Some(&b"1.5"[..]));
        assert_eq!(plain(&1e-7f64).as_deref(), Some(&b"1e-7"[..]));
        assert_eq!(plain(&1e300f64).as_deref(), Some(&b"1e300"[..]));
        assert_eq!(plain(&f64::NAN).as_deref(), Some(&b"nan"[..]));
        assert_eq!(plain(&f64::NEG_INFINITY).as_deref(), Some(&b"-inf"[..]));
        assert_eq!(plain(&0.1f32).as_deref(), Some(&b"0.1"[..]));
        assert_eq!(plain(&vec![0u8, 255]).as_deref(), Some(&[0u8, 255][..]));
        assert_eq!(plain(&Some(7u8)).as_deref(), Some(&b"7"[..]));
    }

    #[test]
    fn structured_values_are_not_plain_and_leave_out_untouched() {
        let mut out = b"xx".to_vec();
        assert!(!write_plain(&vec![1u16, 2], &mut out, false));
        assert!(!write_plain(&vec!["a"], &mut out, false));
        assert!(!write_plain(&(1u8, 2u8), &mut out, false));
        assert!(!write_plain(&None::<u8>, &mut out, false));
        assert!(!write_plain(
            &std::collections::BTreeMap::<u8, u8>::new(),
            &mut out,
            false
        ));
        // An empty sequence is structured (serde cannot tell an empty Vec<u8> from an empty
        // Vec<String>), except for a session that has no serializer to store it with.
        assert!(!write_plain(&Vec::<String>::new(), &mut out, false));
        assert!(!write_plain(&Vec::<u8>::new(), &mut out, false));
        assert!(!write_plain(&[0u8; 0], &mut out, false));
        assert_eq!(out, b"xx");
        assert!(write_plain(&Vec::<u8>::new(), &mut out, true));
        assert_eq!(out, b"xx");
    }

    #[test]
    fn magic_lookalikes_are_escaped() {
        assert_eq!(plain("kv1j-|x").as_deref(), Some(&b"kv1r-|kv1j-|x"[..]));
        assert_eq!(plain("kv7").as_deref(), Some(&b"kv1r-|kv7"[..]));
        assert_eq!(
            plain("_kvdbenc_{}").as_deref(),
            Some(&b"kv1r-|_kvdbenc_{}"[..])
        );
        assert_eq!(plain("kvx").as_deref(), Some(&b"kvx"[..]));
    }
}

//! Reads plain Redis values (the bytes of a string, a number, a flag) into Rust types.
//!
//! This is how `get::<i64>` reads a counter that `INCR` made and `get::<String>` reads what
//! `redis-cli SET k hello` wrote. Asking for a struct, map or other structured type from plain
//! bytes is an error that says so.

use std::fmt;
use std::str::FromStr;

use serde::de::value::{BorrowedStrDeserializer, SeqDeserializer};
use serde::de::{self, Visitor};

/// The error of reading plain bytes as some type.
#[derive(Debug)]
pub(crate) struct PlainError(String);

impl fmt::Display for PlainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlainError {}

impl de::Error for PlainError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PlainError(msg.to_string())
    }
}

/// A serde `Deserializer` over the bytes of a plain value.
#[derive(Clone, Copy)]
pub(crate) struct PlainDeserializer<'de> {
    bytes: &'de [u8],
    null_is_none: bool,
}

impl<'de> PlainDeserializer<'de> {
    pub(crate) fn new(bytes: &'de [u8]) -> Self {
        PlainDeserializer {
            bytes,
            null_is_none: false,
        }
    }

    /// Reads the exact bytes `null` as `None`, as kvdb-py does.
    pub(crate) fn null_is_none(mut self) -> Self {
        self.null_is_none = true;
        self
    }

    fn is_null(&self) -> bool {
        self.null_is_none && self.bytes == b"null"
    }

    fn excerpt(&self) -> String {
        const MAX: usize = 40;
        let s = String::from_utf8_lossy(&self.bytes[..self.bytes.len().min(MAX)]);
        if self.bytes.len() > MAX {
            format!("{s:?}... ({} bytes)", self.bytes.len())
        } else {
            format!("{s:?}")
        }
    }

    fn str(&self, what: &str) -> Result<&'de str, PlainError> {
        std::str::from_utf8(self.bytes).map_err(|_| {
            PlainError(format!(
                "expected {what}, found {} bytes that are not UTF-8",
                self.bytes.len()
            ))
        })
    }

    fn parse<T: FromStr>(&self, what: &str) -> Result<T, PlainError> {
        self.str(what)?.parse().map_err(|_| {
            PlainError(format!(
                "expected {what}, found the plain value {}",
                self.excerpt()
            ))
        })
    }

    fn structured(&self, what: &str) -> PlainError {
        PlainError(format!(
            "expected {what}, found the plain value {} (a string, number or bytes not written \
             by a kvdb serializer); read it as String or Vec<u8>, or store it with a serializer",
            self.excerpt()
        ))
    }
}

macro_rules! parse_num {
    ($($m:ident => $visit:ident: $t:ty),*) => {$(
        fn $m<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
            visitor.$visit(self.parse::<$t>(stringify!($t))?)
        }
    )*};
}

macro_rules! structured {
    ($($m:ident($($arg:ident: $t:ty),*) => $what:expr),*) => {$(
        fn $m<V: Visitor<'de>>(self, $($arg: $t,)* _visitor: V) -> Result<V::Value, PlainError> {
            $(let _ = $arg;)*
            Err(self.structured(AsRef::<str>::as_ref(&$what)))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for PlainDeserializer<'de> {
    type Error = PlainError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        if self.is_null() {
            return visitor.visit_unit();
        }
        match std::str::from_utf8(self.bytes) {
            Ok(s) => visitor.visit_borrowed_str(s),
            // Bytes that are not text, read by a self-describing type (`serde_json::Value`):
            // what serde_json makes of bytes, an array of numbers 0-255.
            Err(_) => self.deserialize_seq(visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        let v = match self.bytes {
            b"1" => true,
            b"0" => false,
            b if b.eq_ignore_ascii_case(b"true") => true,
            b if b.eq_ignore_ascii_case(b"false") => false,
            _ => {
                return Err(PlainError(format!(
                    "expected a bool (1, 0, true, false), found the plain value {}",
                    self.excerpt()
                )));
            }
        };
        visitor.visit_bool(v)
    }

    with_numbers!(parse_num);

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        let s = self.str("a char")?;
        let mut chars = s.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(PlainError(format!(
                "expected a single char, found the plain value {}",
                self.excerpt()
            ))),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_borrowed_str(self.str("a string")?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_borrowed_bytes(self.bytes)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_borrowed_bytes(self.bytes)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        if self.is_null() {
            return visitor.visit_none();
        }
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, PlainError> {
        visitor.visit_newtype_struct(self)
    }

    /// A plain value read as a sequence is a byte string: `Vec<u8>` reads any value's bytes.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        let mut seq = SeqDeserializer::new(self.bytes.iter().copied());
        let v = visitor.visit_seq(&mut seq)?;
        seq.end()?;
        Ok(v)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, PlainError> {
        let s = self.str(&format!("a variant of enum {name}"))?;
        let d = BorrowedStrDeserializer::<'de, PlainError>::new(s);
        visitor.visit_enum(d)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_unit()
    }

    structured!(
        deserialize_unit() => String::from("a unit value"),
        deserialize_unit_struct(name: &'static str) => name,
        deserialize_tuple(len: usize) => format!("a tuple of {len}"),
        deserialize_tuple_struct(name: &'static str, len: usize) => {
            let _ = len;
            name.to_owned()
        },
        deserialize_map() => String::from("a map"),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]) => {
            let _ = fields;
            format!("struct {name}")
        }
    );

    fn is_human_readable(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn read<'a, T: Deserialize<'a>>(b: &'a [u8]) -> Result<T, PlainError> {
        T::deserialize(PlainDeserializer::new(b))
    }

    #[derive(Debug, Deserialize, PartialEq)]
    enum Color {
        Red,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct S {
        a: u8,
    }

    #[test]
    fn reads_scalars() {
        assert_eq!(read::<i64>(b"-12").unwrap(), -12);
        assert_eq!(
            read::<u128>(b"340282366920938463463374607431768211455").unwrap(),
            u128::MAX
        );
        assert_eq!(read::<f64>(b"1e-7").unwrap(), 1e-7);
        assert!(read::<f64>(b"nan").unwrap().is_nan());
        assert_eq!(read::<f64>(b"-inf").unwrap(), f64::NEG_INFINITY);
        assert!(read::<bool>(b"1").unwrap());
        assert!(!read::<bool>(b"False").unwrap());
        assert_eq!(read::<String>("héllo".as_bytes()).unwrap(), "héllo");
        assert_eq!(read::<&str>(b"borrowed").unwrap(), "borrowed");
        assert_eq!(read::<Vec<u8>>(b"\x00\xff").unwrap(), vec![0, 255]);
        assert_eq!(read::<Option<u8>>(b"7").unwrap(), Some(7));
        assert_eq!(read::<char>("é".as_bytes()).unwrap(), 'é');
        assert_eq!(read::<Color>(b"Red").unwrap(), Color::Red);
        assert_eq!(
            read::<serde_json::Value>(b"\x00\xff").unwrap(),
            serde_json::json!([0, 255])
        );
        assert_eq!(read::<serde_json::Value>(b"hi").unwrap(), "hi");
    }

    #[test]
    fn wrong_types_are_errors_that_say_what_was_found() {
        let e = read::<i64>(b"hello").unwrap_err().to_string();
        assert!(e.contains("expected i64") && e.contains("\"hello\""), "{e}");
        let e = read::<S>(b"hello").unwrap_err().to_string();
        assert!(
            e.contains("struct S") && e.contains("read it as String"),
            "{e}"
        );
        let e = read::<String>(b"\xff\xfe").unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
        assert!(read::<bool>(b"yes").is_err());
        assert!(read::<char>(b"ab").is_err());
        assert!(read::<Vec<String>>(b"ab").is_err());
        assert!(read::<Color>(b"Blue").is_err());
        assert!(read::<std::collections::HashMap<String, u8>>(b"x").is_err());
    }
}

//! What a computed value is, for negative caching: `None` (or `()`), a `Result`'s `Err`, or
//! anything else. A serde `Serializer` that stops at the first call, so probing costs one
//! call whatever the value's size. Pure.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

/// The kind of a computed value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `None` or `()`: a negative result.
    Empty,
    /// The `Err` of a `Result`.
    Failure,
    /// Anything else.
    Value,
}

/// The kind of `value`.
pub(crate) fn kind<T: Serialize + ?Sized>(value: &T) -> Kind {
    match value.serialize(Probe) {
        Ok(k) | Err(Found(k)) => k,
    }
}

#[derive(Debug)]
struct Found(Kind);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Found(Kind::Value)
    }
}

struct Probe;

type Done = Impossible<Kind, Found>;

macro_rules! value {
    ($($name:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $name(self, $(_: $arg),*) -> Result<Kind, Found> { Ok(Kind::Value) })*
    };
}

impl ser::Serializer for Probe {
    type Ok = Kind;
    type Error = Found;
    type SerializeSeq = Done;
    type SerializeTuple = Done;
    type SerializeTupleStruct = Done;
    type SerializeTupleVariant = Done;
    type SerializeMap = Done;
    type SerializeStruct = Done;
    type SerializeStructVariant = Done;

    value!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_i128(i128),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_u128(u128),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_none(self) -> Result<Kind, Found> {
        Ok(Kind::Empty)
    }

    fn serialize_unit(self) -> Result<Kind, Found> {
        Ok(Kind::Empty)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<Kind, Found> {
        Ok(Kind::Value)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Kind, Found> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Kind, Found> {
        match (name, variant) {
            ("Result", "Err") => Ok(Kind::Failure),
            // `Ok(None)` is a negative result too.
            ("Result", "Ok") => value.serialize(self),
            _ => Ok(Kind::Value),
        }
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Done, Found> {
        Err(Found(Kind::Value))
    }
    fn serialize_tuple(self, _: usize) -> Result<Done, Found> {
        Err(Found(Kind::Value))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Done, Found> {
        Err(Found(Kind::Value))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Done, Found> {
        Err(Found(Kind::Value))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Done, Found> {
        Err(Found(Kind::Value))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Done, Found> {
        Err(Found(Kind::Value))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Done, Found> {
        Err(Found(Kind::Value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct User {
        id: u64,
    }

    #[test]
    fn kinds() {
        assert_eq!(kind(&None::<User>), Kind::Empty);
        assert_eq!(kind(&()), Kind::Empty);
        assert_eq!(kind(&Some(User { id: 1 })), Kind::Value);
        assert_eq!(kind(&User { id: 1 }), Kind::Value);
        assert_eq!(kind(&vec![1, 2]), Kind::Value);
        assert_eq!(kind(&0u8), Kind::Value);
        assert_eq!(kind(&Ok::<u8, String>(1)), Kind::Value);
        assert_eq!(kind(&Ok::<Option<u8>, String>(None)), Kind::Empty);
        assert_eq!(kind(&Err::<u8, String>("no".into())), Kind::Failure);
    }
}

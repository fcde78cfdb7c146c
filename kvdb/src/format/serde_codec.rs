//! The serde backends behind each [`Codec`]: JSON, CBOR, MessagePack.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Codec, SerializerOptions};
use crate::error::{BoxError, Error, KeyContext, Result};

/// Writes `value` serialized with `codec` to `out` (a `Vec` to append to, or a command's
/// next argument).
pub(crate) fn serialize_into<T: Serialize + ?Sized, W: std::io::Write>(
    codec: Codec,
    opts: SerializerOptions,
    value: &T,
    out: &mut W,
) -> Result<()> {
    let _ = opts;
    let r: std::result::Result<(), BoxError> = match codec {
        Codec::Json if opts.pretty_json => {
            serde_json::to_writer_pretty(&mut *out, value).map_err(Into::into)
        }
        Codec::Json => serde_json::to_writer(&mut *out, value).map_err(Into::into),
        #[cfg(feature = "cbor")]
        Codec::Cbor => ciborium::into_writer(value, &mut *out).map_err(Into::into),
        #[cfg(feature = "msgpack")]
        Codec::MsgPack => {
            let mut ser = rmp_serde::Serializer::new(&mut *out).with_struct_map();
            value.serialize(&mut ser).map_err(Into::into)
        }
        other => return Err(not_compiled(other)),
    };
    r.map_err(|source| Error::Encode {
        key: KeyContext::default(),
        type_name: std::any::type_name::<T>(),
        codec,
        source,
    })
}

/// Deserializes a `T` from `bytes` written by `codec`.
pub(crate) fn deserialize_from<T: DeserializeOwned>(codec: Codec, bytes: &[u8]) -> Result<T> {
    let r: std::result::Result<T, BoxError> = match codec {
        Codec::Json => serde_json::from_slice(bytes).map_err(Into::into),
        #[cfg(feature = "cbor")]
        Codec::Cbor => ciborium::from_reader(bytes).map_err(Into::into),
        #[cfg(feature = "msgpack")]
        Codec::MsgPack => rmp_serde::from_slice(bytes).map_err(Into::into),
        Codec::Raw => T::deserialize(super::PlainDeserializer::new(bytes)).map_err(Into::into),
        #[allow(unreachable_patterns)]
        other => return Err(not_compiled(other)),
    };
    r.map_err(|source| Error::Decode {
        key: KeyContext::default(),
        type_name: std::any::type_name::<T>(),
        codec,
        source,
    })
}

/// Whether this build has the codec.
pub(crate) const fn is_compiled_in(codec: Codec) -> bool {
    match codec {
        Codec::Raw | Codec::Json => true,
        Codec::Cbor => cfg!(feature = "cbor"),
        Codec::MsgPack => cfg!(feature = "msgpack"),
    }
}

pub(crate) fn not_compiled(codec: Codec) -> Error {
    Error::NotCompiledIn {
        key: KeyContext::default(),
        what: format!("the {codec} codec"),
        feature: feature_of(codec),
    }
}

pub(crate) const fn feature_of(codec: Codec) -> &'static str {
    match codec {
        Codec::Raw | Codec::Json => "default",
        Codec::Cbor => "cbor",
        Codec::MsgPack => "msgpack",
    }
}

//! kvdb-py's MessagePack: plain `msgpack.packb(use_bin_type=True)` for data, and extension
//! type 2 holding `json.dumps({**model_dump(), "__class__": name})` for pydantic models.

use serde::Serialize;
use serde_json::Value;

use super::PyClass;
use super::pyjson;

/// The extension type kvdb-py uses for pydantic models.
const MODEL_EXT: u8 = 2;

/// Appends `value` as kvdb-py's MessagePack.
pub(super) fn write<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    value: &T,
    class: Option<PyClass<'_>>,
) -> Result<(), String> {
    match class {
        Some(class) => {
            let mut json = Vec::new();
            pyjson::to_writer(&mut json, value).map_err(|e| e.to_string())?;
            if json.last() != Some(&b'}') {
                return Err("a model must serialize to a JSON object".into());
            }
            json.pop();
            if json != b"{" {
                json.extend_from_slice(b", ");
            }
            json.extend_from_slice(b"\"__class__\": ");
            pyjson::to_writer(&mut json, class.name).map_err(|e| e.to_string())?;
            json.push(b'}');
            write_ext_header(out, json.len(), MODEL_EXT)?;
            out.extend_from_slice(&json);
            Ok(())
        }
        None => plain(out, value),
    }
}

#[cfg(feature = "msgpack")]
fn plain<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), String> {
    let mut ser = rmp_serde::Serializer::new(out).with_struct_map();
    value.serialize(&mut ser).map_err(|e| e.to_string())
}

#[cfg(not(feature = "msgpack"))]
fn plain<T: Serialize + ?Sized>(_: &mut Vec<u8>, _: &T) -> Result<(), String> {
    Err("kvdb was built without the `msgpack` feature".into())
}

fn write_ext_header(out: &mut Vec<u8>, len: usize, ext: u8) -> Result<(), String> {
    if let Ok(n) = u8::try_from(len) {
        out.extend_from_slice(&[0xc7, n, ext]);
    } else if let Ok(n) = u16::try_from(len) {
        out.push(0xc8);
        out.extend_from_slice(&n.to_be_bytes());
        out.push(ext);
    } else {
        let n = u32::try_from(len).map_err(|_| "a model over 4 GiB".to_string())?;
        out.push(0xc9);
        out.extend_from_slice(&n.to_be_bytes());
        out.push(ext);
    }
    Ok(())
}

/// If `bytes` is exactly one extension-type-2 value, its JSON object without `__class__`,
/// and the class.
pub(super) fn split_model(bytes: &[u8]) -> Option<(Value, String)> {
    let (ext, data) = match bytes {
        [0xc7, n, t, rest @ ..] if rest.len() == usize::from(*n) => (*t, rest),
        [0xc8, a, b, t, rest @ ..] if rest.len() == usize::from(u16::from_be_bytes([*a, *b])) => {
            (*t, rest)
        }
        [0xc9, a, b, c, d, t, rest @ ..]
            if rest.len() as u64 == u64::from(u32::from_be_bytes([*a, *b, *c, *d])) =>
        {
            (*t, rest)
        }
        _ => return None,
    };
    if ext != MODEL_EXT {
        return None;
    }
    let text = std::str::from_utf8(data).ok()?;
    let text = super::read::replace_non_finite(text);
    let Value::Object(mut map) = serde_json::from_str(&text).ok()? else {
        return None;
    };
    let Some(Value::String(class)) = map.remove("__class__") else {
        return None;
    };
    Some((Value::Object(map), class))
}

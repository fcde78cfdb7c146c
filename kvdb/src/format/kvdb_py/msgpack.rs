//! kvdb-py's MessagePack: plain `msgpack.packb(use_bin_type=True)` for data, and extension
//! type 2 holding `json.dumps({**model_dump(), "__class__": name})` for pydantic models.

use serde::Serialize;

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
            let json = model_json(value, class.name)?;
            write_ext_header(out, json.len(), MODEL_EXT)?;
            out.extend_from_slice(&json);
            Ok(())
        }
        None => plain(out, value),
    }
}

/// What extension type 2 holds for a model: its fields as Python JSON, `"__class__"` last.
pub(crate) fn model_json<T: Serialize + ?Sized>(value: &T, class: &str) -> Result<Vec<u8>, String> {
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
    pyjson::to_writer(&mut json, class).map_err(|e| e.to_string())?;
    json.push(b'}');
    Ok(json)
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

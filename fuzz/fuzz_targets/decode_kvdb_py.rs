//! Arbitrary kvdb-py payloads (`_kvdbenc_` + JSON, MessagePack or a compression frame) into
//! untyped and typed values: never a panic, never anything instantiated by name.
#![no_main]

mod common;

use common::{LIMIT, Typed};
use kvdb::Format;
use kvdb::format::{decode_as, decode_with_limit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut stored = b"_kvdbenc_".to_vec();
    stored.extend_from_slice(data);
    let _ = decode_with_limit::<serde_json::Value>(&stored, LIMIT);
    let _ = decode_with_limit::<Typed>(&stored, LIMIT);
    let _ = decode_with_limit::<Vec<u8>>(&stored, LIMIT);
    let _ = decode_with_limit::<std::time::Duration>(&stored, LIMIT);
    let _ = decode_with_limit::<std::collections::HashSet<String>>(&stored, LIMIT);
    // kvdb-py's plain scalars, as a kvdb-py reader sees them.
    let _ = decode_as::<Option<f64>>(Format::KvdbPy, data);
    let _ = decode_as::<Option<String>>(Format::KvdbPy, data);
});

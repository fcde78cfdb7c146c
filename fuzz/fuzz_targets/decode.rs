//! Arbitrary stored bytes through every decoding entry point: never a panic, a hang or an
//! allocation past the cap; only `Ok` or a typed error.
#![no_main]

mod common;

use common::{LIMIT, Typed, User};
use kvdb::Format;
use kvdb::format::{decode_as, decode_with_limit, inspect};
use kvdb::fuzzing::{decode_any, decode_model};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = inspect(data);
    let _ = decode_with_limit::<serde_json::Value>(data, LIMIT);
    let _ = decode_with_limit::<Typed>(data, LIMIT);
    let _ = decode_with_limit::<String>(data, LIMIT);
    let _ = decode_with_limit::<Vec<u8>>(data, LIMIT);
    let _ = decode_with_limit::<i64>(data, LIMIT);
    let _ = decode_with_limit::<f64>(data, LIMIT);
    let _ = decode_with_limit::<Option<bool>>(data, LIMIT);
    let _ = decode_as::<serde_json::Value>(Format::KvdbPy, data);
    let _ = decode_model::<User>(data, LIMIT);
    let _ = decode_any(data, LIMIT);
});

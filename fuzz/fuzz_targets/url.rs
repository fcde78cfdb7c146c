//! Arbitrary URLs: resolving never panics, and a password never shows in what resolving
//! gives back (the redacted URL, `Debug` of the options, or the error).
#![no_main]

use kvdb::fuzzing::resolve_url;
use libfuzzer_sys::fuzz_target;

/// Stands for a password inside the fuzzed URL.
const MARK: &str = "Pw7qX";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The input as a whole URL.
    let _ = resolve_url(text);
    // The input split into a password and the rest of a URL at its first NUL; the scheme is
    // chosen by the first byte.
    let (pw, rest) = text.split_once('\0').unwrap_or((text, ""));
    if rest.contains(MARK) {
        return;
    }
    let scheme = match data.first().map(|b| b % 6) {
        Some(0) => "redis",
        Some(1) => "rediss",
        Some(2) => "redis+unix",
        Some(3) => "redis+cluster",
        Some(4) => "redis+sentinel",
        _ => "valkey",
    };
    let url = format!("{scheme}://user:{pw}{MARK}@{rest}");
    let shown = resolve_url(&url);
    assert!(
        !shown.display.contains(MARK) && !shown.debug.contains(MARK),
        "{url:?} shows the password: {shown:?}"
    );
});

//! Peak memory of a 64 MiB value's round trip, one child process per case so that each peak
//! is its own: `VmHWM` (peak RSS) minus the RSS just before the value is built.

use std::process::Command;

use kvdb::redis::{self, Commands};
use kvdb::{Compression, KVDBClient, Serializer, SessionOptions};
use serde::{Deserialize, Serialize};

/// The value's size: 64 MiB of text.
pub(crate) const SIZE: usize = 64 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
struct Blob {
    text: String,
}

/// Text of random words and numbers: compresses about as well as real JSON (zstd-3: ~3.5x).
/// Nothing in it needs a JSON escape, so serde_json decodes it without a scratch copy.
fn text(len: usize) -> String {
    const WORDS: [&str; 16] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliet", "kilo", "lima", "mike", "november", "oscar", "papa",
    ];
    let mut s = String::with_capacity(len);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(WORDS[(x % 16) as usize]);
        s.push(if x.is_multiple_of(7) { ',' } else { ' ' });
        if x.is_multiple_of(5) {
            s.push_str(&((x >> 20) % 100_000).to_string());
        }
    }
    s.truncate(len);
    s
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn checksum(s: &[u8]) -> u64 {
    s.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The cases: name and what runs.
pub(crate) const CASES: [&str; 4] = [
    "raw bytes (a)",
    "serde_json layer (b)",
    "kvdb none",
    "kvdb zstd",
];

/// Runs one case in this process and prints `MEM <peak bytes>`.
pub(crate) fn child(case: usize, url: &str) {
    let key = "bench:big";
    let compression = if case == 3 {
        Compression::Zstd
    } else {
        Compression::None
    };
    let session = KVDBClient::get_session(
        SessionOptions::new("bench-mem")
            .url(url)
            .serializer(Serializer::Json)
            .compression(compression)
            .pool_size(1),
    )
    .expect("session");
    let mut con = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connection");
    session.exists(key).expect("connect");
    let base = status_kb("VmRSS:");
    let blob = Blob { text: text(SIZE) };
    let sum = checksum(blob.text.as_bytes());
    let back = match case {
        0 => {
            let bytes = serde_json::to_vec(&blob).expect("json");
            drop(blob);
            let () = con.set(key, &bytes[..]).expect("SET");
            drop(bytes);
            let got: Vec<u8> = con.get(key).expect("GET");
            serde_json::from_slice::<Blob>(&got).expect("json").text
        }
        1 => {
            let () = con
                .set(key, serde_json::to_vec(&blob).expect("json"))
                .expect("SET");
            drop(blob);
            let got: Vec<u8> = con.get(key).expect("GET");
            serde_json::from_slice::<Blob>(&got).expect("json").text
        }
        _ => {
            session.set(key, &blob).expect("set");
            drop(blob);
            session
                .get::<Blob>(key)
                .expect("get")
                .expect("present")
                .text
        }
    };
    assert_eq!(
        checksum(back.as_bytes()),
        sum,
        "round trip changed the value"
    );
    let peak = status_kb("VmHWM:").saturating_sub(base);
    let stored: usize = con.strlen(key).expect("STRLEN");
    println!("MEM {} {}", peak * 1024, stored);
}

/// Runs every case in a child process; returns (case, peak bytes, stored bytes).
pub(crate) fn run(url: &str) -> Vec<(&'static str, u64, u64)> {
    let exe = std::env::current_exe().expect("current exe");
    CASES
        .iter()
        .enumerate()
        .filter_map(|(i, name)| {
            let out = Command::new(&exe)
                .args(["--memory-case", &i.to_string()])
                .env("KVDB_BENCH_URL", url)
                .output()
                .ok()?;
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().find(|l| l.starts_with("MEM "))?;
            let mut it = line.split_whitespace().skip(1).map(|v| v.parse::<u64>());
            match (it.next(), it.next()) {
                (Some(Ok(peak)), Some(Ok(stored))) => Some((*name, peak, stored)),
                _ => {
                    eprintln!(
                        "memory case {name} failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    None
                }
            }
        })
        .collect()
}

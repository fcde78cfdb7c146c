//! Decompression bombs: a few KiB that expand to hundreds of MiB are refused, and the peak
//! memory held while refusing them stays near the cap, whatever the expansion.
//!
//! The global allocator counts live bytes; the measurements run one after another in a single
//! test, so that no other test of this binary allocates meanwhile. It sees Rust allocations
//! (output buffers, the LZ4 and deflate decoders' state); libzstd's own buffers are C
//! allocations, bounded separately by the window limit (last case).
#![cfg(all(feature = "zstd", feature = "lz4", feature = "gzip", feature = "zlib"))]
#![allow(clippy::unwrap_used)]

use std::io::Write;

use kvdb::format::{Header, decode_with_limit};
use kvdb::{Codec, Compression, Error};
use kvdb_alloc_probe::Probe;

#[global_allocator]
static PROBE: Probe = Probe::new();

const MIB: usize = 1024 * 1024;
/// The cap the bombs are decoded with.
const CAP: usize = MIB;
/// How far over the cap the peak may go: the decoder's own state (a zstd window, an LZ4
/// block) and the output buffer's growth by doubling up to the cap.
const PEAK_BOUND: usize = 8 * MIB;

/// Feeds a JSON string of `total` zeros to `w`, 64 KiB at a time (the bomb's expansion is
/// never held in memory).
fn zeros<W: Write>(mut w: W, total: usize) -> W {
    let chunk = [b'0'; 64 * 1024];
    w.write_all(b"\"").unwrap();
    for _ in 0..total / chunk.len() {
        w.write_all(&chunk).unwrap();
    }
    w.write_all(b"\"").unwrap();
    w
}

/// A stored value whose payload, a JSON string of `expansion` zeros, is compressed with `alg`.
fn bomb(alg: Compression, expansion: usize) -> Vec<u8> {
    let mut out = Vec::new();
    Header::new(Codec::Json, alg).write(&mut out);
    match alg {
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(out, 19).unwrap();
            // Claim no content size, so that the decoder cannot refuse it up front.
            enc.include_contentsize(false).unwrap();
            zeros(enc, expansion).finish().unwrap()
        }
        Compression::Lz4 => zeros(lz4_flex::frame::FrameEncoder::new(out), expansion)
            .finish()
            .unwrap(),
        Compression::Gzip => {
            let enc = flate2::write::GzEncoder::new(out, flate2::Compression::best());
            zeros(enc, expansion).finish().unwrap()
        }
        Compression::Zlib => {
            let enc = flate2::write::ZlibEncoder::new(out, flate2::Compression::best());
            zeros(enc, expansion).finish().unwrap()
        }
        other => panic!("{other} is not a compression"),
    }
}

/// A zstd frame that declares the largest window the decoder accepts by default (128 MiB)
/// and no content size, around a few bytes: a streaming decoder would allocate the window.
fn zstd_big_window() -> Vec<u8> {
    let mut out = Vec::new();
    Header::new(Codec::Json, Compression::Zstd).write(&mut out);
    let mut enc = zstd::stream::write::Encoder::new(out, 3).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.window_log(27).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.write_all(b"\"hello\"").unwrap();
    enc.finish().unwrap()
}

/// Decodes `bytes` with the cap; returns the result and the peak bytes held above the start.
fn measure(bytes: &[u8]) -> (kvdb::Result<String>, usize) {
    let base = PROBE.reset_peak();
    let r = decode_with_limit::<String>(bytes, CAP);
    (r, PROBE.peak() - base)
}

#[test]
fn bombs_are_refused_with_bounded_peak_memory() {
    let algs = [
        Compression::Zstd,
        Compression::Lz4,
        Compression::Gzip,
        Compression::Zlib,
    ];
    for alg in algs {
        for expansion in [64 * MIB, 256 * MIB] {
            let bytes = bomb(alg, expansion);
            let (r, peak) = measure(&bytes);
            println!(
                "bomb {alg}: {} bytes stored, expands to {} MiB, cap {} MiB: peak {:.2} MiB held",
                bytes.len(),
                expansion / MIB,
                CAP / MIB,
                peak as f64 / MIB as f64
            );
            let e = r.unwrap_err();
            assert!(
                matches!(e, Error::DecompressedTooLarge { compression, limit: CAP, .. } if compression == alg),
                "{alg}: {e:?}"
            );
            assert!(
                peak < PEAK_BOUND,
                "{alg}: {peak} bytes held refusing a {expansion}-byte bomb"
            );
        }
    }
    // The same payloads in kvdb-py's format (`_kvdbenc_` + compression frame) take the
    // same capped path.
    for alg in algs {
        let native = bomb(alg, 64 * MIB);
        let (_, payload) = Header::parse(&native).unwrap();
        let mut py = b"_kvdbenc_".to_vec();
        py.extend_from_slice(payload);
        let base = PROBE.reset_peak();
        let r = decode_with_limit::<serde_json::Value>(&py, CAP);
        let peak = PROBE.peak() - base;
        println!(
            "kvdb-py bomb {alg}: {} bytes, peak {:.2} MiB: {}",
            py.len(),
            peak as f64 / MIB as f64,
            r.as_ref()
                .map(|_| "decoded".into())
                .unwrap_or_else(|e| e.to_string())
        );
        assert!(r.is_err(), "{alg}: a kvdb-py bomb must be refused");
        assert!(peak < PEAK_BOUND, "{alg}: {peak} bytes held (kvdb-py)");
    }
    // A tiny zstd frame that asks for a 128 MiB window. libzstd allocates windows with C's
    // malloc, which this probe does not see: the window is bounded by the cap instead
    // (at most max(8 MiB, cap)), so under a 1 MiB cap this frame is refused.
    let bytes = zstd_big_window();
    let (r, peak) = measure(&bytes);
    println!(
        "zstd 128 MiB window claim: {} bytes, peak {:.2} MiB: {}",
        bytes.len(),
        peak as f64 / MIB as f64,
        r.as_ref()
            .map(|_| "decoded".into())
            .unwrap_or_else(|e| e.to_string())
    );
    assert!(
        matches!(
            r,
            Err(Error::Decompress {
                compression: Compression::Zstd,
                ..
            })
        ),
        "{r:?}"
    );
}

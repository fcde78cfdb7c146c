//! Compression and capped decompression of payloads.
//!
//! Compression contexts are reused per thread (a zstd context costs ~8 µs to build). Every
//! decompressor is capped: a payload that would expand past the limit is refused without
//! allocating the whole expansion.

#[cfg(any(feature = "zstd", feature = "lz4"))]
use std::io::Read;
#[cfg(feature = "lz4")]
use std::io::Write;

use super::Compression;
use crate::error::{Error, KeyContext, Result};

/// Default cap on a decompressed value: 512 MiB, Redis's own limit for one string value.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 512 * 1024 * 1024;

/// How a session compresses the payloads it writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CompressionOptions {
    /// The algorithm ([`Compression::None`] disables compression).
    pub algorithm: Compression,
    /// The level; must lie in [`Compression::levels`].
    pub level: i32,
    /// Payloads shorter than this many bytes are stored uncompressed (flagged `-` in the
    /// header). Default 256.
    pub min_size: usize,
}

impl Default for CompressionOptions {
    fn default() -> Self {
        CompressionOptions::none()
    }
}

impl CompressionOptions {
    /// Default threshold below which payloads are not compressed.
    pub const DEFAULT_MIN_SIZE: usize = 256;

    /// No compression.
    pub const fn none() -> Self {
        CompressionOptions {
            algorithm: Compression::None,
            level: 0,
            min_size: Self::DEFAULT_MIN_SIZE,
        }
    }

    /// `algorithm` at its default level and the default threshold.
    pub const fn new(algorithm: Compression) -> Self {
        CompressionOptions {
            algorithm,
            level: algorithm.levels().0,
            min_size: Self::DEFAULT_MIN_SIZE,
        }
    }

    /// The algorithm to use for a payload of `len` bytes.
    pub(crate) fn algorithm_for(&self, len: usize) -> Compression {
        if len < self.min_size {
            Compression::None
        } else {
            self.algorithm
        }
    }

    /// Checks that the algorithm is compiled in and the level is in range.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let alg = self.algorithm;
        if !alg.is_compiled_in() {
            return Err(format!(
                "{alg} compression needs kvdb's `{}` cargo feature",
                alg.feature()
            ));
        }
        let (_, range) = alg.levels();
        if !range.contains(&self.level) {
            return Err(format!(
                "level {} is out of range for {alg}: {}..={}",
                self.level,
                range.start(),
                range.end()
            ));
        }
        Ok(())
    }
}

fn not_compiled(alg: Compression) -> Error {
    Error::NotCompiledIn {
        key: KeyContext::default(),
        what: format!("{alg} compression"),
        feature: alg.feature(),
    }
}

#[cfg(any(feature = "zstd", feature = "lz4"))]
fn io_err(compression: Compression) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Decompress {
        key: KeyContext::default(),
        compression,
        source,
    }
}

/// Appends `input` compressed with `alg` at `level` to `out`.
pub(crate) fn compress_into(
    alg: Compression,
    level: i32,
    input: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    #[cfg(feature = "metrics")]
    let before = out.len();
    compress_with(alg, level, input, out)?;
    #[cfg(feature = "metrics")]
    record_sizes(alg, "compress", input.len(), out.len() - before);
    Ok(())
}

/// Counts the bytes before and after (de)compression, by algorithm (feature `metrics`). Here
/// rather than in the drivers: this is the one place both sizes are known.
#[cfg(feature = "metrics")]
fn record_sizes(alg: Compression, direction: &'static str, uncompressed: usize, compressed: usize) {
    if alg == Compression::None {
        return;
    }
    let labels = [("algorithm", alg.name()), ("direction", direction)];
    metrics::counter!("kvdb.compression.uncompressed.bytes", &labels)
        .increment(uncompressed as u64);
    metrics::counter!("kvdb.compression.compressed.bytes", &labels).increment(compressed as u64);
}

fn compress_with(alg: Compression, level: i32, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
    let _ = level;
    match alg {
        Compression::None => {
            out.extend_from_slice(input);
            Ok(())
        }
        #[cfg(feature = "zstd")]
        Compression::Zstd => zstd_ctx::compress(level, input, out),
        #[cfg(feature = "lz4")]
        Compression::Lz4 => {
            let info = lz4_flex::frame::FrameInfo::new().content_size(Some(input.len() as u64));
            let mut enc = lz4_flex::frame::FrameEncoder::with_frame_info(info, out);
            enc.write_all(input).map_err(encode_io(alg))?;
            enc.finish()
                .map_err(|e| encode_io(alg)(std::io::Error::other(e)))?;
            Ok(())
        }
        #[cfg(feature = "gzip")]
        Compression::Gzip => deflate_ctx::gzip(level as u32, input, out).map_err(encode_io(alg)),
        #[cfg(feature = "zlib")]
        Compression::Zlib => {
            deflate_ctx::deflate(level as u32, true, input, out).map_err(encode_io(alg))
        }
        #[allow(unreachable_patterns)]
        other => Err(not_compiled(other)),
    }
}

#[cfg(any(feature = "zstd", feature = "lz4", feature = "gzip", feature = "zlib"))]
fn encode_io(alg: Compression) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::Encode {
        key: KeyContext::default(),
        type_name: "compressed payload",
        codec: super::Codec::Raw,
        source: format!("{alg} compression failed: {e}").into(),
    }
}

/// Decompresses `input` into `out` (cleared first), refusing to produce more than `limit`
/// bytes.
pub(crate) fn decompress_into(
    alg: Compression,
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<()> {
    decompress_with(alg, input, limit, out)?;
    #[cfg(feature = "metrics")]
    record_sizes(alg, "decompress", out.len(), input.len());
    Ok(())
}

fn decompress_with(alg: Compression, input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
    out.clear();
    match alg {
        Compression::None => {
            if input.len() > limit {
                return Err(too_large(alg, limit));
            }
            out.extend_from_slice(input);
            Ok(())
        }
        #[cfg(feature = "zstd")]
        Compression::Zstd => zstd_ctx::decompress(input, limit, out),
        #[cfg(feature = "lz4")]
        Compression::Lz4 => read_capped(alg, lz4_flex::frame::FrameDecoder::new(input), limit, out),
        #[cfg(feature = "gzip")]
        Compression::Gzip => deflate_ctx::gunzip(input, limit, out),
        #[cfg(feature = "zlib")]
        Compression::Zlib => deflate_ctx::inflate_zlib(input, limit, out),
        #[allow(unreachable_patterns)]
        other => Err(not_compiled(other)),
    }
}

fn too_large(compression: Compression, limit: usize) -> Error {
    Error::DecompressedTooLarge {
        key: KeyContext::default(),
        compression,
        limit,
    }
}

/// Reads at most `limit + 1` bytes: one byte more than allowed proves the value is too large
/// without ever holding more than that.
#[cfg(any(feature = "zstd", feature = "lz4"))]
fn read_capped(alg: Compression, reader: impl Read, limit: usize, out: &mut Vec<u8>) -> Result<()> {
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader.take(cap).read_to_end(out).map_err(io_err(alg))?;
    if out.len() > limit {
        out.clear();
        out.shrink_to(64 * 1024);
        return Err(too_large(alg, limit));
    }
    Ok(())
}

#[cfg(any(feature = "gzip", feature = "zlib"))]
#[path = "deflate_ctx.rs"]
mod deflate_ctx;

#[cfg(feature = "zstd")]
mod zstd_ctx {
    //! zstd with one compression and one decompression context per thread.

    use std::cell::RefCell;

    use super::{Compression, Error, KeyContext, Result, io_err, read_capped, too_large};

    /// Content sizes up to this are decompressed in one call into an exactly sized buffer.
    /// Larger claims (which a hostile header can make) are too if they are plausible for the
    /// frame's size and that much address space can be reserved (`try_reserve_exact`: only
    /// the pages written are ever touched, and a frame that does not hold what it claims
    /// falls back to the capped stream); else they go through the capped stream.
    const BULK_MAX: u64 = 8 * 1024 * 1024;

    /// Above [`BULK_MAX`], a claimed size is only reserved up front if the frame is at least
    /// 1/1024 of it (real data compresses far less; a tiny frame claiming a huge size goes
    /// through the capped stream, whose window is bounded).
    const MAX_CLAIMED_RATIO: u64 = 1024;

    thread_local! {
        static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
            const { RefCell::new(None) };
        static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { RefCell::new(None) };
    }

    pub(super) fn compress(level: i32, input: &[u8], out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        out.reserve(zstd::zstd_safe::compress_bound(input.len()));
        // Compressed into the spare capacity after `start`: no zero-filling of the bound,
        // so only the pages the compressed bytes use are touched.
        let mut cursor = std::io::Cursor::new(std::mem::take(out));
        cursor.set_position(start as u64);
        let n = COMPRESSOR.with(|cell| -> std::io::Result<usize> {
            match cell.try_borrow_mut() {
                Ok(mut slot) => {
                    if slot.as_ref().is_none_or(|(l, _)| *l != level) {
                        *slot = Some((level, zstd::bulk::Compressor::new(level)?));
                    }
                    let (_, c) = slot.as_mut().expect("just set");
                    c.compress_to_buffer(input, &mut cursor)
                }
                // Re-entered from inside a compression on this thread: use a fresh context.
                Err(_) => {
                    zstd::bulk::Compressor::new(level)?.compress_to_buffer(input, &mut cursor)
                }
            }
        });
        *out = cursor.into_inner();
        match n {
            Ok(n) => {
                out.truncate(start + n);
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(super::encode_io(Compression::Zstd)(e))
            }
        }
    }

    pub(super) fn decompress(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
        let alg = Compression::Zstd;
        let size = match zstd::zstd_safe::get_frame_content_size(input) {
            Ok(size) => size,
            Err(_) => {
                return Err(Error::Decompress {
                    key: KeyContext::default(),
                    compression: alg,
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        "not a zstd frame",
                    ),
                });
            }
        };
        match size {
            Some(n) if n > limit as u64 => Err(too_large(alg, limit)),
            Some(n)
                if n <= BULK_MAX
                    || (n <= (input.len() as u64).saturating_mul(MAX_CLAIMED_RATIO)
                        && out.try_reserve_exact(n as usize).is_ok()) =>
            {
                out.reserve_exact(n as usize);
                let r = DECOMPRESSOR.with(|cell| match cell.try_borrow_mut() {
                    Ok(mut slot) => {
                        if slot.is_none() {
                            *slot = Some(zstd::bulk::Decompressor::new()?);
                        }
                        let d = slot.as_mut().expect("just set");
                        d.decompress_to_buffer(input, out)
                    }
                    Err(_) => zstd::bulk::Decompressor::new()?.decompress_to_buffer(input, out),
                });
                match r {
                    Ok(written) if written as u64 == n => Ok(()),
                    // A frame followed by more frames, or a lying content size: stream it.
                    _ => {
                        out.clear();
                        stream(input, limit, out)
                    }
                }
            }
            _ => stream(input, limit, out),
        }
        .map_err(|e| match e {
            Error::Decompress { source, .. } => io_err(alg)(source),
            e => e,
        })
    }

    fn stream(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
        let mut dec =
            zstd::stream::read::Decoder::with_buffer(input).map_err(io_err(Compression::Zstd))?;
        // libzstd allocates the window the frame declares (C memory, outside the cap's
        // count): a 20-byte frame may declare 128 MiB. Bound it by the cap.
        dec.window_log_max(window_log_max(limit))
            .map_err(io_err(Compression::Zstd))?;
        read_capped(Compression::Zstd, dec, limit, out)
    }

    /// The largest window (log2 of bytes) a streamed frame may declare: enough for any value
    /// within `limit`, at least 8 MiB (what zstd's level 19 declares when it does not know the
    /// size) and at most 128 MiB (libzstd's own default limit).
    pub(super) fn window_log_max(limit: usize) -> u32 {
        let ceil_log2 = usize::BITS - limit.saturating_sub(1).leading_zeros();
        ceil_log2.clamp(23, 27)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Compression> {
        Compression::PREFERENCE
            .into_iter()
            .filter(|c| c.is_compiled_in())
            .chain([Compression::None])
            .collect()
    }

    #[test]
    fn round_trips_every_algorithm() {
        let input: Vec<u8> = (0..100_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for alg in all() {
            let mut c = b"prefix".to_vec();
            compress_into(alg, alg.levels().0, &input, &mut c).expect("compress");
            assert_eq!(&c[..6], b"prefix", "{alg} must append");
            let mut d = Vec::new();
            decompress_into(alg, &c[6..], usize::MAX, &mut d).expect("decompress");
            assert_eq!(d, input, "{alg}");
        }
    }

    #[test]
    fn incompressible_and_empty_inputs_round_trip() {
        // Output larger than the input: the compressors must grow their output.
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let noise: Vec<u8> = (0..300_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        for alg in all() {
            for input in [&noise[..], b"", b"a"] {
                let mut c = Vec::new();
                compress_into(alg, alg.levels().0, input, &mut c).expect("compress");
                let mut d = Vec::new();
                decompress_into(alg, &c, usize::MAX, &mut d).expect("decompress");
                assert_eq!(d, input, "{alg}");
                // Truncated frames are errors, not short values.
                if alg != Compression::None && c.len() > 8 {
                    let cut = decompress_into(alg, &c[..c.len() / 2], usize::MAX, &mut d);
                    assert!(cut.is_err(), "{alg}: a truncated frame decoded");
                }
            }
        }
    }

    #[test]
    fn bombs_are_refused_at_the_limit() {
        let zeros = vec![0u8; 4 * 1024 * 1024];
        for alg in all() {
            let mut c = Vec::new();
            compress_into(alg, alg.levels().0, &zeros, &mut c).expect("compress");
            let mut d = Vec::new();
            let err = decompress_into(alg, &c, 1024 * 1024, &mut d).expect_err("over the cap");
            assert!(
                matches!(err, Error::DecompressedTooLarge { limit: 1048576, .. }),
                "{alg}: {err}"
            );
            assert!(d.capacity() <= 4 * 1024 * 1024, "{alg} held too much");
        }
    }

    #[cfg(feature = "zstd")]
    #[test]
    fn zstd_windows_are_bounded_by_the_cap() {
        use std::io::Write;
        assert_eq!(zstd_ctx::window_log_max(1), 23);
        assert_eq!(zstd_ctx::window_log_max(16 << 20), 24);
        assert_eq!(zstd_ctx::window_log_max((16 << 20) + 1), 25);
        assert_eq!(zstd_ctx::window_log_max(usize::MAX), 27);
        // A few bytes declaring a 128 MiB window and no content size.
        let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        enc.include_contentsize(false).unwrap();
        enc.window_log(27).unwrap();
        enc.long_distance_matching(true).unwrap();
        enc.write_all(b"hello").unwrap();
        let frame = enc.finish().unwrap();
        let mut d = Vec::new();
        let err = decompress_into(Compression::Zstd, &frame, 1 << 20, &mut d).unwrap_err();
        assert!(matches!(err, Error::Decompress { .. }), "{err}");
        // Under the default cap the same frame is fine.
        decompress_into(Compression::Zstd, &frame, DEFAULT_MAX_DECOMPRESSED, &mut d).unwrap();
        assert_eq!(d, b"hello");
    }

    #[test]
    fn garbage_is_a_decompress_error() {
        for alg in all().into_iter().filter(|a| *a != Compression::None) {
            let mut d = Vec::new();
            let err = decompress_into(alg, b"\x00garbage that is not a frame", usize::MAX, &mut d)
                .expect_err("garbage");
            assert!(
                matches!(err, Error::Decompress { compression, .. } if compression == alg),
                "{alg}: {err}"
            );
        }
    }

    #[test]
    fn validate_checks_levels() {
        let mut o =
            CompressionOptions::new(Compression::best_available().unwrap_or(Compression::None));
        assert!(o.validate().is_ok());
        o.level = 99;
        if o.algorithm != Compression::None {
            assert!(o.validate().unwrap_err().contains("out of range"));
        }
    }
}

//! Deflate (gzip, zlib) with contexts reused per thread: building a miniz_oxide compressor
//! costs ~390k instructions (allocating and zeroing its tables), resetting one ~320k, and
//! building a decompressor ~97k, while compressing a 600-byte value costs ~150k. gzip is
//! read here too (header, raw deflate, CRC-32 and length checked, members concatenated as
//! `MultiGzDecoder` reads them) so that its inflate context is the thread's one.

use std::cell::RefCell;

use flate2::{Compress, FlushCompress, Status};
use flate2::{Decompress, FlushDecompress};

use super::{Compression, Error, KeyContext, Result, too_large};

thread_local! {
    /// Compressors by (level, zlib header): at most one per kind of stream.
    static COMPRESSORS: RefCell<Vec<(u32, bool, Compress)>> = const { RefCell::new(Vec::new()) };
    /// The inflate context, for zlib streams and gzip members alike.
    static INFLATE: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// Appends `input` deflated at `level` to `out`, with a zlib header and trailer if `zlib`
/// (else a raw deflate stream).
pub(super) fn deflate(
    level: u32,
    zlib: bool,
    input: &[u8],
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let mut run = |c: &mut Compress| -> std::io::Result<()> {
        out.reserve(input.len() / 2 + 64);
        loop {
            let done = usize::try_from(c.total_in())
                .unwrap_or(input.len())
                .min(input.len());
            match c
                .compress_vec(&input[done..], out, FlushCompress::Finish)
                .map_err(std::io::Error::other)?
            {
                Status::StreamEnd => return Ok(()),
                // Out of room: grow and go on.
                Status::Ok | Status::BufError => out.reserve(out.capacity().max(64)),
            }
        }
    };
    COMPRESSORS.with(|cell| match cell.try_borrow_mut() {
        Ok(mut list) => {
            let i = match list.iter().position(|(_, z, _)| *z == zlib) {
                Some(i) if list[i].0 == level => i,
                Some(i) => {
                    list[i] = (
                        level,
                        zlib,
                        Compress::new(flate2::Compression::new(level), zlib),
                    );
                    i
                }
                None => {
                    list.push((
                        level,
                        zlib,
                        Compress::new(flate2::Compression::new(level), zlib),
                    ));
                    list.len() - 1
                }
            };
            // A used context is reset before its next use (a reset costs about what
            // compressing a small value does, as it clears the match tables).
            let c = &mut list[i].2;
            if c.total_in() != 0 || c.total_out() != 0 {
                c.reset();
            }
            run(c)
        }
        Err(_) => run(&mut Compress::new(flate2::Compression::new(level), zlib)),
    })
}

/// Appends `input` as a gzip member (the header flate2's `GzEncoder` writes: no name, no
/// time, OS unknown) to `out`.
#[cfg(feature = "gzip")]
pub(super) fn gzip(level: u32, input: &[u8], out: &mut Vec<u8>) -> std::io::Result<()> {
    let xfl = if level >= 9 {
        2
    } else if level <= 1 {
        4
    } else {
        0
    };
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]);
    deflate(level, false, input, out)?;
    let mut crc = flate2::Crc::new();
    crc.update(input);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    // ISIZE is the length modulo 2^32.
    out.extend_from_slice(&((input.len() & 0xffff_ffff) as u32).to_le_bytes());
    Ok(())
}

fn bad(alg: Compression, msg: impl Into<String>) -> Error {
    Error::Decompress {
        key: KeyContext::default(),
        compression: alg,
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, msg.into()),
    }
}

/// Inflates one stream (zlib if `zlib`, else raw deflate) from the start of `input`,
/// appending to `out` and refusing to make `out` longer than `limit`; returns how many
/// bytes of `input` the stream took (bytes after its end are left alone).
fn inflate(
    alg: Compression,
    zlib: bool,
    input: &[u8],
    limit: usize,
    out: &mut Vec<u8>,
) -> Result<usize> {
    let mut run = |d: &mut Decompress| -> Result<usize> {
        let cap = limit.saturating_add(1);
        out.reserve(
            input
                .len()
                .saturating_mul(4)
                .max(64)
                .min(cap.saturating_sub(out.len()).max(1)),
        );
        loop {
            let (in_before, out_before) = (d.total_in(), d.total_out());
            let done = usize::try_from(in_before)
                .unwrap_or(input.len())
                .min(input.len());
            let status = d
                // `None`, not `Finish`: miniz_oxide's `Finish` wants the whole output to fit
                // in the first call.
                .decompress_vec(&input[done..], out, FlushDecompress::None)
                .map_err(|e| bad(alg, e.to_string()))?;
            if out.len() > limit {
                out.clear();
                out.shrink_to(64 * 1024);
                return Err(too_large(alg, limit));
            }
            if status == Status::StreamEnd {
                return Ok(usize::try_from(d.total_in())
                    .unwrap_or(input.len())
                    .min(input.len()));
            }
            let progressed = d.total_in() != in_before || d.total_out() != out_before;
            if out.len() < out.capacity() && !progressed {
                // Room left and nothing more to read: the stream ended early.
                return Err(bad(alg, "the stream is truncated"));
            }
            if out.len() == out.capacity() {
                // Full: grow, to at most one byte past the limit.
                out.reserve(out.capacity().max(64).min(cap - out.len()).max(1));
            }
        }
    };
    INFLATE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let d = slot.get_or_insert_with(|| Decompress::new(zlib));
            d.reset(zlib);
            run(d)
        }
        Err(_) => run(&mut Decompress::new(zlib)),
    })
}

/// Inflates a zlib stream into `out` (empty), refusing to produce more than `limit`
/// bytes; bytes after the end of the stream are ignored, as `ZlibDecoder` does.
#[cfg(feature = "zlib")]
pub(super) fn inflate_zlib(input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
    inflate(Compression::Zlib, true, input, limit, out).map(|_| ())
}

/// Reads gzip members (RFC 1952) into `out` (empty), one after the other as
/// `MultiGzDecoder` does, refusing to produce more than `limit` bytes; each member's
/// CRC-32 and length are checked.
#[cfg(feature = "gzip")]
pub(super) fn gunzip(mut input: &[u8], limit: usize, out: &mut Vec<u8>) -> Result<()> {
    let alg = Compression::Gzip;
    loop {
        let body = gzip_header(input).ok_or_else(|| bad(alg, "not a gzip header"))?;
        let start = out.len();
        let used = inflate(alg, false, &input[body..], limit, out)?;
        let trailer = body + used;
        let Some(t) = input.get(trailer..trailer + 8) else {
            return Err(bad(alg, "the gzip stream is truncated"));
        };
        let mut crc = flate2::Crc::new();
        crc.update(&out[start..]);
        let (want_crc, want_len) = (
            u32::from_le_bytes([t[0], t[1], t[2], t[3]]),
            u32::from_le_bytes([t[4], t[5], t[6], t[7]]),
        );
        // ISIZE is the length modulo 2^32.
        if crc.sum() != want_crc || ((out.len() - start) & 0xffff_ffff) as u32 != want_len {
            return Err(bad(
                alg,
                "the gzip member's checksum or length does not match",
            ));
        }
        input = &input[trailer + 8..];
        if input.is_empty() {
            return Ok(());
        }
    }
}

/// The length of the gzip member header at the start of `input`, if it is one.
#[cfg(feature = "gzip")]
fn gzip_header(input: &[u8]) -> Option<usize> {
    let (&[0x1f, 0x8b, 8, flags], rest) = input.split_first_chunk::<4>()? else {
        return None;
    };
    // Reserved flag bits must be zero.
    if flags & 0xe0 != 0 {
        return None;
    }
    // MTIME, XFL, OS.
    let mut at = 4 + 6;
    if flags & 4 != 0 {
        let x = rest.get(6..8)?;
        at += 2 + usize::from(u16::from_le_bytes([x[0], x[1]]));
    }
    // FNAME, FCOMMENT: zero-terminated.
    for bit in [8, 16] {
        if flags & bit != 0 {
            at += input.get(at..)?.iter().position(|&b| b == 0)? + 1;
        }
    }
    if flags & 2 != 0 {
        at += 2;
    }
    (at <= input.len()).then_some(at)
}

#[cfg(all(test, feature = "gzip"))]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(builder: flate2::GzBuilder, data: &[u8]) -> Vec<u8> {
        let mut e = builder.write(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read(input: &[u8], limit: usize) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        gunzip(input, limit, &mut out).map(|()| out)
    }

    #[test]
    fn reads_what_flate2_and_python_write_header_fields_and_members_included() {
        let data = b"{\"name\":\"a value\",\"n\":12345}".repeat(20);
        let plain = gz(flate2::GzBuilder::new(), &data);
        assert_eq!(read(&plain, usize::MAX).unwrap(), data);
        // FEXTRA, FNAME, FCOMMENT and a modification time, as `gzip.compress` and `gzip`
        // files carry some of them.
        let full = gz(
            flate2::GzBuilder::new()
                .extra(b"xx".to_vec())
                .filename("value.json")
                .comment("a comment")
                .mtime(1_700_000_000),
            &data,
        );
        assert_eq!(read(&full, usize::MAX).unwrap(), data);
        // Two members: their contents, one after the other (as `MultiGzDecoder`).
        let two = [plain.clone(), gz(flate2::GzBuilder::new(), b"tail")].concat();
        assert_eq!(
            read(&two, usize::MAX).unwrap(),
            [&data[..], b"tail"].concat()
        );
        // The cap counts every member.
        let err = read(&two, data.len() + 2).unwrap_err();
        assert!(matches!(err, Error::DecompressedTooLarge { .. }), "{err}");
        // The context is reused: the same answers a second time, after a zlib-free gzip.
        assert_eq!(read(&full, usize::MAX).unwrap(), data);
    }

    #[test]
    fn corrupt_or_truncated_members_are_errors() {
        let data = b"some bytes to compress, some bytes to compress".repeat(4);
        let good = gz(flate2::GzBuilder::new(), &data);
        let n = good.len();
        let mut bad_crc = good.clone();
        bad_crc[n - 8] ^= 1;
        let mut bad_len = good.clone();
        bad_len[n - 1] ^= 1;
        let mut reserved = good.clone();
        reserved[3] = 0x20;
        let cases: [(&str, &[u8]); 7] = [
            ("checksum", &bad_crc),
            ("length", &bad_len),
            ("reserved flags", &reserved),
            ("no trailer", &good[..n - 8]),
            ("half a trailer", &good[..n - 3]),
            ("garbage after a member", &[&good[..], b"xyz"].concat()),
            ("empty", b""),
        ];
        for (what, input) in cases {
            let err = read(input, usize::MAX).expect_err(what);
            assert!(
                matches!(
                    err,
                    Error::Decompress {
                        compression: Compression::Gzip,
                        ..
                    }
                ),
                "{what}: {err}"
            );
        }
    }
}

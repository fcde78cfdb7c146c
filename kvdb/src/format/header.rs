//! The header of a self-describing value: `kv1` codec compression [tag [@version]] `|`.

use super::{Codec, Compression};
use crate::error::{Error, KeyContext, Result};

/// The magic that starts every self-describing value: `kv` followed by the format version.
pub const MAGIC: &[u8; 3] = b"kv1";

/// The longest type tag the format allows, in bytes.
pub const MAX_TAG_LEN: usize = 128;

/// Longest header: magic, codec, compression, tag, `@` + 10 digits, `|`.
const MAX_HEADER_LEN: usize = 3 + 2 + MAX_TAG_LEN + 11 + 1;

/// The parsed header of a stored value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header<'a> {
    /// How the payload is serialized.
    pub codec: Codec,
    /// How the payload is compressed.
    pub compression: Compression,
    /// The model's type tag, if the value is a model.
    pub tag: Option<&'a str>,
    /// The schema version (1 when the header does not say).
    pub version: u32,
}

/// Checks a type tag: 1 to [`MAX_TAG_LEN`] bytes of ASCII letters, digits and `_ . : - /`,
/// starting with a letter or `_`.
///
/// ```
/// assert!(kvdb::format::validate_tag("users.User").is_ok());
/// assert!(kvdb::format::validate_tag("bad tag").is_err());
/// ```
pub fn validate_tag(tag: &str) -> std::result::Result<(), String> {
    let b = tag.as_bytes();
    // Fast path (every model read checks its tag): one pass over the bytes.
    if let Some(first) = b.first()
        && b.len() <= MAX_TAG_LEN
        && (first.is_ascii_alphabetic() || *first == b'_')
        && b.iter().all(|&c| is_tag_byte(c))
    {
        return Ok(());
    }
    if b.is_empty() {
        return Err("a type tag must not be empty".into());
    }
    if b.len() > MAX_TAG_LEN {
        return Err(format!(
            "a type tag is at most {MAX_TAG_LEN} bytes, this one is {}",
            b.len()
        ));
    }
    if !(b[0].is_ascii_alphabetic() || b[0] == b'_') {
        return Err(format!(
            "a type tag must start with an ASCII letter or `_`: {tag:?}"
        ));
    }
    if let Some(c) = tag.chars().find(|c| !is_tag_char(*c)) {
        return Err(format!(
            "a type tag may contain only ASCII letters, digits and `_ . : - /`; {tag:?} contains {c:?}"
        ));
    }
    Ok(())
}

fn is_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-' | '/')
}

fn is_tag_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b':' | b'-' | b'/')
}

/// True if `bytes` would be taken for a header by a reader: `kv` followed by an ASCII digit.
/// Raw values that look like this are escaped on write.
pub(crate) fn looks_like_header(bytes: &[u8]) -> bool {
    bytes.len() >= 3 && bytes[0] == b'k' && bytes[1] == b'v' && bytes[2].is_ascii_digit()
}

impl<'a> Header<'a> {
    /// A header with no tag and version 1.
    pub const fn new(codec: Codec, compression: Compression) -> Self {
        Header {
            codec,
            compression,
            tag: None,
            version: 1,
        }
    }

    /// Appends the header bytes to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        // Writing to a `Vec` cannot fail.
        let _ = self.write_to(out);
    }

    /// Writes the header bytes to `w`.
    pub(crate) fn write_to<W: std::io::Write + ?Sized>(&self, w: &mut W) -> std::io::Result<()> {
        w.write_all(&[
            MAGIC[0],
            MAGIC[1],
            MAGIC[2],
            self.codec.byte(),
            self.compression.byte(),
        ])?;
        if let Some(tag) = self.tag {
            w.write_all(tag.as_bytes())?;
            if self.version != 1 {
                write!(w, "@{}", self.version)?;
            }
        }
        w.write_all(b"|")
    }

    /// Parses the header at the start of `bytes`; returns it and the payload after it.
    ///
    /// `bytes` must start with `kv` and a digit; errors name what is
    /// malformed.
    pub fn parse(bytes: &'a [u8]) -> Result<(Header<'a>, &'a [u8])> {
        let corrupt = |reason: String| Error::Corrupt {
            key: KeyContext::default(),
            reason,
        };
        if bytes.len() < 3 || &bytes[..2] != b"kv" || !bytes[2].is_ascii_digit() {
            return Err(corrupt(
                "the value does not start with the magic `kv1`".into(),
            ));
        }
        if bytes[2] != MAGIC[2] {
            return Err(Error::UnknownVersion {
                key: KeyContext::default(),
                version: bytes[2] as char,
            });
        }
        if bytes.len() < 6 {
            return Err(corrupt(format!(
                "header truncated: {} bytes, the shortest header is 6 (`kv1j-|`)",
                bytes.len()
            )));
        }
        let codec = Codec::from_byte(bytes[3]).ok_or(Error::UnknownCodec {
            key: KeyContext::default(),
            found: bytes[3] as char,
        })?;
        let compression = Compression::from_byte(bytes[4]).ok_or(Error::UnknownCompression {
            key: KeyContext::default(),
            found: bytes[4] as char,
        })?;
        let window = &bytes[5..bytes.len().min(MAX_HEADER_LEN)];
        let end = window.iter().position(|&b| b == b'|').ok_or_else(|| {
            if bytes.len() < MAX_HEADER_LEN {
                corrupt("header truncated: no `|` ends it".into())
            } else {
                corrupt(format!(
                    "no `|` within the first {MAX_HEADER_LEN} bytes: the tag is too long"
                ))
            }
        })?;
        let meta = &window[..end];
        let payload = &bytes[5 + end + 1..];
        let (tag_bytes, version) = match meta.iter().position(|&b| b == b'@') {
            None => (meta, 1),
            Some(at) => {
                let digits = &meta[at + 1..];
                let v = parse_u32(digits).ok_or_else(|| {
                    corrupt(format!(
                        "bad schema version {:?}",
                        String::from_utf8_lossy(digits)
                    ))
                })?;
                (&meta[..at], v)
            }
        };
        let tag = if tag_bytes.is_empty() {
            if version != 1 || meta.contains(&b'@') {
                return Err(corrupt("a schema version without a type tag".into()));
            }
            None
        } else {
            let tag = std::str::from_utf8(tag_bytes)
                .map_err(|_| corrupt("the type tag is not ASCII".into()))?;
            validate_tag(tag).map_err(corrupt)?;
            Some(tag)
        };
        Ok((
            Header {
                codec,
                compression,
                tag,
                version,
            },
            payload,
        ))
    }
}

fn parse_u32(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(d - b'0');
    }
    u32::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(tag: Option<&str>, version: u32) -> Vec<u8> {
        let mut out = Vec::new();
        Header {
            codec: Codec::Json,
            compression: Compression::Zstd,
            tag,
            version,
        }
        .write(&mut out);
        out
    }

    #[test]
    fn writes_pinned_bytes() {
        assert_eq!(hdr(None, 1), b"kv1jz|");
        assert_eq!(hdr(Some("users.User"), 1), b"kv1jzusers.User|");
        assert_eq!(hdr(Some("users.User"), 12), b"kv1jzusers.User@12|");
    }

    #[test]
    fn parses_what_it_writes() {
        for (tag, v) in [
            (None, 1),
            (Some("a"), 1),
            (Some("users.User"), 4_000_000_000),
        ] {
            let mut bytes = hdr(tag, v);
            bytes.extend_from_slice(b"payload");
            let (h, rest) = Header::parse(&bytes).expect("parses");
            assert_eq!((h.tag, h.version, rest), (tag, v, &b"payload"[..]));
        }
    }

    #[test]
    fn rejects_malformed_headers() {
        let cases: &[(&[u8], &str)] = &[
            (b"kv1", "truncated"),
            (b"kv1jz", "truncated"),
            (b"kv1jzusers", "no `|`"),
            (b"kv1jz@2|", "without a type tag"),
            (b"kv1jzA@|", "bad schema version"),
            (b"kv1jzA@01|", "bad schema version"),
            (b"kv1jzA@99999999999|", "bad schema version"),
            (b"kv1jzbad tag|", "contains ' '"),
            (b"kv1jz9tag|", "must start"),
        ];
        for (bytes, needle) in cases {
            let err = Header::parse(bytes).expect_err("must fail").to_string();
            assert!(err.contains(needle), "{bytes:?}: {err}");
            assert!(matches!(Header::parse(bytes), Err(Error::Corrupt { .. })));
        }
    }

    #[test]
    fn overlong_tag_is_refused() {
        let mut bytes = b"kv1j-".to_vec();
        bytes.extend(std::iter::repeat_n(b'a', MAX_TAG_LEN + 1));
        bytes.push(b'|');
        assert!(matches!(Header::parse(&bytes), Err(Error::Corrupt { .. })));
        assert!(validate_tag(&"a".repeat(MAX_TAG_LEN)).is_ok());
        assert!(validate_tag(&"a".repeat(MAX_TAG_LEN + 1)).is_err());
    }

    #[test]
    fn distinct_errors_for_version_codec_compression() {
        assert!(matches!(
            Header::parse(b"kv2j-|x"),
            Err(Error::UnknownVersion { version: '2', .. })
        ));
        assert!(matches!(
            Header::parse(b"kv1x-|x"),
            Err(Error::UnknownCodec { found: 'x', .. })
        ));
        assert!(matches!(
            Header::parse(b"kv1jq|x"),
            Err(Error::UnknownCompression { found: 'q', .. })
        ));
    }

    #[test]
    fn looks_like_header_is_kv_digit() {
        assert!(looks_like_header(b"kv1"));
        assert!(looks_like_header(b"kv9 anything"));
        assert!(!looks_like_header(b"kva"));
        assert!(!looks_like_header(b"kv"));
        assert!(!looks_like_header(b"hello"));
    }
}

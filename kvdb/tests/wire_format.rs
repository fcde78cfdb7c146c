//! The wire format is a contract: these are the exact bytes documented in
//! `docs/wire-format.md`. A change here is a format change and needs a new format version.

use kvdb::format::{CompressionOptions, Encoder, decode};
use kvdb::{Compression, Serializer};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn enc(s: Serializer) -> Encoder {
    Encoder::new(s)
}

fn model(e: Encoder, tag: &str, version: u32) -> Vec<u8> {
    let mut out = Vec::new();
    e.encode_into(&Point { x: 1, y: 2 }, Some((tag, version)), &mut out)
        .expect("encodes");
    out
}

/// (description, bytes produced now, the documented hex)
fn examples() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let json = enc(Serializer::Json);
    let p = Point { x: 1, y: 2 };
    vec![
        (
            "string, any serializer",
            json.encode("hello").unwrap(),
            "68656c6c6f",
        ),
        ("integer", json.encode(&-42i64).unwrap(), "2d3432"),
        ("float", json.encode(&1.5f64).unwrap(), "312e35"),
        ("bool", json.encode(&true).unwrap(), "31"),
        ("byte string", json.encode(&vec![0u8, 255]).unwrap(), "00ff"),
        (
            "raw string that starts like a header",
            json.encode("kv1!").unwrap(),
            "6b7631722d7c6b763121",
        ),
        (
            "JSON struct",
            json.encode(&p).unwrap(),
            "6b76316a2d7c7b2278223a312c2279223a327d",
        ),
        (
            "JSON model, tag geo.Point, version 1",
            model(json, "geo.Point", 1),
            "6b76316a2d67656f2e506f696e747c7b2278223a312c2279223a327d",
        ),
        (
            "JSON model, tag geo.Point, version 3",
            model(json, "geo.Point", 3),
            "6b76316a2d67656f2e506f696e7440337c7b2278223a312c2279223a327d",
        ),
        (
            "CBOR struct",
            enc(Serializer::Cbor).encode(&p).unwrap(),
            "6b7631632d7ca26178016179 02",
        ),
        (
            "MessagePack struct",
            enc(Serializer::MsgPack).encode(&p).unwrap(),
            "6b76316d2d7c82a17801a17902",
        ),
    ]
}

#[test]
fn encoder_writes_the_documented_bytes() {
    for (what, bytes, expected) in examples() {
        assert_eq!(hex(&bytes), expected.replace(' ', ""), "{what}");
    }
}

#[test]
fn the_documented_bytes_are_in_the_doc() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/wire-format.md"
    ))
    .expect("docs/wire-format.md exists");
    let doc_hex: String = doc.chars().filter(|c| !c.is_whitespace()).collect();
    for (what, _, expected) in examples() {
        assert!(
            doc_hex.contains(&expected.replace(' ', "")),
            "docs/wire-format.md lacks the example {what:?}: {expected}"
        );
    }
}

#[test]
fn compressed_values_have_the_documented_header_and_decode() {
    for (alg, byte) in [
        (Compression::Zstd, b'z'),
        (Compression::Lz4, b'l'),
        (Compression::Gzip, b'g'),
        (Compression::Zlib, b'd'),
    ] {
        let e = enc(Serializer::Json).with_compression(CompressionOptions {
            min_size: 0,
            ..CompressionOptions::new(alg)
        });
        let bytes = e.encode(&Point { x: 1, y: 2 }).unwrap();
        assert_eq!(&bytes[..6], &[b'k', b'v', b'1', b'j', byte, b'|'], "{alg}");
        let magic: &[u8] = match alg {
            Compression::Zstd => &[0x28, 0xb5, 0x2f, 0xfd],
            Compression::Lz4 => &[0x04, 0x22, 0x4d, 0x18],
            Compression::Gzip => &[0x1f, 0x8b],
            _ => &[0x78],
        };
        assert!(bytes[6..].starts_with(magic), "{alg}: standard frame magic");
        assert_eq!(decode::<Point>(&bytes).unwrap(), Point { x: 1, y: 2 });
    }
}

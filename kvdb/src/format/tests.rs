//! Round trips of every serializer × every compression × values of many shapes, and one test
//! per decoding error variant.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::*;
use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    street: String,
    zip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Shape {
    Unit,
    Circle(f64),
    Rect { w: u32, h: u32 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    tags: Vec<String>,
    address: Address,
    shapes: Vec<Shape>,
    scores: BTreeMap<String, f64>,
    avatar: Option<Vec<u8>>,
    big: i128,
}

fn user() -> User {
    User {
        id: 42,
        name: "Zoë 日本 ✓ 😀".into(),
        tags: vec!["admin".into(), String::new()],
        address: Address {
            street: "1 Main St".into(),
            zip: None,
        },
        shapes: vec![Shape::Unit, Shape::Circle(-0.5), Shape::Rect { w: 3, h: 4 }],
        scores: [("a".to_string(), 1.5), ("b".to_string(), f64::MAX)].into(),
        avatar: Some(vec![0, 1, 255]),
        big: i128::MIN,
    }
}

fn serializers() -> Vec<Serializer> {
    let mut v = vec![Serializer::Json, Serializer::Auto];
    if cfg!(feature = "cbor") {
        v.push(Serializer::Cbor);
    }
    if cfg!(feature = "msgpack") {
        v.push(Serializer::MsgPack);
    }
    v
}

fn compressions() -> Vec<CompressionOptions> {
    let mut v = vec![CompressionOptions::none()];
    for alg in Compression::PREFERENCE {
        if alg.is_compiled_in() {
            // Threshold 0 so that small values are compressed too.
            v.push(CompressionOptions {
                min_size: 0,
                ..CompressionOptions::new(alg)
            });
            v.push(CompressionOptions::new(alg));
        }
    }
    v
}

fn encoders() -> Vec<Encoder> {
    serializers()
        .into_iter()
        .flat_map(|s| {
            compressions()
                .into_iter()
                .map(move |c| Encoder::new(s).with_compression(c))
        })
        .collect()
}

fn round_trip<T>(enc: &Encoder, v: &T) -> T
where
    T: Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let bytes = enc
        .encode(v)
        .unwrap_or_else(|e| panic!("{enc:?} encode {v:?}: {e}"));
    decode(&bytes).unwrap_or_else(|e| panic!("{enc:?} decode {v:?}: {e}"))
}

macro_rules! assert_round_trips {
    ($enc:expr, $($v:expr),+ $(,)?) => {$(
        let v = $v;
        assert_eq!(round_trip($enc, &v), v, "{:?}", $enc);
    )+};
}

#[test]
fn every_serializer_and_compression_round_trips_many_shapes() {
    let large: Vec<User> = (0..200).map(|_| user()).collect();
    for enc in &encoders() {
        assert_round_trips!(
            enc,
            user(),
            large.clone(),
            "h\u{e9}llo \u{2713} 日本 😀".to_string(),
            String::new(),
            Vec::<u8>::new(),
            vec![0u8, 1, 2, 255],
            Vec::<String>::new(),
            vec![1i64, -1, i64::MAX, i64::MIN],
            Some(5u8),
            None::<u8>,
            Some(user()),
            Shape::Unit,
            Shape::Circle(1.0),
            Shape::Rect { w: 1, h: 2 },
            (1u8, "two".to_string(), 3.5f64),
            HashMap::from([("k".to_string(), vec![1u16, 2])]),
            BTreeMap::from([(1u32, "one".to_string())]),
            0.1f64,
            -0.0f64,
            f64::MIN_POSITIVE,
            f64::MAX,
            1e-300f64,
            u64::MAX,
            i128::MAX,
            true,
            'é',
            "x".repeat(100_000),
            vec![7u8; 100_000],
        );
        // Non-finite floats survive as scalars under every serializer.
        assert!(round_trip(enc, &f64::NAN).is_nan());
        assert_eq!(round_trip(enc, &f64::INFINITY), f64::INFINITY);
        assert_eq!(round_trip(enc, &f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert!(round_trip(enc, &-0.0f64).is_sign_negative());
    }
}

#[test]
fn scalars_are_plain_under_every_serializer() {
    for enc in encoders().iter().chain([&Encoder::new(Serializer::None)]) {
        assert_eq!(enc.encode("hello").unwrap(), b"hello");
        assert_eq!(enc.encode(&-7i32).unwrap(), b"-7");
        assert_eq!(enc.encode(&2.5f64).unwrap(), b"2.5");
        assert_eq!(enc.encode(&false).unwrap(), b"0");
        assert_eq!(enc.encode(&vec![104u8, 105]).unwrap(), b"hi");
        assert_eq!(enc.encode(&"x".repeat(1000)).unwrap().len(), 1000);
    }
}

#[test]
fn raw_strings_that_look_like_headers_round_trip_exactly() {
    let tricky = [
        "kv1j-|{\"a\":1}",
        "kv1",
        "kv9 future",
        "kv1jz|garbage",
        "_kvdbenc_{\"a\": 1}",
        "_kvdbenc_",
    ];
    for enc in encoders().iter().chain([&Encoder::new(Serializer::None)]) {
        for s in tricky {
            let bytes = enc.encode(s).unwrap();
            assert!(bytes.starts_with(b"kv1r-|"), "{s:?} must be escaped");
            assert_eq!(decode::<String>(&bytes).unwrap(), s);
            assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), s.as_bytes());
        }
    }
}

#[test]
fn serializer_none_refuses_structured_values_and_says_what_to_set() {
    let err = Encoder::new(Serializer::None).encode(&user()).unwrap_err();
    assert!(matches!(err, Error::SerializerRequired { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("User") && msg.contains("Serializer::Json"),
        "{msg}"
    );
}

#[test]
fn compression_threshold_is_flagged_in_the_header() {
    let Some(alg) = Compression::best_available() else {
        return;
    };
    let enc = Encoder::new(Serializer::Json).with_compression(CompressionOptions::new(alg));
    let small = enc.encode(&vec![1, 2, 3]).unwrap();
    assert_eq!(
        &small[..6],
        b"kv1j-|",
        "below 256 bytes: stored uncompressed"
    );
    let big = enc.encode(&vec![1u32; 1000]).unwrap();
    assert_eq!(big[4], alg.byte());
    assert!(big.len() < 1000, "compressed: {} bytes", big.len());
}

#[test]
fn foreign_plain_bytes_read_as_strings_and_bytes_only() {
    assert_eq!(decode::<String>(b"hello").unwrap(), "hello");
    assert_eq!(decode::<Vec<u8>>(b"\xff\x00").unwrap(), vec![0xff, 0]);
    let err = decode::<User>(b"hello").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decode {
                codec: Codec::Raw,
                ..
            }
        ),
        "{err:?}"
    );
    let err = decode::<i64>(b"hello").unwrap_err().to_string();
    assert!(err.contains("expected i64"), "{err}");
}

#[test]
fn every_error_variant_of_decoding_is_distinct() {
    let truncated = decode::<String>(b"kv1j").unwrap_err();
    assert!(matches!(truncated, Error::Corrupt { .. }), "{truncated:?}");
    let version = decode::<String>(b"kv2j-|x").unwrap_err();
    assert!(matches!(
        version,
        Error::UnknownVersion { version: '2', .. }
    ));
    let codec = decode::<String>(b"kv1q-|x").unwrap_err();
    assert!(matches!(codec, Error::UnknownCodec { found: 'q', .. }));
    let compression = decode::<String>(b"kv1jQ|x").unwrap_err();
    assert!(matches!(
        compression,
        Error::UnknownCompression { found: 'Q', .. }
    ));
    let payload = decode::<User>(b"kv1j-|{not json").unwrap_err();
    assert!(matches!(
        payload,
        Error::Decode {
            codec: Codec::Json,
            ..
        }
    ));
    let wrong_type = decode::<User>(b"kv1j-|[1,2]").unwrap_err();
    assert!(wrong_type.to_string().contains("User"), "{wrong_type}");
    for alg in Compression::PREFERENCE
        .into_iter()
        .filter(|a| a.is_compiled_in())
    {
        let mut bytes = Vec::new();
        Header::new(Codec::Json, alg).write(&mut bytes);
        bytes.extend_from_slice(b"\x01\x02 not a frame");
        let err = decode::<User>(&bytes).unwrap_err();
        assert!(
            matches!(err, Error::Decompress { compression, .. } if compression == alg),
            "{alg}: {err:?}"
        );
        // A bomb: 8 MiB of zeros compressed, read with a 1 MiB cap.
        let enc = Encoder::new(Serializer::Json).with_compression(CompressionOptions::new(alg));
        let bomb = enc.encode(&"0".repeat(8 << 20)).unwrap_or_default();
        let bomb = if bomb.starts_with(b"kv1") {
            bomb
        } else {
            // Scalars are plain: wrap the string in a struct to force compression.
            enc.encode(&vec!["0".repeat(8 << 20)]).unwrap()
        };
        let err = decode_with_limit::<Vec<String>>(&bomb, 1 << 20).unwrap_err();
        assert!(
            matches!(err, Error::DecompressedTooLarge { limit, .. } if limit == 1 << 20),
            "{alg}: {err:?}"
        );
    }
}

#[test]
fn codecs_not_compiled_in_are_named() {
    // Every codec and compression is compiled in under the default features; the check is on
    // what the error says when one is not.
    let err = super::serde_codec::not_compiled(Codec::Cbor).to_string();
    assert!(err.contains("cbor"), "{err}");
    let err = super::compress::decompress_into(Compression::None, b"", 0, &mut Vec::new());
    assert!(err.is_ok());
}

#[test]
fn pretty_json_is_an_option() {
    let mut enc = Encoder::new(Serializer::Json);
    enc.serializer_options = SerializerOptions::new().pretty(true);
    let bytes = enc.encode(&BTreeMap::from([("a", 1)])).unwrap();
    assert_eq!(bytes, b"kv1j-|{\n  \"a\": 1\n}");
}

#[test]
fn empty_sequences_go_through_the_serializer() {
    let json = Encoder::new(Serializer::Json);
    assert_eq!(json.encode(&Vec::<String>::new()).unwrap(), b"kv1j-|[]");
    assert_eq!(json.encode(&Vec::<u8>::new()).unwrap(), b"kv1j-|[]");
    let v: serde_json::Value = decode(&json.encode(&Vec::<i32>::new()).unwrap()).unwrap();
    assert_eq!(v, serde_json::json!([]));
    assert_eq!(
        decode::<Vec<u8>>(&json.encode(&Vec::<u8>::new()).unwrap()).unwrap(),
        Vec::<u8>::new()
    );
    let mut py = json;
    py.format = Format::KvdbPy;
    assert_eq!(py.encode(&Vec::<String>::new()).unwrap(), b"_kvdbenc_[]");
    // Byte strings stay plain, even empty ones.
    assert_eq!(json.encode(&vec![1u8, 2]).unwrap(), [1, 2]);
    // A session without a serializer has no other way to store an empty sequence.
    assert_eq!(
        Encoder::new(Serializer::None)
            .encode(&Vec::<u8>::new())
            .unwrap(),
        b""
    );
}

//! Property tests of the value format: generated values round-trip under every encoder, and
//! arbitrary bytes never make decoding panic.

use std::collections::BTreeMap;

use kvdb::format::{CompressionOptions, Encoder, decode, decode_with_limit};
use kvdb::{Compression, Serializer};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Kind {
    A,
    B(i32),
    C { s: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    id: u64,
    name: String,
    score: f64,
    flags: Vec<bool>,
    blob: Vec<u8>,
    kind: Kind,
    extra: Option<BTreeMap<String, i64>>,
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::A),
        any::<i32>().prop_map(Kind::B),
        ".*".prop_map(|s| Kind::C { s }),
    ]
}

fn record() -> impl Strategy<Value = Record> {
    (
        any::<u64>(),
        ".*",
        // Finite floats: NaN != NaN would fail equality, not the format.
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        prop::collection::vec(any::<bool>(), 0..8),
        prop::collection::vec(any::<u8>(), 0..600),
        kind(),
        prop::option::of(prop::collection::btree_map(".*", any::<i64>(), 0..4)),
    )
        .prop_map(|(id, name, score, flags, blob, kind, extra)| Record {
            id,
            name,
            score,
            flags,
            blob,
            kind,
            extra,
        })
}

fn encoder() -> impl Strategy<Value = Encoder> {
    let serializers = prop_oneof![
        Just(Serializer::Json),
        Just(Serializer::Cbor),
        Just(Serializer::MsgPack)
    ];
    let compressions = prop_oneof![
        Just(Compression::None),
        Just(Compression::Zstd),
        Just(Compression::Lz4),
        Just(Compression::Gzip),
        Just(Compression::Zlib)
    ];
    (serializers, compressions, 0usize..512).prop_map(|(s, c, min_size)| {
        Encoder::new(s).with_compression(CompressionOptions {
            min_size,
            ..CompressionOptions::new(c)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn records_round_trip(enc in encoder(), r in record()) {
        let bytes = enc.encode(&r).unwrap();
        prop_assert_eq!(decode::<Record>(&bytes).unwrap(), r);
    }

    #[test]
    fn strings_round_trip_exactly(enc in encoder(), s in ".*") {
        let bytes = enc.encode(&s).unwrap();
        prop_assert_eq!(decode::<String>(&bytes).unwrap(), s);
    }

    #[test]
    fn prefixed_strings_round_trip_exactly(enc in encoder(), prefix in prop::sample::select(vec!["kv1", "kv0", "kv9", "_kvdbenc_", "kv1j-|", "kv1jz"]), rest in ".*") {
        let s = format!("{prefix}{rest}");
        let bytes = enc.encode(&s).unwrap();
        prop_assert_eq!(decode::<String>(&bytes).unwrap(), s);
    }

    #[test]
    fn byte_strings_round_trip_exactly(enc in encoder(), b in prop::collection::vec(any::<u8>(), 0..300)) {
        let bytes = enc.encode(&b).unwrap();
        prop_assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), b);
    }

    #[test]
    fn numbers_round_trip(enc in encoder(), i in any::<i64>(), u in any::<u128>(), f in any::<f64>()) {
        prop_assert_eq!(decode::<i64>(&enc.encode(&i).unwrap()).unwrap(), i);
        prop_assert_eq!(decode::<u128>(&enc.encode(&u).unwrap()).unwrap(), u);
        let back = decode::<f64>(&enc.encode(&f).unwrap()).unwrap();
        prop_assert!(back == f || (back.is_nan() && f.is_nan()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = decode::<Record>(&bytes);
        let _ = decode::<String>(&bytes);
        let _ = decode::<Vec<u8>>(&bytes);
        let _ = decode::<i64>(&bytes);
        let _ = decode::<serde_json::Value>(&bytes);
    }

    #[test]
    fn arbitrary_bytes_after_a_valid_header_never_panic(
        codec in prop::sample::select(vec![b'r', b'j', b'c', b'm']),
        comp in prop::sample::select(vec![b'-', b'z', b'l', b'g', b'd']),
        tag in prop::option::of("[a-z][a-z.]{0,10}"),
        payload in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = vec![b'k', b'v', b'1', codec, comp];
        bytes.extend(tag.unwrap_or_default().bytes());
        bytes.push(b'|');
        bytes.extend(payload);
        let _ = decode_with_limit::<Record>(&bytes, 1 << 20);
        let _ = decode_with_limit::<String>(&bytes, 1 << 20);
        let _ = decode_with_limit::<serde_json::Value>(&bytes, 1 << 20);
    }
}

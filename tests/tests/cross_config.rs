//! Values written by a session with one serializer/compression are read by sessions with every
//! other setting, through a real server: reading depends on the stored bytes, not the reader.

use std::collections::BTreeMap;

use kvdb::{Compression, Serializer, Session, SessionOptions};
use kvdb_tests::{options, session};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u64,
    customer: String,
    lines: Vec<(String, u32, f64)>,
    notes: Option<String>,
    meta: BTreeMap<String, String>,
}

fn order(lines: usize) -> Order {
    Order {
        id: 7,
        customer: "Zoë ✓".into(),
        lines: (0..lines)
            .map(|i| (format!("sku-{i}"), i as u32, i as f64 * 0.25))
            .collect(),
        notes: None,
        meta: [("channel".to_string(), "web".to_string())].into(),
    }
}

/// A plain redis-rs connection to the test server: another client, as far as kvdb knows.
fn raw_connection() -> redis::Connection {
    redis::Client::open(kvdb_tests::server().url())
        .and_then(|c| c.get_connection())
        .expect("the test server accepts connections")
}

fn configs() -> Vec<(String, SessionOptions)> {
    let serializers = [
        Serializer::None,
        Serializer::Json,
        Serializer::Cbor,
        Serializer::MsgPack,
    ];
    let compressions = [
        None,
        Some(Compression::Zstd),
        Some(Compression::Lz4),
        Some(Compression::Gzip),
        Some(Compression::Zlib),
    ];
    let mut out = Vec::new();
    for s in serializers {
        for c in compressions {
            let label = format!("{s}+{}", c.map_or("none", |c| c.name()));
            let mut o = options("cross").serializer(s).compression_min_size(64);
            if let Some(c) = c {
                o = o.compression(c);
            }
            out.push((label, o));
        }
    }
    out
}

#[test]
fn every_writer_setting_is_read_by_every_reader_setting() {
    let sessions: Vec<(String, Session, String)> = configs()
        .into_iter()
        .map(|(label, o)| {
            let (s, p) = session(o);
            (label, s, p)
        })
        .collect();
    let small = order(1);
    let large = order(200);
    let mut pairs = 0;
    for (wlabel, writer, prefix) in &sessions {
        let structured = writer.encoder().serializer != Serializer::None;
        writer.set(&format!("{prefix}:s"), "plain ✓ text").unwrap();
        writer.set(&format!("{prefix}:i"), &-12345i64).unwrap();
        writer
            .set(&format!("{prefix}:b"), &vec![0u8, 159, 146, 150])
            .unwrap();
        if structured {
            writer.set(&format!("{prefix}:small"), &small).unwrap();
            writer.set(&format!("{prefix}:large"), &large).unwrap();
        } else {
            let err = writer.set(&format!("{prefix}:small"), &small).unwrap_err();
            assert!(
                matches!(err, kvdb::Error::SerializerRequired { .. }),
                "{wlabel}: {err}"
            );
        }
        for (rlabel, reader, _) in &sessions {
            let ctx = format!("written by {wlabel}, read by {rlabel}");
            assert_eq!(
                reader
                    .get::<String>(&format!("{prefix}:s"))
                    .unwrap()
                    .as_deref(),
                Some("plain ✓ text"),
                "{ctx}"
            );
            assert_eq!(
                reader.get::<i64>(&format!("{prefix}:i")).unwrap(),
                Some(-12345),
                "{ctx}"
            );
            assert_eq!(
                reader.get::<Vec<u8>>(&format!("{prefix}:b")).unwrap(),
                Some(vec![0, 159, 146, 150]),
                "{ctx}"
            );
            if structured {
                assert_eq!(
                    reader
                        .get::<Order>(&format!("{prefix}:small"))
                        .unwrap()
                        .as_ref(),
                    Some(&small),
                    "{ctx}"
                );
                assert_eq!(
                    reader
                        .get::<Order>(&format!("{prefix}:large"))
                        .unwrap()
                        .as_ref(),
                    Some(&large),
                    "{ctx}"
                );
            }
            pairs += 1;
        }
    }
    assert_eq!(pairs, 400);
}

#[test]
fn large_values_are_stored_compressed_and_small_ones_not() {
    let mut conn = raw_connection();
    for alg in [
        Compression::Zstd,
        Compression::Lz4,
        Compression::Gzip,
        Compression::Zlib,
    ] {
        let (s, p) = session(
            options("compressed")
                .serializer(Serializer::Json)
                .compression(alg),
        );
        let key = format!("{p}:large");
        s.set(&key, &order(500)).unwrap();
        let raw: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
        assert_eq!(
            &raw[..6],
            &[b'k', b'v', b'1', b'j', alg.byte(), b'|'],
            "{alg}"
        );
        let json_len = serde_json::to_vec(&order(500)).unwrap().len();
        assert!(
            raw.len() * 3 < json_len * 2,
            "{alg}: {} bytes stored for {json_len} bytes of JSON",
            raw.len()
        );
        s.set(&key, &order(0)).unwrap();
        let raw: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut conn).unwrap();
        assert_eq!(&raw[..6], b"kv1j-|", "{alg}: below the threshold");
    }
}

#[test]
fn counters_made_by_incr_read_back_and_scalars_stay_incrementable() {
    let (s, p) = session(
        options("incr")
            .serializer(Serializer::Json)
            .compression(Compression::Zstd),
    );
    let key = format!("{p}:counter");
    s.set(&key, &41i64).unwrap();
    let n: i64 = s.get(&key).unwrap().unwrap();
    assert_eq!(n, 41);
    // Another client (here a raw command) increments the plain value.
    let mut conn = raw_connection();
    let v: i64 = redis::cmd("INCR").arg(&key).query(&mut conn).unwrap();
    assert_eq!(v, 42);
    assert_eq!(s.get::<i64>(&key).unwrap(), Some(42));
    assert_eq!(s.get::<String>(&key).unwrap().as_deref(), Some("42"));
}

#[test]
fn foreign_strings_read_as_strings_and_other_types_get_a_clear_error() {
    let (s, p) = session(options("foreign").serializer(Serializer::Json));
    let key = format!("{p}:foreign");
    let mut conn = raw_connection();
    redis::cmd("SET")
        .arg(&key)
        .arg("hello")
        .exec(&mut conn)
        .unwrap();
    assert_eq!(s.get::<String>(&key).unwrap().as_deref(), Some("hello"));
    assert_eq!(s.get::<Vec<u8>>(&key).unwrap(), Some(b"hello".to_vec()));
    let err = s.get::<Order>(&key).unwrap_err();
    assert_eq!(err.key(), Some(key.as_str()));
    let msg = err.to_string();
    assert!(
        msg.contains(&key) && msg.contains("Order") && msg.contains("raw"),
        "{msg}"
    );
}

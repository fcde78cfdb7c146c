//! How kvdb-py's Python types meet Rust's: what kvdb refuses and how it says so, datetimes and
//! UUIDs read into chrono, time and uuid types, and models and bytes nested in a dict, read and
//! written as kvdb-py does (the bytes are the vectors of `tests/fixtures/kvdb-py/`).

use kvdb::format::{Encoder, decode, decode_as};
use kvdb::{Format, Serializer, py};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[path = "fixtures/kvdb-py/kvdb_py.rs"]
mod kvdb_py;
use kvdb_py::{User, vector};

#[test]
fn refused_python_types_give_clear_errors() {
    let pickle = br#"_kvdbenc_{"__type__": "pickle", "value": "80049500"}"#;
    let err = decode::<Value>(pickle).unwrap_err().to_string();
    assert!(err.contains("pickle") && err.contains("refuses"), "{err}");
    let unknown = br#"_kvdbenc_{"__type__": "decimal", "value": "1.10"}"#;
    assert!(
        decode::<Value>(unknown)
            .unwrap_err()
            .to_string()
            .contains("decimal")
    );
    // kvdb-py 0.0.2 wrote None as `_kvdbenc_null`.
    assert_eq!(decode::<Option<i32>>(b"_kvdbenc_null").unwrap(), None);
    // A native reader reads the plain `null` as the string it is; a kvdb-py reader as None.
    assert_eq!(
        decode::<Option<String>>(b"null").unwrap().as_deref(),
        Some("null")
    );
    assert_eq!(
        decode_as::<Option<String>>(Format::KvdbPy, b"null").unwrap(),
        None
    );
    // Where kvdb-py would hand back a str because decoding failed, we fail with a typed error.
    let err = decode::<User>(br#"_kvdbenc_{"id": "#).unwrap_err();
    assert!(matches!(err, kvdb::Error::Decode { .. }), "{err:?}");
}

/// kvdb-py's datetimes and UUIDs read into chrono, time and uuid types as well as `String`.
#[test]
fn python_datetimes_and_uuids_read_into_rust_types() {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

    #[derive(Debug, Deserialize)]
    struct UserTimes {
        created: DateTime<Utc>,
    }
    let by_case = |case: &str| vector(case, "json").bytes();
    let user: UserTimes = decode(&by_case("pydantic_user")).unwrap();
    assert_eq!(
        user.created.to_rfc3339(),
        "2024-01-02T03:04:05.123456+00:00"
    );
    let t: DateTime<Utc> = decode(&by_case("datetime_utc")).unwrap();
    assert_eq!(t.to_rfc3339(), "2024-01-02T03:04:05+00:00");
    let naive: NaiveDateTime = decode(&by_case("datetime_naive")).unwrap();
    assert_eq!(naive.to_string(), "2024-01-02 03:04:05.123456");
    let date: NaiveDate = decode(&by_case("date")).unwrap();
    assert_eq!(date.to_string(), "2024-01-02");
    // time's own serde format is not ISO 8601; its rfc3339 module reads Python's text.
    #[derive(Deserialize)]
    struct Rfc3339(#[serde(with = "time::serde::rfc3339")] time::OffsetDateTime);
    let odt: Rfc3339 = decode(&by_case("datetime_utc")).unwrap();
    assert_eq!(odt.0.unix_timestamp(), 1_704_164_645);
    let id: uuid::Uuid = decode(&by_case("uuid")).unwrap();
    assert_eq!(id.to_string(), "12345678-1234-5678-1234-567812345678");
    // And back: a chrono value in the datetime envelope. chrono's serde writes UTC as `Z`
    // (which Python's fromisoformat reads too); its to_rfc3339 gives isoformat's exact bytes.
    let mut enc = Encoder::new(Serializer::Json);
    enc.format = Format::KvdbPy;
    let z = enc.encode(&py::Datetime(t)).unwrap();
    assert!(
        String::from_utf8(z)
            .unwrap()
            .ends_with(r#""value": "2024-01-02T03:04:05Z"}"#)
    );
    assert_eq!(
        enc.encode(&py::Datetime(t.to_rfc3339())).unwrap(),
        by_case("datetime_utc")
    );
    assert_eq!(enc.encode(&py::Uuid(id)).unwrap(), by_case("uuid"));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Team {
    lead: py::Model<User>,
    #[serde(with = "kvdb::py::model")]
    second: User,
    blob: py::Bytes<Vec<u8>>,
    size: u32,
}

/// Models and bytes nested in a dict, as kvdb-py writes them (MessagePack: extension type 2
/// and `bin` inside a map; JSON: envelopes), read as a struct and as a Value, and written.
#[test]
fn nested_models_and_bytes_read_and_write_in_both_serializers() {
    // kvdb-py writes a model the same way at the top and inside a dict: in MessagePack,
    // extension type 2 holding its JSON with __class__ last; in JSON, an envelope.
    let alice = vector("pydantic_user", "msgpack");
    let model_msgpack = alice.bytes()[b"_kvdbenc_".len()..].to_vec();
    let model_json = vector("pydantic_user", "json").bytes()[b"_kvdbenc_".len()..].to_vec();
    let bob = vector("pydantic_user_naive_noaddr", "json");

    // What kvdb-py 0.0.2 writes for {"lead": User(...), "blob": b"\x00\xff"} with msgpack
    // (msgpack.packb(..., use_bin_type=True, default=hook)).
    let mut python = b"_kvdbenc_\x82\xa4lead".to_vec();
    python.extend_from_slice(&model_msgpack);
    python.extend_from_slice(b"\xa4blob\xc4\x02\x00\xff");
    let value: Value = decode(&python).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"lead": alice.expected, "blob": [0, 255]})
    );
    #[derive(Debug, PartialEq, Deserialize)]
    struct Held {
        lead: User,
        blob: Vec<u8>,
    }
    let held: Held = decode(&python).unwrap();
    assert_eq!(
        held.lead,
        serde_json::from_value::<User>(alice.expected.clone()).unwrap()
    );
    assert_eq!(held.blob, [0, 255]);

    let team = Team {
        lead: py::Model(serde_json::from_value(alice.expected.clone()).unwrap()),
        second: serde_json::from_value(bob.expected.clone()).unwrap(),
        blob: py::Bytes(vec![0, 255]),
        size: 2,
    };
    for serializer in [Serializer::Json, Serializer::MsgPack] {
        let mut enc = Encoder::new(serializer);
        enc.format = Format::KvdbPy;
        let bytes = enc.encode(&team).unwrap();
        if serializer == Serializer::MsgPack {
            // The lead is kvdb-py's own bytes for the model, byte for byte.
            assert!(
                bytes
                    .windows(model_msgpack.len())
                    .any(|w| w == model_msgpack),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        } else {
            let lead = [b"\"lead\": ".as_slice(), &model_json].concat();
            assert!(
                bytes.windows(lead.len()).any(|w| w == lead),
                "{}",
                String::from_utf8_lossy(&bytes)
            );
        }
        let back: Team = decode(&bytes).unwrap();
        assert_eq!(back, team, "{serializer:?}");
        let v: Value = decode(&bytes).unwrap();
        assert_eq!(v["second"], bob.expected);
        assert_eq!(v["blob"], serde_json::json!([0, 255]));
    }
}

//! Models across serializers, compressions and schema versions (blocking API).
#![allow(clippy::unwrap_used)]

mod model_types;

use kvdb::format::{Encoder, StoredKind, inspect};
use kvdb::model::{key_of, model_key};
use kvdb::{Compression, Error, Serializer};
use kvdb_tests::{options, session, unique};
use model_types::*;

fn json() -> kvdb::Session {
    session(options("formats").serializer(Serializer::Json)).0
}

fn fresh_id() -> u64 {
    model_types::fresh_id(3000000)
}

#[test]
fn every_serializer_and_compression_round_trips() {
    let codecs = [
        (Serializer::Json, b'j'),
        (Serializer::Cbor, b'c'),
        (Serializer::MsgPack, b'm'),
    ];
    let compressions = [
        (Compression::None, b'-'),
        (Compression::Zstd, b'z'),
        (Compression::Lz4, b'l'),
        (Compression::Gzip, b'g'),
        (Compression::Zlib, b'd'),
    ];
    let reader = json();
    for (serializer, codec) in codecs {
        for (compression, comp) in compressions {
            let (s, _) = session(
                options("codecs")
                    .serializer(serializer)
                    .compression(compression)
                    .compression_min_size(0),
            );
            let doc = Doc::sample(fresh_id() as i64);
            s.set_model(&doc).unwrap();
            let bytes = raw_get(&model_key(&doc).unwrap()).unwrap();
            assert_eq!(
                &bytes[..5],
                &[b'k', b'v', b'1', codec, comp],
                "{serializer} {compression}"
            );
            match inspect(&bytes).unwrap() {
                StoredKind::Kvdb(h) => assert_eq!((h.tag, h.version), (Some("it.Doc"), 1)),
                other => panic!("{other:?}"),
            }
            assert_eq!(s.get_model::<Doc>(&doc.id).unwrap().as_ref(), Some(&doc));
            // The header says how to read it: any session can.
            assert_eq!(reader.get_model::<Doc>(&doc.id).unwrap(), Some(doc.clone()));
            s.set_models(std::slice::from_ref(&doc)).unwrap();
            assert_eq!(
                s.get_models::<Doc>(&[doc.id]).unwrap(),
                vec![Some(doc.clone())]
            );
            assert!(
                s.get_any(&model_key(&doc).unwrap())
                    .unwrap()
                    .unwrap()
                    .is::<Doc>()
            );
        }
    }
}

#[test]
fn models_need_a_serializer() {
    let (plain, _) = session(options("plain"));
    let id = fresh_id();
    match plain.set_model(&user(id)) {
        Err(Error::SerializerRequired { key, .. }) => {
            assert_eq!(key.key(), Some(format!("it:users:{id}").as_str()));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        plain.set_models(&[user(id)]),
        Err(Error::SerializerRequired { .. })
    ));
    // Reading needs none: the header says how.
    json().set_model(&user(id)).unwrap();
    assert_eq!(plain.get_model::<User>(&id).unwrap(), Some(user(id)));
    // Plain serde types keep working with set/get.
    let key = unique("plain:v");
    json().set(&key, &vec!["x".to_string()]).unwrap();
    assert_eq!(
        json().get::<Vec<String>>(&key).unwrap(),
        Some(vec!["x".to_string()])
    );
}

fn store_version<T: serde::Serialize>(key: &str, value: &T, version: u32) {
    let mut bytes = Vec::new();
    Encoder::new(Serializer::Json)
        .encode_into(value, Some(("it.Profile", version)), &mut bytes)
        .unwrap();
    raw_set(key, &bytes);
}

#[test]
fn older_versions_migrate_and_others_are_refused() {
    let s = json();
    let id = fresh_id();
    let key = key_of::<Profile>(&id).unwrap();
    let expected = Profile {
        id,
        first: "Ada".into(),
        last: "Lovelace".into(),
        age: None,
    };
    store_version(
        &key,
        &ProfileV1 {
            id,
            name: "Ada Lovelace".into(),
        },
        1,
    );
    assert_eq!(
        s.get_model::<Profile>(&id).unwrap().as_ref(),
        Some(&expected)
    );
    store_version(
        &key,
        &ProfileV2 {
            id,
            first: "Ada".into(),
            last: "Lovelace".into(),
        },
        2,
    );
    assert_eq!(
        s.get_model::<Profile>(&id).unwrap().as_ref(),
        Some(&expected)
    );
    // get_any migrates too.
    assert_eq!(
        s.get_any(&key)
            .unwrap()
            .unwrap()
            .downcast::<Profile>()
            .unwrap(),
        expected
    );
    // The current version is written as `@3`, and read back as is.
    s.set_model(&expected).unwrap();
    assert!(raw_get(&key).unwrap().starts_with(b"kv1j-it.Profile@3|"));
    // A failing migration, a version with no migration, a newer version.
    store_version(
        &key,
        &ProfileV1 {
            id,
            name: "Plato".into(),
        },
        1,
    );
    match s.get_model::<Profile>(&id) {
        Err(e @ Error::Migration { from: 1, to: 3, .. }) => {
            assert!(
                e.to_string().contains("cannot split the name \"Plato\""),
                "{e}"
            );
            assert_eq!(e.key(), Some(key.as_str()));
        }
        other => panic!("{other:?}"),
    }
    for version in [4, 7] {
        store_version(&key, &expected, version);
        match s.get_model::<Profile>(&id) {
            Err(Error::SchemaVersion {
                expected: 3, found, ..
            }) => assert_eq!(found, version),
            other => panic!("{other:?}"),
        }
    }
}

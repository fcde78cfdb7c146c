//! Models shared with Python: `#[kv(python = "...")]` decides the class kvdb-py sessions write
//! and which stored classes a model reads; `get_any` finds the Rust type from `__class__`.

use kvdb::{AnyModel, Format, KVDBClient, KvModel, Serializer};
use kvdb_tests::{options, unique};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "it.PyUser",
    key = "pyusers:{id}",
    python = "models.User",
    python = "__main__.User"
)]
struct PyUser {
    id: i64,
    name: String,
    score: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "it.PyPoint",
    key = "pypoints:{label}",
    python = "models.Point",
    python_kind = "dataclass"
)]
struct PyPoint {
    x: i64,
    y: f64,
    label: String,
}

fn raw() -> redis::Connection {
    redis::Client::open(kvdb_tests::server().url())
        .and_then(|c| c.get_connection())
        .expect("the test server accepts connections")
}

fn raw_get(key: &str) -> String {
    let bytes: Vec<u8> = redis::cmd("GET").arg(key).query(&mut raw()).unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn kvdb_py_sessions_write_the_python_class() {
    let s = KVDBClient::get_session(
        options("py-models")
            .format(Format::KvdbPy)
            .serializer(Serializer::Json),
    )
    .unwrap();
    let id = i64::from(std::process::id() as u16) * 1000 + 1;
    let user = PyUser {
        id,
        name: "Zoë".into(),
        score: 1e-7,
    };
    s.set_model(&user).unwrap();
    assert_eq!(
        raw_get(&format!("pyusers:{id}")),
        format!(
            r#"_kvdbenc_{{"__type__": "pydantic", "__class__": "models.User", "value": {{"id": {id}, "name": "Zo\u00eb", "score": 1e-07}}}}"#
        )
    );
    assert_eq!(s.get_model::<PyUser>(&id).unwrap(), Some(user.clone()));
    let label = unique("origin");
    let point = PyPoint {
        x: 1,
        y: 2.5,
        label: label.clone(),
    };
    s.set_model(&point).unwrap();
    assert_eq!(
        raw_get(&format!("pypoints:{label}")),
        format!(
            r#"_kvdbenc_{{"__type__": "dataclass", "__class__": "models.Point", "value": {{"x": 1, "y": 2.5, "label": "{label}"}}}}"#
        )
    );
    // Any session reads them, whatever its format.
    let native =
        KVDBClient::get_session(options("py-models-native").serializer(Serializer::Cbor)).unwrap();
    assert_eq!(native.get_model::<PyPoint>(&label).unwrap(), Some(point));
    let any: AnyModel = native.get_any(&format!("pyusers:{id}")).unwrap().unwrap();
    assert_eq!(any.tag(), "it.PyUser");
    assert_eq!(any.downcast::<PyUser>().ok(), Some(user));
}

#[test]
fn every_declared_class_is_read_and_others_are_a_type_mismatch() {
    let s = KVDBClient::get_session(options("py-classes").serializer(Serializer::Json)).unwrap();
    let mut conn = raw();
    let id = i64::from(std::process::id() as u16) * 1000 + 2;
    let key = format!("pyusers:{id}");
    // What a Python service defined in a script writes: class `__main__.User`.
    let main_user = format!(
        r#"_kvdbenc_{{"__type__": "pydantic", "__class__": "__main__.User", "value": {{"id": {id}, "name": "A", "score": 2.0}}}}"#
    );
    redis::cmd("SET")
        .arg(&key)
        .arg(&main_user)
        .exec(&mut conn)
        .unwrap();
    assert_eq!(
        s.get_model::<PyUser>(&id).unwrap().map(|u| u.name),
        Some("A".to_string())
    );
    assert!(s.get_any(&key).unwrap().unwrap().is::<PyUser>());
    // A Point stored where a User is expected.
    let point = r#"_kvdbenc_{"__type__": "dataclass", "__class__": "models.Point", "value": {"x": 1, "y": 2.5, "label": "o"}}"#;
    redis::cmd("SET")
        .arg(&key)
        .arg(point)
        .exec(&mut conn)
        .unwrap();
    match s.get_model::<PyUser>(&id).unwrap_err() {
        kvdb::Error::TypeMismatch {
            key: k,
            expected,
            found,
        } => {
            assert_eq!(
                (k.key(), expected.as_str(), found.as_str()),
                (Some(key.as_str()), "models.User", "models.Point")
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(s.get_any(&key).unwrap().unwrap().is::<PyPoint>());
    // An unknown class is named; a plain dict has no class.
    let other = r#"_kvdbenc_{"__type__": "pydantic", "__class__": "billing.Invoice", "value": {}}"#;
    redis::cmd("SET")
        .arg(&key)
        .arg(other)
        .exec(&mut conn)
        .unwrap();
    let err = s.get_any(&key).unwrap_err();
    assert!(
        matches!(&err, kvdb::Error::UnknownTag { tag, .. } if tag == "billing.Invoice"),
        "{err:?}"
    );
    redis::cmd("SET")
        .arg(&key)
        .arg(r#"_kvdbenc_{"id": 1}"#)
        .exec(&mut conn)
        .unwrap();
    match s.get_model::<PyUser>(&id).unwrap_err() {
        kvdb::Error::Untagged { stored, .. } => assert!(stored.contains("kvdb-py"), "{stored}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn msgpack_models_use_extension_type_2() {
    let s = KVDBClient::get_session(
        options("py-msgpack")
            .format(Format::KvdbPy)
            .serializer(Serializer::MsgPack),
    )
    .unwrap();
    let id = i64::from(std::process::id() as u16) * 1000 + 3;
    let user = PyUser {
        id,
        name: "B".into(),
        score: 0.5,
    };
    s.set_model(&user).unwrap();
    let bytes: Vec<u8> = redis::cmd("GET")
        .arg(format!("pyusers:{id}"))
        .query(&mut raw())
        .unwrap();
    let json = format!(r#"{{"id": {id}, "name": "B", "score": 0.5, "__class__": "models.User"}}"#);
    let mut want = b"_kvdbenc_".to_vec();
    want.extend_from_slice(&[0xc7, json.len() as u8, 2]);
    want.extend_from_slice(json.as_bytes());
    assert_eq!(bytes, want);
    assert_eq!(s.get_model::<PyUser>(&id).unwrap(), Some(user));
}

//! Models shared with Python: `#[kv(python = "...")]` decides the class kvdb-py sessions write
//! and which stored classes a model reads; `get_any` finds the Rust type from `__class__`.

use kvdb::{AnyModel, Format, KVDBClient, Serializer};
use kvdb_tests::{options, unique};

#[path = "../../kvdb/tests/fixtures/kvdb-py/kvdb_py.rs"]
mod kvdb_py;
use kvdb_py::{Point, User};

/// The fields of `User::zoe(id)` as kvdb-py writes them (JSON as Python's `json.dumps`).
fn zoe_fields(id: i64) -> String {
    format!(
        r#""id": {id}, "name": "Zo\u00eb", "email": "zoe@example.com", "tags": ["a"], "created": "2024-01-02T03:04:05Z", "score": 1e-07, "active": true, "address": null"#
    )
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
    let user = User::zoe(id);
    s.set_model(&user).unwrap();
    assert_eq!(
        raw_get(&format!("pyusers:{id}")),
        format!(
            r#"_kvdbenc_{{"__type__": "pydantic", "__class__": "models.User", "value": {{{}}}}}"#,
            zoe_fields(id)
        )
    );
    assert_eq!(s.get_model::<User>(&id).unwrap(), Some(user.clone()));
    let label = unique("origin");
    let point = Point {
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
    assert_eq!(native.get_model::<Point>(&label).unwrap(), Some(point));
    let any: AnyModel = native.get_any(&format!("pyusers:{id}")).unwrap().unwrap();
    assert_eq!(any.tag(), "kvdb_py.User");
    assert_eq!(any.downcast::<User>().ok(), Some(user));
}

#[test]
fn every_declared_class_is_read_and_others_are_a_type_mismatch() {
    let s = KVDBClient::get_session(options("py-classes").serializer(Serializer::Json)).unwrap();
    let mut conn = raw();
    let id = i64::from(std::process::id() as u16) * 1000 + 2;
    let key = format!("pyusers:{id}");
    // What a Python service defined in a script writes: class `__main__.User`.
    let main_user = format!(
        r#"_kvdbenc_{{"__type__": "pydantic", "__class__": "__main__.User", "value": {{{}}}}}"#,
        zoe_fields(id)
    );
    redis::cmd("SET")
        .arg(&key)
        .arg(&main_user)
        .exec(&mut conn)
        .unwrap();
    assert_eq!(s.get_model::<User>(&id).unwrap(), Some(User::zoe(id)));
    assert!(s.get_any(&key).unwrap().unwrap().is::<User>());
    // A Point stored where a User is expected.
    let point = r#"_kvdbenc_{"__type__": "dataclass", "__class__": "models.Point", "value": {"x": 1, "y": 2.5, "label": "o"}}"#;
    redis::cmd("SET")
        .arg(&key)
        .arg(point)
        .exec(&mut conn)
        .unwrap();
    match s.get_model::<User>(&id).unwrap_err() {
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
    assert!(s.get_any(&key).unwrap().unwrap().is::<Point>());
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
    match s.get_model::<User>(&id).unwrap_err() {
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
    let user = User::zoe(id);
    s.set_model(&user).unwrap();
    let bytes: Vec<u8> = redis::cmd("GET")
        .arg(format!("pyusers:{id}"))
        .query(&mut raw())
        .unwrap();
    let json = format!(r#"{{{}, "__class__": "models.User"}}"#, zoe_fields(id));
    let mut want = b"_kvdbenc_".to_vec();
    want.extend_from_slice(&[0xc7, json.len() as u8, 2]);
    want.extend_from_slice(json.as_bytes());
    assert_eq!(bytes, want);
    assert_eq!(s.get_model::<User>(&id).unwrap(), Some(user));
}

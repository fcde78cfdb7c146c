//! Hostile stored bytes and oversized values, through real sessions: bytes written raw with
//! redis-rs (as an attacker or a buggy client could) read back as typed errors, never as a
//! panic and never as an instance of a type the reader did not ask for.

use kvdb::testing::TestServer;
use kvdb::{Error, KVDBClient, KvModel, Serializer, Session, SessionOptions};
use kvdb_tests::{options, server, session, unique};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "hostile.Target", prefix = "hostile:targets")]
struct Target {
    #[kv(key)]
    id: String,
    name: String,
}

/// Another registered model; its payloads are shaped differently from `Target`'s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "hostile.Other", prefix = "hostile:others")]
struct Other {
    #[kv(key)]
    id: u64,
    amount: i64,
}

fn raw() -> redis::Connection {
    redis::Client::open(server().url())
        .unwrap()
        .get_connection()
        .unwrap()
}

fn json() -> Session {
    session(options("hostile").serializer(Serializer::Json)).0
}

/// Writes `bytes` raw at the key of the `Target` with id `id`; returns the key.
fn plant(conn: &mut redis::Connection, id: &str, bytes: &[u8]) -> String {
    let key = kvdb::model::key_of::<Target>(&id.to_owned()).unwrap();
    redis::cmd("SET").arg(&key).arg(bytes).exec(conn).unwrap();
    key
}

#[test]
fn hostile_type_tags_are_typed_errors_sync_and_async() {
    let s = json();
    let mut conn = raw();
    let id = unique("tag");
    let long_tag = format!("kv1j-{}|{{}}", "a".repeat(300));
    // (stored bytes, check of get_model::<Target>, check of get_any)
    type Check = fn(&Error) -> bool;
    let cases: Vec<(&str, Vec<u8>, Check, Check)> = vec![
        (
            "unknown tag",
            br#"kv1j-no.such.Type|{"id":"x","name":"y"}"#.to_vec(),
            |e| matches!(e, Error::TypeMismatch { found, .. } if found == "no.such.Type"),
            |e| matches!(e, Error::UnknownTag { tag, .. } if tag == "no.such.Type"),
        ),
        (
            "another registered type's tag, shaped as the target",
            br#"kv1j-hostile.Other|{"id":"x","name":"y"}"#.to_vec(),
            |e| {
                matches!(e, Error::TypeMismatch { expected, found, .. }
                if expected == "hostile.Target" && found == "hostile.Other")
            },
            // get_any decodes it as the type its tag names, which it does not fit.
            |e| matches!(e, Error::Decode { .. }),
        ),
        (
            "overlong tag",
            long_tag.into_bytes(),
            |e| matches!(e, Error::Corrupt { reason, .. } if reason.contains("too long")),
            |e| matches!(e, Error::Corrupt { reason, .. } if reason.contains("too long")),
        ),
        (
            "tag with forbidden characters",
            b"kv1j-hostile Target|{}".to_vec(),
            |e| matches!(e, Error::Corrupt { .. }),
            |e| matches!(e, Error::Corrupt { .. }),
        ),
        (
            "schema version past u32",
            b"kv1j-hostile.Target@99999999999|{}".to_vec(),
            |e| matches!(e, Error::Corrupt { reason, .. } if reason.contains("version")),
            |e| matches!(e, Error::Corrupt { .. }),
        ),
        (
            "untagged value",
            br#"kv1j-|{"id":"x","name":"y"}"#.to_vec(),
            |e| matches!(e, Error::Untagged { stored, .. } if stored.contains("with set")),
            |e| matches!(e, Error::Untagged { .. }),
        ),
    ];
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for (i, (what, bytes, model_check, any_check)) in cases.iter().enumerate() {
        let id = format!("{id}-{i}");
        let key = plant(&mut conn, &id, bytes);
        let e = s.get_model::<Target>(&id).unwrap_err();
        assert!(model_check(&e), "{what}: get_model gave {e:?}");
        assert_eq!(
            e.key(),
            Some(key.as_str()),
            "{what}: the error names the key"
        );
        let e = s.get_any(&key).unwrap_err();
        assert!(any_check(&e), "{what}: get_any gave {e:?}");
        let (e1, e2) = rt.block_on(async {
            (
                s.aio().get_model::<Target>(&id).await.unwrap_err(),
                s.aio().get_any(&key).await.unwrap_err(),
            )
        });
        assert!(model_check(&e1), "{what}: async get_model gave {e1:?}");
        assert!(any_check(&e2), "{what}: async get_any gave {e2:?}");
        println!("{what}: {e}");
    }
    // The legitimate case still works: a registered tag with its own shape.
    let key = plant(
        &mut conn,
        &format!("{id}-ok"),
        br#"kv1j-hostile.Other|{"id":7,"amount":-3}"#,
    );
    let any = s.get_any(&key).unwrap().unwrap();
    assert_eq!(
        any.downcast::<Other>().ok(),
        Some(Other { id: 7, amount: -3 })
    );
}

#[test]
fn kvdb_py_pickle_and_tensor_payloads_are_refused_through_a_session() {
    let s = json();
    let mut conn = raw();
    let payloads: [&[u8]; 3] = [
        // pickle.dumps(...) that would run os.system on unpickling, hex-encoded as kvdb-py does
        br#"_kvdbenc_{"__type__": "pickle", "value": "8004952a000000000000008c02706f948c0673797374656d9493948c0869642026262074727565948594529452942e"}"#,
        br#"_kvdbenc_{"__type__": "tensor", "value": [1, 2, 3]}"#,
        // nested inside an ordinary container
        br#"_kvdbenc_{"a": [1, {"__type__": "pickle", "value": "80"}]}"#,
    ];
    for (i, bytes) in payloads.iter().enumerate() {
        let key = format!("{}:py:{i}", unique("pickle"));
        redis::cmd("SET")
            .arg(&key)
            .arg(*bytes)
            .exec(&mut conn)
            .unwrap();
        let e = s.get::<serde_json::Value>(&key).unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert!(msg.contains("refuses"), "{msg}");
        assert_eq!(e.key(), Some(key.as_str()));
        let e = s.get_any(&key).unwrap_err();
        assert!(matches!(e, Error::Untagged { .. }), "{e:?}");
        println!("kvdb-py payload {i}: {msg}");
    }
}

/// `cmdstat_<cmd>:calls=N` from `INFO commandstats`, 0 if the command never ran.
fn calls(conn: &mut redis::Connection, command: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg("commandstats").query(conn).unwrap();
    let prefix = format!("cmdstat_{command}:calls=");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[derive(Debug, Clone, Serialize, Deserialize, KvModel)]
#[kv(tag = "hostile.Blob", prefix = "hostile:blobs")]
struct Blob {
    #[kv(key)]
    id: u32,
    data: String,
}

#[test]
fn values_over_max_value_size_are_refused_before_they_are_sent() {
    // A server of its own, so that its command counts are this test's alone.
    let own = TestServer::start().unwrap();
    let s = KVDBClient::get_session(
        SessionOptions::new(unique("oversized"))
            .url(own.url())
            .serializer(Serializer::Json)
            .max_value_size(1024),
    )
    .unwrap();
    let mut conn = redis::Client::open(own.url())
        .unwrap()
        .get_connection()
        .unwrap();
    s.set("small", &"x".repeat(1000)).unwrap();
    let big = "x".repeat(4096);
    let before: Vec<u64> = ["set", "hset", "rpush", "lpush"]
        .iter()
        .map(|c| calls(&mut conn, c))
        .collect();
    let check = |e: Error, what: &str| {
        assert!(
            matches!(e, Error::ValueTooLarge { size, limit: 1024, .. } if size >= 4096),
            "{what}: {e:?}"
        );
        assert!(e.to_string().contains("not sent"), "{e}");
    };
    check(s.set("big", &big).unwrap_err(), "set");
    check(s.hset("h", "f", &big).unwrap_err(), "hset");
    check(
        s.lpush("l", std::slice::from_ref(&big)).unwrap_err(),
        "lpush",
    );
    let blob = Blob {
        id: 1,
        data: big.clone(),
    };
    check(s.set_model(&blob).unwrap_err(), "set_model");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        check(s.aio().set("big", &big).await.unwrap_err(), "async set");
        check(
            s.aio().set_model(&blob).await.unwrap_err(),
            "async set_model",
        );
    });
    let after: Vec<u64> = ["set", "hset", "rpush", "lpush"]
        .iter()
        .map(|c| calls(&mut conn, c))
        .collect();
    assert_eq!(before, after, "no write command reached the server");
    let exists: u64 = redis::cmd("EXISTS")
        .arg(&["big", "h", "l", "hostile:blobs:1"])
        .query(&mut conn)
        .unwrap();
    assert_eq!(exists, 0);
    // The session is fine afterwards.
    assert_eq!(
        s.get::<String>("small").unwrap().map(|v| v.len()),
        Some(1000)
    );
    println!("oversized: 6 writes refused, set/hset/lpush calls before {before:?} after {after:?}");
}

//! String operations, sync and async, with JSON and another serializer.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use kvdb::{Error, SetOptions, Ttl};
use kvdb_tests::dual_test;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    age: u32,
    tags: Vec<String>,
}

fn ada() -> User {
    User {
        name: "Ada".into(),
        age: 36,
        tags: vec!["math".into(), "engines".into()],
    }
}

dual_test!(get_set_round_trip, [Json, Cbor, MsgPack], |s, p| {
    let k = format!("{p}:user");
    assert_eq!(w!(s.get::<User>(&k)).unwrap(), None);
    w!(s.set(&k, &ada())).unwrap();
    assert_eq!(w!(s.get::<User>(&k)).unwrap(), Some(ada()));
    // Scalars stay plain: a string reads back whatever the serializer.
    w!(s.set(&k, "plain")).unwrap();
    assert_eq!(w!(s.get::<String>(&k)).unwrap().as_deref(), Some("plain"));
});

dual_test!(set_ex_sets_a_ttl, [Json, Cbor], |s, p| {
    let k = format!("{p}:tmp");
    w!(s.set_ex(&k, &ada(), Duration::from_secs(100))).unwrap();
    match w!(s.pttl(&k)).unwrap() {
        Ttl::Expires(d) => assert!(d > Duration::from_secs(90) && d <= Duration::from_secs(100)),
        other => panic!("expected an expiry, got {other:?}"),
    }
    assert_eq!(w!(s.get::<User>(&k)).unwrap(), Some(ada()));
});

dual_test!(set_with_conditions, [Json, MsgPack], |s, p| {
    let k = format!("{p}:owner");
    assert!(!w!(s.set_with(&k, "w1", SetOptions::new().xx())).unwrap());
    assert!(!w!(s.exists(&k)).unwrap());
    assert!(w!(s.set_with(&k, "w1", SetOptions::new().nx().ex(Duration::from_secs(50)))).unwrap());
    assert!(!w!(s.set_with(&k, "w2", SetOptions::new().nx())).unwrap());
    assert_eq!(w!(s.get::<String>(&k)).unwrap().as_deref(), Some("w1"));
    assert!(matches!(w!(s.ttl(&k)).unwrap(), Ttl::Expires(d) if d <= Duration::from_secs(50)));
    // KEEPTTL keeps the expiry; a plain XX set clears it.
    assert!(w!(s.set_with(&k, "w3", SetOptions::new().xx().keep_ttl())).unwrap());
    assert!(matches!(w!(s.ttl(&k)).unwrap(), Ttl::Expires(_)));
    assert!(w!(s.set_with(&k, "w4", SetOptions::new().xx())).unwrap());
    assert_eq!(w!(s.ttl(&k)).unwrap(), Ttl::Persistent);
    assert!(
        w!(s.set_with(
            &k,
            "w5",
            SetOptions::new().px(Duration::from_millis(80_000))
        ))
        .unwrap()
    );
    assert!(matches!(w!(s.pttl(&k)).unwrap(), Ttl::Expires(d) if d > Duration::from_secs(70)));
});

dual_test!(set_get_returns_the_old_value, [Json, Cbor], |s, p| {
    let k = format!("{p}:u");
    assert_eq!(w!(s.set_get(&k, &ada(), SetOptions::new())).unwrap(), None);
    let mut older = ada();
    older.age = 37;
    assert_eq!(
        w!(s.set_get(&k, &older, SetOptions::new())).unwrap(),
        Some(ada())
    );
    assert_eq!(w!(s.get::<User>(&k)).unwrap(), Some(older.clone()));
    // NX + GET: not set, the current value comes back.
    assert_eq!(
        w!(s.set_get(&k, &ada(), SetOptions::new().nx())).unwrap(),
        Some(older.clone())
    );
    assert_eq!(w!(s.get::<User>(&k)).unwrap(), Some(older));
});

dual_test!(get_del_reads_and_deletes, [Json, MsgPack], |s, p| {
    let k = format!("{p}:once");
    w!(s.set(&k, &vec![1u8, 2, 3])).unwrap();
    assert_eq!(w!(s.get_del::<Vec<u8>>(&k)).unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(w!(s.get_del::<Vec<u8>>(&k)).unwrap(), None);
    assert!(!w!(s.exists(&k)).unwrap());
});

dual_test!(mget_and_mset_keep_order, [Json, Cbor], |s, p| {
    let (a, b, c) = (format!("{p}:a"), format!("{p}:b"), format!("{p}:c"));
    let mut bob = ada();
    bob.name = "Bob".into();
    w!(s.mset(&[(a.as_str(), ada()), (c.as_str(), bob.clone())])).unwrap();
    let got = w!(s.mget::<User>(&[&a, &b, &c])).unwrap();
    assert_eq!(got, vec![Some(ada()), None, Some(bob)]);
});

dual_test!(mget_names_the_key_that_fails_to_decode, [Json], |s, p| {
    let (a, b) = (format!("{p}:a"), format!("{p}:b"));
    w!(s.set(&a, &ada())).unwrap();
    w!(s.set(&b, "not a user")).unwrap();
    let e = w!(s.mget::<User>(&[&a, &b])).unwrap_err();
    assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    assert_eq!(e.key(), Some(b.as_str()));
});

dual_test!(counters, [Json], |s, p| {
    let k = format!("{p}:n");
    assert_eq!(w!(s.incr(&k)).unwrap(), 1);
    assert_eq!(w!(s.incr_by(&k, 41)).unwrap(), 42);
    assert_eq!(w!(s.decr(&k)).unwrap(), 41);
    assert_eq!(w!(s.decr_by(&k, 50)).unwrap(), -9);
    assert_eq!(w!(s.get::<i64>(&k)).unwrap(), Some(-9));
    let f = format!("{p}:f");
    w!(s.set(&f, &1.5f64)).unwrap();
    assert_eq!(w!(s.incr_by_float(&f, 0.25)).unwrap(), 1.75);
    // INCR on a structured value: a Redis error naming the key.
    let u = format!("{p}:u");
    w!(s.set(&u, &ada())).unwrap();
    let e = w!(s.incr(&u)).unwrap_err();
    assert!(matches!(e, Error::Redis { .. }), "{e:?}");
    assert_eq!(e.key(), Some(u.as_str()));
});

dual_test!(
    wrong_type_is_a_typed_error_naming_the_key,
    [Json, Cbor],
    |s, p| {
        let k = format!("{p}:list");
        w!(s.rpush(&k, &[1, 2])).unwrap();
        let e = w!(s.get::<User>(&k)).unwrap_err();
        assert!(matches!(e, Error::Redis { .. }), "{e:?}");
        assert_eq!(e.key(), Some(k.as_str()));
        assert!(e.to_string().contains("WRONGTYPE"), "{e}");
    }
);

dual_test!(
    a_value_of_another_shape_is_a_decode_error,
    [Json, MsgPack],
    |s, p| {
        let k = format!("{p}:v");
        w!(s.set(&k, &vec![1, 2, 3])).unwrap();
        let e = w!(s.get::<User>(&k)).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert_eq!(e.key(), Some(k.as_str()));
    }
);

#[test]
fn structured_values_need_a_serializer() {
    let (s, p) = kvdb_tests::session(kvdb_tests::options("noser"));
    let k = format!("{p}:u");
    let e = s.set(&k, &ada()).unwrap_err();
    assert!(matches!(e, Error::SerializerRequired { .. }), "{e:?}");
    assert_eq!(e.key(), Some(k.as_str()));
    assert!(!s.exists(&k).unwrap());
}

/// The blocking methods do not ask for the `Sync` (or `Send`) bounds that only the async
/// methods' futures need: a `Cell` (not `Sync`) is stored, and a closure holding an `Rc` (not
/// `Send`) updates a model.
#[test]
fn sync_methods_take_values_and_closures_that_are_not_sync() {
    let (s, p) =
        kvdb_tests::session(kvdb_tests::options("notsync").serializer(kvdb::Serializer::Json));
    let k = format!("{p}:cell");
    s.set(&k, &std::cell::Cell::new(5u32)).unwrap();
    assert_eq!(s.get::<u32>(&k).unwrap(), Some(5));
    s.sadd(&format!("{p}:set"), &[std::cell::Cell::new(1u8)])
        .unwrap();
    #[derive(Serialize, Deserialize, kvdb::KvModel)]
    #[kv(prefix = "notsync")]
    struct Counter {
        #[kv(key)]
        name: String,
        hits: u64,
    }
    s.set_model(&Counter {
        name: p.clone(),
        hits: 1,
    })
    .unwrap();
    let calls = std::rc::Rc::new(std::cell::Cell::new(0));
    let seen = calls.clone();
    let c = s
        .update_model::<Counter, _>(p.as_str(), move |c| {
            seen.set(seen.get() + 1);
            c.hits += 1;
        })
        .unwrap();
    assert_eq!(c.map(|c| c.hits), Some(2));
    assert_eq!(calls.get(), 1);
}

// Values above the sync transport's thresholds are written argument by argument (no packed
// copy) and read on a connection that is then dropped: both must round-trip exactly, and the
// pool must go on working.
fn large_user() -> User {
    User {
        name: "x".repeat(3 * 1024 * 1024),
        age: 1,
        tags: (0..50_000).map(|i| format!("tag-{i}")).collect(),
    }
}

dual_test!(large_values_round_trip, [Json, Cbor], |s, p| {
    let k = format!("{p}:large");
    w!(s.set(&k, &large_user())).unwrap();
    assert_eq!(w!(s.get::<User>(&k)).unwrap(), Some(large_user()));
    // Plain bytes, and a key after the value.
    let bytes: Vec<u8> = (0..5 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let after = format!("{p}:after");
    let small = vec![1u8, 2];
    w!(s.mset(&[(k.as_str(), &bytes), (after.as_str(), &small)])).unwrap();
    assert_eq!(w!(s.get::<Vec<u8>>(&k)).unwrap(), Some(bytes));
    assert_eq!(w!(s.get::<Vec<u8>>(&after)).unwrap(), Some(small));
    w!(s.set(&k, &ada())).unwrap();
    assert_eq!(w!(s.get::<User>(&k)).unwrap(), Some(ada()));
});

#[test]
fn large_compressed_values_round_trip() {
    for c in [kvdb::Compression::Zstd, kvdb::Compression::Lz4] {
        let (s, p) = kvdb_tests::session(
            kvdb_tests::options("large_compressed")
                .serializer(kvdb::Serializer::Json)
                .compression(c),
        );
        let k = format!("{p}:large");
        s.set(&k, &large_user()).unwrap();
        assert_eq!(s.get::<User>(&k).unwrap(), Some(large_user()), "{c}");
    }
}

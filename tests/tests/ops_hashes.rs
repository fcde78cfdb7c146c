//! Hash operations, sync and async, with JSON and another serializer.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::HashMap;

use kvdb::Error;
use kvdb_tests::dual_test;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Address {
    city: String,
    zip: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    visits: u64,
    score: f64,
    active: bool,
    address: Address,
    nick: Option<String>,
}

fn ada() -> Profile {
    Profile {
        name: "Ada".into(),
        visits: 3,
        score: 9.5,
        active: true,
        address: Address {
            city: "London".into(),
            zip: 1815,
        },
        nick: None,
    }
}

dual_test!(hset_hget_hmget_hgetall, [Json, Cbor, MsgPack], |s, p| {
    let k = format!("{p}:h");
    let home = Address {
        city: "Paris".into(),
        zip: 75,
    };
    assert!(w!(s.hset(&k, "home", &home)).unwrap());
    assert!(!w!(s.hset(&k, "home", &home)).unwrap());
    let work = Address {
        city: "Lyon".into(),
        zip: 69,
    };
    assert_eq!(
        w!(s.hset_multiple(&k, &[("work", &work), ("home", &home)])).unwrap(),
        1
    );
    assert_eq!(
        w!(s.hget::<Address>(&k, "work")).unwrap(),
        Some(work.clone())
    );
    assert_eq!(w!(s.hget::<Address>(&k, "nope")).unwrap(), None);
    assert_eq!(
        w!(s.hget::<Address>(&format!("{p}:none"), "work")).unwrap(),
        None
    );
    assert_eq!(
        w!(s.hmget::<Address>(&k, &["home", "nope", "work"])).unwrap(),
        vec![Some(home.clone()), None, Some(work.clone())]
    );
    let all: HashMap<String, Address> = w!(s.hgetall(&k)).unwrap();
    assert_eq!(
        all,
        HashMap::from([("home".to_owned(), home), ("work".to_owned(), work)])
    );
    assert!(
        w!(s.hgetall::<Address>(&format!("{p}:none")))
            .unwrap()
            .is_empty()
    );
});

dual_test!(hdel_hexists_hkeys_hlen_hincr_by, [Json, MsgPack], |s, p| {
    let k = format!("{p}:h");
    w!(s.hset_multiple(&k, &[("a", 1), ("b", 2), ("c", 3)])).unwrap();
    assert_eq!(w!(s.hlen(&k)).unwrap(), 3);
    assert!(w!(s.hexists(&k, "b")).unwrap());
    assert_eq!(w!(s.hdel(&k, &["b", "zz"])).unwrap(), 1);
    assert!(!w!(s.hexists(&k, "b")).unwrap());
    let mut keys = w!(s.hkeys(&k)).unwrap();
    keys.sort();
    assert_eq!(keys, ["a", "c"]);
    assert_eq!(w!(s.hincr_by(&k, "a", 10)).unwrap(), 11);
    assert_eq!(w!(s.hincr_by(&k, "new", -2)).unwrap(), -2);
    assert_eq!(w!(s.hget::<i64>(&k, "a")).unwrap(), Some(11));
    assert_eq!(w!(s.hlen(&format!("{p}:none"))).unwrap(), 0);
});

dual_test!(
    a_struct_as_a_hash_round_trips,
    [Json, Cbor, MsgPack],
    |s, p| {
        let k = format!("{p}:profile");
        assert_eq!(w!(s.hgetall_struct::<Profile>(&k)).unwrap(), None);
        assert_eq!(w!(s.hset_struct(&k, &ada())).unwrap(), 6);
        // Scalars are plain fields: HINCRBY works on them.
        assert_eq!(w!(s.hincr_by(&k, "visits", 1)).unwrap(), 4);
        let mut want = ada();
        want.visits = 4;
        assert_eq!(w!(s.hgetall_struct::<Profile>(&k)).unwrap(), Some(want));
        assert_eq!(
            w!(s.hget::<Address>(&k, "address")).unwrap(),
            Some(ada().address)
        );
    }
);

dual_test!(
    a_hash_missing_a_field_is_a_decode_error_naming_the_key,
    [Json, Cbor],
    |s, p| {
        let k = format!("{p}:profile");
        w!(s.hset_struct(&k, &ada())).unwrap();
        w!(s.hdel(&k, &["score"])).unwrap();
        let e = w!(s.hgetall_struct::<Profile>(&k)).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert_eq!(e.key(), Some(k.as_str()));
        assert!(e.to_string().contains("missing field `score`"), "{e}");
        // A field of the wrong type is an error too.
        w!(s.hset(&k, "score", "high")).unwrap();
        let e = w!(s.hgetall_struct::<Profile>(&k)).unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
        assert_eq!(e.key(), Some(k.as_str()));
    }
);

dual_test!(
    hash_commands_on_a_string_key_are_typed_errors,
    [Json],
    |s, p| {
        let k = format!("{p}:str");
        w!(s.set(&k, "x")).unwrap();
        let e = w!(s.hget::<String>(&k, "f")).unwrap_err();
        assert!(matches!(e, Error::Redis { .. }), "{e:?}");
        assert_eq!(e.key(), Some(k.as_str()));
        let e = w!(s.hgetall_struct::<Profile>(&k)).unwrap_err();
        assert_eq!(e.key(), Some(k.as_str()));
    }
);

#[test]
fn hset_struct_refuses_what_is_not_a_struct() {
    let (s, p) = kvdb_tests::session(kvdb_tests::options("hs").serializer(kvdb::Serializer::Json));
    let e = s.hset_struct(&format!("{p}:x"), &vec![1, 2]).unwrap_err();
    assert!(matches!(e, Error::Unsupported(_)), "{e:?}");
}

//! Set and sorted-set operations, sync and async.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeSet;

use kvdb::Error;
use kvdb_tests::dual_test;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
struct Tag {
    name: String,
    weight: u8,
}

fn tag(name: &str, weight: u8) -> Tag {
    Tag {
        name: name.into(),
        weight,
    }
}

dual_test!(sets, [Json, Cbor, MsgPack], |s, p| {
    let k = format!("{p}:s");
    assert_eq!(w!(s.sadd(&k, &[tag("a", 1), tag("b", 2)])).unwrap(), 2);
    assert_eq!(w!(s.sadd(&k, &[tag("b", 2), tag("c", 3)])).unwrap(), 1);
    assert_eq!(w!(s.scard(&k)).unwrap(), 3);
    assert!(w!(s.sismember(&k, &tag("a", 1))).unwrap());
    assert!(!w!(s.sismember(&k, &tag("a", 9))).unwrap());
    assert_eq!(w!(s.srem(&k, &[tag("a", 1), tag("z", 0)])).unwrap(), 1);
    let members: BTreeSet<Tag> = w!(s.smembers::<Tag>(&k)).unwrap().into_iter().collect();
    assert_eq!(members, BTreeSet::from([tag("b", 2), tag("c", 3)]));
    assert!(
        w!(s.smembers::<Tag>(&format!("{p}:none")))
            .unwrap()
            .is_empty()
    );
    assert_eq!(w!(s.scard(&format!("{p}:none"))).unwrap(), 0);
});

dual_test!(sorted_sets, [Json, Cbor, MsgPack], |s, p| {
    let k = format!("{p}:z");
    assert!(w!(s.zadd(&k, &tag("a", 1), 3.0)).unwrap());
    assert!(!w!(s.zadd(&k, &tag("a", 1), 1.0)).unwrap());
    assert_eq!(
        w!(s.zadd_multiple(&k, &[(tag("b", 2), 2.0), (tag("c", 3), 3.5)])).unwrap(),
        2
    );
    assert_eq!(w!(s.zcard(&k)).unwrap(), 3);
    assert_eq!(w!(s.zscore(&k, &tag("a", 1))).unwrap(), Some(1.0));
    assert_eq!(w!(s.zscore(&k, &tag("q", 1))).unwrap(), None);
    assert_eq!(
        w!(s.zrange::<Tag>(&k, 0, -1)).unwrap(),
        vec![tag("a", 1), tag("b", 2), tag("c", 3)]
    );
    assert_eq!(
        w!(s.zrange_with_scores::<Tag>(&k, 1, -1)).unwrap(),
        vec![(tag("b", 2), 2.0), (tag("c", 3), 3.5)]
    );
    assert_eq!(
        w!(s.zrangebyscore::<Tag>(&k, 1.5, 3.5)).unwrap(),
        vec![tag("b", 2), tag("c", 3)]
    );
    assert_eq!(
        w!(s.zrangebyscore::<Tag>(&k, f64::NEG_INFINITY, 2.0)).unwrap(),
        vec![tag("a", 1), tag("b", 2)]
    );
    assert_eq!(w!(s.zincr_by(&k, &tag("a", 1), 10.25)).unwrap(), 11.25);
    assert_eq!(w!(s.zrange::<Tag>(&k, -1, -1)).unwrap(), vec![tag("a", 1)]);
    assert_eq!(w!(s.zrem(&k, &[tag("a", 1), tag("nope", 0)])).unwrap(), 1);
    assert_eq!(w!(s.zcard(&k)).unwrap(), 2);
});

dual_test!(
    set_commands_on_a_string_key_are_typed_errors,
    [Json],
    |s, p| {
        let k = format!("{p}:str");
        w!(s.set(&k, "x")).unwrap();
        let e = w!(s.smembers::<String>(&k)).unwrap_err();
        assert!(matches!(e, Error::Redis { .. }), "{e:?}");
        assert_eq!(e.key(), Some(k.as_str()));
        let e = w!(s.zadd(&k, "m", 1.0)).unwrap_err();
        assert_eq!(e.key(), Some(k.as_str()));
    }
);

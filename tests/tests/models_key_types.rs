//! Model keys of other crates' id and date types (features `uuid`, `ulid`, `chrono`, `time`),
//! stored, read back and scanned, sync and async, with keys given owned or borrowed.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use kvdb::KvModel;
use kvdb::model::key_of;
use kvdb_tests::dual_test;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "keys.Visit", key = "visits:{user}:{day}")]
struct Visit {
    user: uuid::Uuid,
    day: chrono::NaiveDate,
    pages: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "keys.Order", key = "orders:{id}:{placed}")]
struct Order {
    id: ulid::Ulid,
    placed: time::Date,
    cents: u64,
}

fn visit(n: u128) -> Visit {
    Visit {
        user: uuid::Uuid::from_u128(0x67E5_5044_10B1_426F_9247_BB68_0E5F_0000 ^ n),
        day: chrono::NaiveDate::from_ymd_opt(2024, 5, 31).unwrap(),
        pages: 3,
    }
}

#[test]
fn the_keys_are_the_canonical_texts() {
    let v = visit(0xE0C8);
    assert_eq!(
        key_of::<Visit>(&(v.user, v.day)).unwrap(),
        "visits:67e55044-10b1-426f-9247-bb680e5fe0c8:2024-05-31"
    );
    let id = ulid::Ulid::from_string("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
    let day = time::Date::from_calendar_date(2024, time::Month::May, 31).unwrap();
    assert_eq!(
        key_of::<Order>(&(&id, &day)).unwrap(),
        "orders:01ARZ3NDEKTSV4RRFFQ69G5FAV:2024-05-31"
    );
}

dual_test!(
    uuid_ulid_and_date_keys_round_trip,
    [Json, MsgPack],
    |s, p| {
        // The test's unique prefix as a number: the sync and async runs use different keys.
        let n = p.bytes().fold(0u128, |h, b| {
            h.wrapping_mul(131).wrapping_add(u128::from(b))
        });
        let v = visit(n);
        w!(s.set_model(&v)).unwrap();
        // Owned parts, borrowed parts: the same key.
        assert_eq!(
            w!(s.get_model::<Visit>(&(v.user, v.day))).unwrap(),
            Some(v.clone())
        );
        assert_eq!(
            w!(s.get_model::<Visit>(&(&v.user, &v.day))).unwrap(),
            Some(v.clone())
        );
        assert!(w!(s.exists_model::<Visit>(&(v.user, v.day))).unwrap());

        let order = Order {
            id: ulid::Ulid::from_parts(1_700_000_000_000, n & ((1 << 80) - 1)),
            placed: time::Date::from_calendar_date(2023, time::Month::December, 1).unwrap(),
            cents: 1999,
        };
        w!(s.set_model(&order)).unwrap();
        assert_eq!(
            w!(s.get_model::<Order>(&(order.id, order.placed))).unwrap(),
            Some(order.clone())
        );
        assert!(w!(s.delete_model::<Order>(&(&order.id, &order.placed))).unwrap());
        assert_eq!(
            w!(s.get_model::<Order>(&(order.id, order.placed))).unwrap(),
            None
        );
    }
);

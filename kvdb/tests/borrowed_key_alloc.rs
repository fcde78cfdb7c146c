//! A key given in borrowed form (`"a@b.com"`, `&(7, "acme")`) costs no more memory than the
//! owned key: the parts are written straight into the one `String` of the Redis key.
//! (One test in this binary: the allocator's counts are process-wide.)

#![allow(clippy::unwrap_used)]

use kvdb::KvModel;
use kvdb::model::key_of;
use kvdb_alloc_probe::Probe;
use serde::{Deserialize, Serialize};

#[global_allocator]
static PROBE: Probe = Probe::new();

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "accounts")]
struct Account {
    #[kv(key)]
    email: String,
}

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "member:{user}:org:{org}")]
struct Membership {
    user: u64,
    org: String,
}

/// The most bytes `f` holds at once beyond what was live before.
fn peak_of<T>(f: impl FnOnce() -> T) -> usize {
    let base = PROBE.reset_peak();
    let out = f();
    let peak = PROBE.peak() - base;
    drop(out);
    peak
}

#[test]
fn borrowed_keys_cost_what_owned_keys_cost() {
    let email = String::from("someone.with.a.long.address@example.com");
    let org = String::from("acme-corporation-international");
    // Warm up anything lazily allocated once.
    key_of::<Account>(&email).unwrap();
    key_of::<Membership>(&(7, org.clone())).unwrap();

    let owned_key = (7u64, org.clone());
    let owned = peak_of(|| key_of::<Account>(&email).unwrap());
    let borrowed = peak_of(|| key_of::<Account>(email.as_str()).unwrap());
    let literal = peak_of(|| key_of::<Account>("someone.with.a.long.address@example.com").unwrap());
    assert!(
        owned > email.len(),
        "the key itself is measured: {owned} bytes"
    );
    assert_eq!(borrowed, owned, "&str vs &String");
    assert_eq!(literal, owned, "a literal vs &String");

    let owned = peak_of(|| key_of::<Membership>(&owned_key).unwrap());
    let borrowed = peak_of(|| key_of::<Membership>(&(7, org.as_str())).unwrap());
    let by_ref = peak_of(|| key_of::<Membership>(&(&7u64, &org)).unwrap());
    assert!(
        owned > org.len(),
        "the key itself is measured: {owned} bytes"
    );
    assert_eq!(borrowed, owned, "(u64, &str) vs (u64, String)");
    assert_eq!(by_ref, owned, "(&u64, &String) vs (u64, String)");
}

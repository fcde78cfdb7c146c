//! The payload every workload moves: a realistic ~12-field model, 571 bytes of JSON.

use std::collections::BTreeMap;

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Address {
    street: String,
    city: String,
    zip: String,
    country: String,
}

/// The same shape as `benches/codec.rs`'s customer, as a model stored at `bench:cust:{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(prefix = "bench:cust", tag = "bench.Customer")]
pub(crate) struct Customer {
    #[kv(key)]
    pub(crate) id: u64,
    name: String,
    email: String,
    active: bool,
    score: f64,
    created_at: String,
    tags: Vec<String>,
    address: Address,
    preferences: BTreeMap<String, String>,
    orders: Vec<u64>,
    balance_cents: i64,
    notes: Option<String>,
}

pub(crate) fn customer(id: u64) -> Customer {
    Customer {
        id,
        name: "Alice Example".into(),
        email: "alice@example.com".into(),
        active: true,
        score: 98.25,
        created_at: "2024-01-02T03:04:05.123456Z".into(),
        tags: vec!["admin".into(), "beta".into(), "newsletter".into()],
        address: Address {
            street: "1 Main Street".into(),
            city: "Springfield".into(),
            zip: "12345".into(),
            country: "US".into(),
        },
        preferences: (0..6)
            .map(|i| (format!("pref_{i}"), format!("value number {i}")))
            .collect(),
        orders: (1000..1020).collect(),
        balance_cents: -12_345,
        notes: Some("Prefers email contact; VIP since 2019.".into()),
    }
}

/// How many distinct keys the workloads cycle through.
pub(crate) const KEYS: u64 = 1000;

/// The key of the `i`-th value of a plain (non-model) workload.
pub(crate) fn plain_key(i: u64) -> String {
    format!("bench:plain:{}", i % KEYS)
}

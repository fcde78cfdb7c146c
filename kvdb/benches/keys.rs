//! Key formatting benchmarks (no I/O): model keys from key fields (`key_of`, `model_key`),
//! escaping, hash tags, `KeySchema::matches`, against a bare `format!`.
//!
//! `cargo bench -p kvdb --bench keys`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kvdb::KvModel;
use kvdb::model::{escape_part, key_of, model_key};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users")]
struct User {
    #[kv(key)]
    id: u64,
    name: String,
}

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "sessions")]
struct Sess {
    #[kv(key)]
    token: String,
}

#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = "orgs.Member", key = "org:{org}:member:{id}", hash_tag = "{org}")]
struct Member {
    org: String,
    id: u32,
    role: String,
}

fn keys(c: &mut Criterion) {
    let mut g = c.benchmark_group("keys");
    g.bench_function("format! baseline users:{u64}", |b| {
        b.iter(|| format!("users:{}", black_box(4_242_424_242u64)))
    });
    g.bench_function("key_of users:{u64}", |b| {
        b.iter(|| key_of::<User>(black_box(&4_242_424_242)).unwrap())
    });
    let user = User {
        id: 4_242_424_242,
        name: "Ann".into(),
    };
    g.bench_function("model_key users:{u64}", |b| {
        b.iter(|| model_key(black_box(&user)).unwrap())
    });
    let token = "5f2b9c1e-8d4a-4c7b-9e3f-1a2b3c4d5e6f".to_owned();
    g.bench_function("format! baseline sessions:{36-char str}", |b| {
        b.iter(|| format!("sessions:{}", black_box(&token)))
    });
    g.bench_function("key_of sessions:{36-char str}", |b| {
        b.iter(|| key_of::<Sess>(black_box(&token)).unwrap())
    });
    let escaped = "a:b{c}%d:e".repeat(4);
    g.bench_function("key_of sessions:{40-char str, 16 escapes}", |b| {
        b.iter(|| key_of::<Sess>(black_box(&escaped)).unwrap())
    });
    g.bench_function("escape_part 36-char str, none to escape", |b| {
        b.iter(|| escape_part(black_box(&token)))
    });
    let member_key = ("acme".to_owned(), 7u32);
    g.bench_function("key_of org:{acme}:member:{u32} (hash tag)", |b| {
        b.iter(|| key_of::<Member>(black_box(&member_key)).unwrap())
    });
    let k = key_of::<Member>(&member_key).unwrap();
    g.bench_function("KeySchema::matches org:{acme}:member:7", |b| {
        b.iter(|| Member::KEY_SCHEMA.matches(black_box(&k)))
    });
    g.finish();
}

criterion_group!(benches, keys);
criterion_main!(benches);

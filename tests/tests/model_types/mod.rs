//! The model types of the model tests, shared by `models.rs` and `models_async.rs` (each test
//! binary has its own server, so both can use the same tags and keys).
#![allow(dead_code, unreachable_pub)]

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.User", prefix = "it:users")]
pub struct User {
    #[kv(key)]
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
}

/// Same key shape as `User`, another tag: reading one as the other is a type mismatch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.Impostor", prefix = "it:users")]
pub struct Impostor {
    #[kv(key)]
    pub id: u64,
    pub name: String,
}

/// Composite key in a template, hash-tagged by org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "it.Member",
    key = "it:org:{org}:member:{id}",
    hash_tag = "{org}"
)]
pub struct Member {
    pub org: String,
    pub id: u32,
    pub role: String,
}

/// A default TTL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.Login", prefix = "it:logins", ttl = "1h30m")]
pub struct Login {
    #[kv(key)]
    pub token: String,
    pub user: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.Counter", prefix = "it:counters")]
pub struct Counter {
    #[kv(key)]
    pub name: String,
    pub hits: u64,
}

/// Two string key fields, for escaping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.Pair", prefix = "it:pairs")]
pub struct Pair {
    #[kv(key)]
    pub a: String,
    #[kv(key)]
    pub b: String,
    pub n: i32,
}

/// A singleton enum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.Shape", key = "it:shape")]
pub enum Shape {
    Circle { r: f64 },
    Square(f64),
}

/// A tuple struct keyed by its first field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.Flag", prefix = "it:flags")]
pub struct Flag(#[kv(key)] pub char, pub bool);

/// A bigger payload, so that compression applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.Doc", prefix = "it:docs")]
pub struct Doc {
    #[kv(key)]
    pub id: i64,
    pub body: String,
    pub words: Vec<String>,
}

impl Doc {
    pub fn sample(id: i64) -> Doc {
        let words: Vec<String> = (0..64).map(|i| format!("word{i}")).collect();
        Doc {
            id,
            body: words.join(" "),
            words,
        }
    }
}

/// Version 3, reading versions 1 and 2 through migrations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "it.Profile",
    prefix = "it:profiles",
    version = 3,
    migrate_from(1, profile_from_v1),
    migrate_from(2, profile_from_v2)
)]
pub struct Profile {
    #[kv(key)]
    pub id: u64,
    pub first: String,
    pub last: String,
    pub age: Option<u32>,
}

/// The version 1 shape: one name.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProfileV1 {
    pub id: u64,
    pub name: String,
}

/// The version 2 shape.
#[derive(Debug, Serialize, Deserialize)]
pub struct ProfileV2 {
    pub id: u64,
    pub first: String,
    pub last: String,
}

pub fn profile_from_v2(old: ProfileV2) -> Result<Profile, kvdb::Error> {
    Ok(Profile {
        id: old.id,
        first: old.first,
        last: old.last,
        age: None,
    })
}

pub fn profile_from_v1(old: ProfileV1) -> Result<Profile, String> {
    let (first, last) = old
        .name
        .split_once(' ')
        .ok_or_else(|| format!("cannot split the name {:?}", old.name))?;
    Ok(Profile {
        id: old.id,
        first: first.into(),
        last: last.into(),
        age: None,
    })
}

/// Scanned by the sync tests only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.ScanSync", prefix = "it:scan:sync")]
pub struct ScanSync {
    #[kv(key)]
    pub id: u32,
}

/// Scanned by the async tests only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "it.ScanAsync", prefix = "it:scan:async")]
pub struct ScanAsync {
    #[kv(key)]
    pub id: u32,
}

/// A raw connection to the test server, for what the API does not show.
pub fn raw() -> redis::Connection {
    redis::Client::open(kvdb_tests::server().url())
        .and_then(|c| c.get_connection())
        .expect("raw connection to the test server")
}

/// Stores bytes as they are.
pub fn raw_set(key: &str, bytes: &[u8]) {
    redis::cmd("SET")
        .arg(key)
        .arg(bytes)
        .exec(&mut raw())
        .expect("raw SET");
}

/// The stored bytes at `key`.
pub fn raw_get(key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut raw())
        .expect("raw GET")
}

/// The TTL at `key` in milliseconds (-1 none, -2 no key).
pub fn pttl(key: &str) -> i64 {
    redis::cmd("PTTL")
        .arg(key)
        .query(&mut raw())
        .expect("raw PTTL")
}

/// Deletes every key matching `pattern`, so a test starts clean even on a reused server.
pub fn clear(pattern: &str) {
    let mut con = raw();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(pattern)
        .query(&mut con)
        .expect("KEYS");
    if !keys.is_empty() {
        redis::cmd("DEL").arg(&keys).exec(&mut con).expect("DEL");
    }
}

/// A number no other test of this binary uses, for keys; `base` keeps binaries that share a
/// `KVDB_TEST_URL` server apart.
pub fn fresh_id(base: u64) -> u64 {
    let n: u64 = kvdb_tests::unique("id")
        .rsplit('-')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("unique() ends with a counter");
    base + n
}

/// A `User` with the given id.
pub fn user(id: u64) -> User {
    User {
        id,
        name: format!("user {id}"),
        tags: vec![],
    }
}

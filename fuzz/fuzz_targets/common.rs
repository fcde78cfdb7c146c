//! What the decoding targets share: typed targets and registered models.

use std::collections::BTreeMap;

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

/// A typical structured value.
#[derive(Debug, Serialize, Deserialize)]
pub struct Typed {
    pub id: u64,
    pub name: String,
    pub tags: Vec<String>,
    pub score: Option<f64>,
    pub extra: BTreeMap<String, serde_json::Value>,
    pub kind: Kind,
}

#[derive(Debug, Serialize, Deserialize)]
pub enum Kind {
    A,
    B(i32),
    C { x: u8 },
}

/// A registered model, so that `decode_any` has a tag to find.
#[derive(Debug, Serialize, Deserialize, KvModel)]
#[kv(tag = "fuzz.User", prefix = "users", version = 2)]
pub struct User {
    #[kv(key)]
    pub id: u64,
    pub name: String,
}

/// The cap the targets decode with: small, so that bombs are found fast.
pub const LIMIT: usize = 1 << 20;

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "user-{id}")]
struct User {
    id: u64,
}

fn main() {}

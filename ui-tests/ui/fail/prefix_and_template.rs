use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "people", key = "users:{id}")]
struct User {
    id: u64,
}

fn main() {}

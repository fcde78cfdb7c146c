use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users")]
struct User {
    id: u64,
    name: String,
}

fn main() {}

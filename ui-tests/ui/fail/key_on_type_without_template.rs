use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key)]
struct User {
    id: u64,
}

fn main() {}

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "users:{id}")]
struct User {
    #[kv(key)]
    id: u64,
}

fn main() {}

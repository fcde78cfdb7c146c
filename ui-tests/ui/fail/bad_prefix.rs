use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users{eu}")]
struct User {
    #[kv(key)]
    id: u64,
}

fn main() {}

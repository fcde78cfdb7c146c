use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = 42)]
struct User {
    #[kv(key)]
    id: u64,
}

fn main() {}

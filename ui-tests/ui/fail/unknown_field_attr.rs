use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
struct User {
    #[kv(key)]
    id: u64,
    #[kv(index)]
    email: String,
}

fn main() {}

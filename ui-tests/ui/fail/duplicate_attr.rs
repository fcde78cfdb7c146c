use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = "users.User")]
#[kv(prefix = "users", tag = "accounts.User")]
struct User {
    #[kv(key)]
    id: u64,
}

fn main() {}

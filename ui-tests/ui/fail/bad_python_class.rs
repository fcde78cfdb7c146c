use kvdb::KvModel;
use serde::{Deserialize, Serialize};

// kvdb-py records `module.Class`: a class name alone can never match.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users", python = "User")]
struct User {
    #[kv(key)]
    id: u64,
}

fn main() {}

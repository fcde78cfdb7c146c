use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users", version = 2, migrate_from(2, upgrade))]
struct User {
    #[kv(key)]
    id: u64,
}

fn upgrade(old: serde_json::Value) -> Result<User, kvdb::Error> {
    let _ = old;
    Ok(User { id: 0 })
}

fn main() {}

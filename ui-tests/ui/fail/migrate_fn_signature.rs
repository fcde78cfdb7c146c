use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users", version = 2, migrate_from(1, upgrade))]
struct User {
    #[kv(key)]
    id: u64,
}

// Returns the wrong type.
fn upgrade(old: u64) -> Result<u64, kvdb::Error> {
    Ok(old)
}

fn main() {}

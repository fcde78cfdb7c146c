// A malformed `migrate_from` does not hide the errors after it: the bad TTL is reported too.
use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users", version = 2, migrate_from(1), ttl = "30m1h")]
struct User {
    #[kv(key)]
    id: u64,
}

fn main() {}

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "sessions", ttl = 0)]
struct Login {
    #[kv(key)]
    token: String,
}

fn main() {}

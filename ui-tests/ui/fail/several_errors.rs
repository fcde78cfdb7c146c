use kvdb::KvModel;
use serde::{Deserialize, Serialize};

// Every problem is reported at once, each at its own place.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = "9lives", ttl = "1x", colour = "red")]
#[kv(version = 0)]
struct Cat {
    name: String,
    #[kv(key = "id")]
    id: u64,
}

fn main() {}

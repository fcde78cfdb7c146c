use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "org:{org}:user:{id}", hash_tag = "{name}")]
struct Member {
    org: String,
    id: u32,
    name: String,
}

fn main() {}

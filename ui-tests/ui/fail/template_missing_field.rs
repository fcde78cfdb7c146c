use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "org:{org_id}:user:{user_id}")]
struct Member {
    org_id: u64,
    id: u64,
}

fn main() {}

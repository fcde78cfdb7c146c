use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "org:{org}:member:{id}")]
struct Member {
    org: String,
    id: u32,
}

// Keys are type-checked: a Member is found by (String, u32).
fn find(session: &kvdb::Session) -> kvdb::Result<Option<Member>> {
    session.get_model::<Member>(&42)
}

fn main() {
    let _ = find;
}

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "member:{user}:org:{org}")]
struct Membership {
    user: u64,
    org: String,
}

// The key is (user, org), in template order: the parts given the other way round are refused.
fn find(session: &kvdb::Session) -> kvdb::Result<Option<Membership>> {
    session.get_model::<Membership>(&("acme", 7))
}

fn main() {
    let _ = find;
}

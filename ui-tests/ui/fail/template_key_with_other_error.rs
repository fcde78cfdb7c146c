// A template-keyed model with an error elsewhere (a bad TTL): the stub impl still has the
// template's key type, so the uses below add no errors of their own; only the TTL is reported.
use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "org:{org}:user:{id}", ttl = "30m1h")]
struct Member {
    org: String,
    id: u64,
}

fn read(session: &kvdb::Session) -> kvdb::Result<Option<Member>> {
    session.get_model::<Member>(&("acme", 7))
}

fn main() {
    let _ = read;
}

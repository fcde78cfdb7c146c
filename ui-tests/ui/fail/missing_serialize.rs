use kvdb::KvModel;
use serde::Deserialize;

#[derive(Deserialize, KvModel)]
#[kv(prefix = "users")]
struct User {
    #[kv(key)]
    id: u64,
}

fn main() {}

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "points", python = "models.Point", python_kind = "namedtuple")]
struct Point {
    #[kv(key)]
    id: u64,
}

fn main() {}

use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "boxes")]
struct Boxed<T> {
    #[kv(key)]
    id: u64,
    value: T,
}

fn main() {}

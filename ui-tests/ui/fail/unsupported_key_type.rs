use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "prices")]
struct Price {
    #[kv(key)]
    amount: f64,
}

fn main() {}

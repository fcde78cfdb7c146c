use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(key = "shapes:current")]
enum Shape {
    Circle {
        #[kv(key)]
        id: u32,
    },
    Square(u32),
}

fn main() {}

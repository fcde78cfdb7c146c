use kvdb::KvModel;
use serde::{Deserialize, Serialize};

// Every problem is reported at once, each at its own place.
#[derive(Serialize, Deserialize, KvModel)]
#[kv(tag = "9lives", ttl = "1x", colour = "red")]
#[kv(version = 0)]
struct Cat {
    name: String,
    #[kv(key = "id")]
    id: u64,
}

// After the errors above, the type still implements `KvModel` (a stub), so its uses add no
// errors of their own.
fn find(session: &kvdb::Session) -> kvdb::Result<Option<Cat>> {
    session.get_model::<Cat>(&7)
}

fn main() {
    let _ = find;
}

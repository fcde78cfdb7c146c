use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(table = "users")]
struct User {
    #[kv(key)]
    id: u64,
}

// After the errors above, the type still implements `KvModel` (a stub), so its uses add no
// errors of their own.
fn find(session: &kvdb::Session) -> kvdb::Result<Option<User>> {
    session.get_model::<User>(&42)
}

fn main() {
    let _ = find;
}

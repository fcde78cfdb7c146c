use kvdb::KvModel;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, KvModel)]
#[kv(prefix = "users")]
struct User {
    #[kv(key)]
    email: String,
}

// A `String` key accepts `&str`, not a byte string.
fn find(session: &kvdb::Session) -> kvdb::Result<Option<User>> {
    session.get_model::<User>(b"a@b.com")
}

fn main() {
    let _ = find;
}

#[kvdb::cached(session = "app", key = "user:{user_id}")]
fn f(id: u64) -> u64 {
    id
}

fn main() {}

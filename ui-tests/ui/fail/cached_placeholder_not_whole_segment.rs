#[kvdb::cached(session = "app", key = "user-{id}")]
fn f(id: u64) -> u64 {
    id
}

fn main() {}

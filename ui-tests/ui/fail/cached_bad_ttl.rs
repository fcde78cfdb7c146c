#[kvdb::cached(session = "app", ttl = "10 minutes")]
fn f(id: u64) -> u64 {
    id
}

fn main() {}

#[kvdb::cached(ttl = "1m", ttl = "2m")]
fn f(id: u64) -> u64 {
    id
}

fn main() {}

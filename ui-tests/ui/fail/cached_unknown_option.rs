#[kvdb::cached(session = "app", tll = "10m")]
fn f(id: u64) -> u64 {
    id
}

fn main() {}

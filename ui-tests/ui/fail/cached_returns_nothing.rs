#[kvdb::cached(session = "app")]
fn f(id: u64) {
    let _ = id;
}

fn main() {}

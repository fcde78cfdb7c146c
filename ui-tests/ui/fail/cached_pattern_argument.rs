#[kvdb::cached(session = "app")]
fn f((a, b): (u32, u32)) -> u32 {
    a + b
}

fn main() {}

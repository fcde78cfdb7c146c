struct Opaque;

#[kvdb::cached(session = "app")]
fn f(o: Opaque) -> u64 {
    let _ = o;
    1
}

fn main() {}

#[kvdb::cached(session = "app")]
struct NotAFunction;

fn main() {}

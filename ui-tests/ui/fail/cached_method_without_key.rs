struct Repo;

impl Repo {
    #[kvdb::cached(session = "app")]
    fn count(&self, n: u32) -> u32 {
        n
    }
}

fn main() {}

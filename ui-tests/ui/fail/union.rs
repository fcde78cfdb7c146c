use kvdb::KvModel;

#[derive(KvModel)]
#[kv(key = "bits")]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}

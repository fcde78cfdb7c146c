//! `#[derive(KvModel)]` for kvdb. Use it through `kvdb::KvModel`, not directly.

//! trybuild compile-pass and compile-fail cases for `#[derive(KvModel)]`.

//! Compile-pass and compile-fail cases of `#[derive(KvModel)]` and `#[kvdb::cached]` (trybuild). Regenerate the
//! expected compiler output with `TRYBUILD=overwrite`, then review it.

#[test]
fn derive_kv_model() {
    let t = trybuild::TestCases::new();
    t.pass("ui/pass/*.rs");
    t.compile_fail("ui/fail/*.rs");
}

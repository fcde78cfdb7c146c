//! `AsyncSession` has every accessor `Session` has, with the same answers.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use kvdb::{Compression, KVDBClient, Serializer};

#[test]
fn async_twin_answers_every_accessor_like_the_session() {
    let s = KVDBClient::get_session(
        kvdb_tests::options("accessors")
            .serializer(Serializer::Cbor)
            .compression(Compression::Lz4),
    )
    .unwrap();
    let a = s.aio();
    assert_eq!(a.name(), s.name());
    assert_eq!(a.url(), s.url());
    assert!(a.url().starts_with("redis://"), "{}", a.url());
    assert!(a.options() == s.options());
    assert_eq!(a.encoder().serializer, Serializer::Cbor);
    assert_eq!(
        a.encoder().compression.algorithm,
        s.encoder().compression.algorithm
    );
    // shares_pool_with compares either twin with either.
    assert!(a.shares_pool_with(&s) && s.shares_pool_with(&a) && a.shares_pool_with(&a));
    let other = KVDBClient::get_session(kvdb_tests::options("accessors-other").db_id(2)).unwrap();
    assert!(!a.shares_pool_with(&other) && !a.shares_pool_with(&other.aio()));
    assert!(!s.shares_pool_with(&other.aio()));
}

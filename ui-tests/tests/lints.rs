//! The code the derive and `#[kvdb::cached]` generate is clean under the lints a strict crate
//! denies (as thiserror's `test_lints.rs` checks its own): `unused_qualifications` (the
//! expansion cannot know what the caller imported, so it must not trip it), and clippy's
//! `all` and `pedantic` when this test is built by `cargo clippy --all-targets`.
#![deny(
    unused_qualifications,
    unused_results,
    unused_extern_crates,
    unreachable_pub,
    trivial_casts,
    trivial_numeric_casts,
    clippy::all,
    clippy::pedantic
)]

mod strict {
    // Names the expansion might spell out in full are imported here, so that a qualified
    // path in the expansion would be an unused qualification.
    #[allow(unused_imports)]
    use kvdb::__private::*;
    #[allow(unused_imports)]
    use std::time::Duration;

    use kvdb::KvModel;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, KvModel)]
    #[kv(prefix = "users", ttl = "1h", version = 2, migrate_from(1, upgrade))]
    pub(crate) struct User {
        #[kv(key)]
        pub(crate) id: u64,
        pub(crate) name: String,
    }

    #[derive(Serialize, Deserialize, KvModel)]
    #[kv(key = "org:{org}:member:{id}", hash_tag = "{org}")]
    pub(crate) struct Member {
        pub(crate) org: String,
        pub(crate) id: u64,
    }

    #[derive(Deserialize)]
    pub(crate) struct UserV1 {
        id: u64,
        name: String,
    }

    #[allow(clippy::unnecessary_wraps)]
    fn upgrade(old: UserV1) -> Result<User, kvdb::Error> {
        Ok(User {
            id: old.id,
            name: old.name,
        })
    }

    #[kvdb::cached(session = "app", ttl = "10m", key = "user:{id}")]
    pub(crate) fn cached_name(id: u64) -> String {
        format!("user {id}")
    }
}

#[test]
fn generated_code_passes_strict_lints() {
    use kvdb::KvModel;
    assert_eq!(strict::User::TAG, "User");
    assert_eq!(strict::Member::KEY_SCHEMA.pattern(), "org:{*}:member:*");
    let _ = strict::cached_name;
}

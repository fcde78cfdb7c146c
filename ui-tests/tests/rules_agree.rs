//! The derive checks tags and TTLs at compile time with its own copy of the runtime's rules
//! (`kvdb-derive/src/rules.rs`: a proc-macro crate cannot share code with the crate that
//! re-exports it). This test includes that copy and checks that both accept and refuse
//! exactly the same strings, with the same messages.
#![allow(clippy::unwrap_used)]

#[allow(dead_code, unreachable_pub)]
#[path = "../../kvdb-derive/src/rules.rs"]
mod derive_rules;

use proptest::prelude::*;

fn same_tag_verdict(tag: &str) {
    assert_eq!(
        derive_rules::validate_tag(tag),
        kvdb::format::validate_tag(tag),
        "{tag:?}"
    );
}

fn same_ttl_verdict(ttl: &str) {
    assert_eq!(
        derive_rules::ttl_seconds(ttl),
        kvdb::model::ttl_seconds(ttl),
        "{ttl:?}"
    );
}

#[test]
fn tags_agree_on_edge_cases() {
    assert_eq!(derive_rules::MAX_TAG_LEN, kvdb::format::MAX_TAG_LEN);
    let long = "a".repeat(128);
    let too_long = "a".repeat(129);
    for tag in [
        "",
        "a",
        "_",
        "users.User",
        "a:b/c-d_e.f",
        "9lives",
        "-x",
        ".x",
        "a b",
        "é",
        "a*",
        "a{b}",
        "a|b",
        "a@2",
        &long,
        &too_long,
    ] {
        same_tag_verdict(tag);
    }
}

#[test]
fn ttls_agree_on_edge_cases() {
    for ttl in [
        "",
        "1s",
        "1h30m",
        "1d2h3m4s",
        "0s",
        "30m1h",
        "1m1m",
        "10",
        "h",
        "1x",
        "1h 30m",
        "-1s",
        "99999999999999999999s",
        "213503982334601d",
        "213503982334602d",
    ] {
        same_ttl_verdict(ttl);
    }
}

proptest! {
    #[test]
    fn tags_agree(tag in "[a-zA-Z0-9_.:/ @|é*-]{0,140}") {
        same_tag_verdict(&tag);
    }

    #[test]
    fn ttls_agree(ttl in "[0-9dhmsx ]{0,12}") {
        same_ttl_verdict(&ttl);
    }
}

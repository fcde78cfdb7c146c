//! Property tests of URL parsing: arbitrary input never panics, and a password never shows in
//! what parsing gives back (the redacted URL, `Debug` of the options, or the error).
//!
//! The same properties are fuzzed by `fuzz/fuzz_targets/url.rs`; the regressions it found are
//! the named cases at the end.
#![allow(clippy::unwrap_used)]

use kvdb::fuzzing::resolve_url;
use proptest::prelude::*;

/// Stands for the password: no other part of a test URL contains it.
const MARK: &str = "Pw7qX";

fn shows_mark(url: &str) -> Option<String> {
    let shown = resolve_url(url);
    [&shown.display, &shown.debug]
        .into_iter()
        .find(|t| t.contains(MARK))
        .cloned()
}

/// URL-ish text: the characters URLs are made of, weighted towards the separators.
fn urlish() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => "[a-z0-9]{1,4}",
            2 => prop::sample::select(vec![
                ":", "/", "@", "?", "#", "[", "]", "%", "=", "&", "%4", "%zz", "%40", "::1",
                "db=", "protocol=", "65536", "0", "-1", ".sock",
            ])
            .prop_map(str::to_owned),
            1 => any::<char>().prop_map(String::from),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn scheme() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "redis",
        "rediss",
        "REDIS",
        "redis+unix",
        "unix",
        "valkey",
        "keydbs",
        "redis+cluster",
        "redis+sentinel",
        "rediss+cluster",
        "http",
        "",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = resolve_url(&s);
    }

    #[test]
    fn arbitrary_urls_never_panic(scheme in scheme(), rest in urlish()) {
        let _ = resolve_url(&format!("{scheme}://{rest}"));
    }

    #[test]
    fn the_password_never_shows(
        scheme in scheme(),
        user in "[a-z]{0,3}",
        before in urlish(),
        after in urlish(),
        tail in urlish(),
    ) {
        prop_assume!(!tail.contains(MARK) && !user.contains(MARK));
        let url = format!("{scheme}://{user}:{before}{MARK}{after}@{tail}");
        let shown = shows_mark(&url);
        prop_assert!(shown.is_none(), "{url:?} shows the password: {shown:?}");
    }

    #[test]
    fn explicit_passwords_never_show(pw in any::<String>(), url in urlish()) {
        let pw = format!("{pw}{MARK}");
        prop_assume!(!url.contains(MARK));
        let opts = kvdb::SessionOptions::new("p").url(format!("redis://{url}")).password(pw);
        let debug = format!("{opts:?}");
        prop_assert!(!debug.contains(MARK), "{}", debug);
        if let Err(e) = kvdb::KVDBClient::get_session(opts.clone()) {
            let shown = format!("{e} {e:?}");
            prop_assert!(!shown.contains(MARK), "{}", shown);
        }
        kvdb::KVDBClient::close("p");
    }
}

/// Passwords with URL separators in them, unescaped: each was shown (whole or in part) by an
/// error message or by `Debug` before parsing took credentials up to the last `@`.
#[test]
fn passwords_with_separators_are_taken_whole_and_never_shown() {
    for pw in [
        "a/b",
        "a?b",
        "a#b",
        "a@b",
        "a:b",
        "/",
        "?db=1",
        "#",
        "a/b?c#d@e",
    ] {
        let pw = format!("{pw}{MARK}");
        for url in [
            format!("redis://user:{pw}@localhost:6379/0"),
            format!("redis://user:{pw}@localhost:99999/0"),
            format!("redis://user:{pw}@localhost/x"),
            format!("redis://user:{pw}@localhost?nope=1"),
            format!("redis+unix://user:{pw}@/run/redis.sock?db=1"),
            format!("redis+cluster://user:{pw}@h1:7000,h2:7001"),
            format!("redis+sentinel://user:{pw}@s1:26379,s2:26379/mymaster/0"),
            format!("redis+sentinel://user:{pw}@s1:bad/mymaster"),
            format!("ftp://user:{pw}@localhost"),
        ] {
            assert_eq!(shows_mark(&url), None, "{url}");
        }
        let ok = resolve_url(&format!("redis://user:{pw}@localhost:6379/0"));
        assert!(ok.ok, "{pw}: {}", ok.display);
        assert_eq!(ok.display, "redis://user:***@localhost:6379/0");
    }
}

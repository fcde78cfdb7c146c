//! A password never shows: not in `Debug` or `Display` of options, sessions, or any error,
//! whether it came in a URL or as an option, and whether the server is unreachable, refuses
//! it, or the URL is malformed.

use std::time::Duration;

use kvdb::testing::{TestServer, free_port};
use kvdb::{Error, KVDBClient, Serializer, SessionOptions};
use kvdb_tests::unique;

/// The password, distinctive enough that finding it anywhere is a leak.
const PW: &str = "Sekr1t-7f3a-not-for-logs";

/// Fails the test if `text` contains the password, or a part of it that a parser might have
/// cut at a separator.
fn assert_hidden(what: &str, text: &str) {
    for part in [PW, "Sekr1t", "not-for-logs"] {
        assert!(!text.contains(part), "{what} shows {part:?}: {text}");
    }
}

fn assert_error_hidden(what: &str, e: &Error) {
    assert_hidden(what, &e.to_string());
    assert_hidden(what, &format!("{e:?}"));
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        assert_hidden(what, &s.to_string());
        source = s.source();
    }
}

use kvdb_tests::rt;

#[test]
fn options_and_sessions_never_show_the_password() {
    let with_url = SessionOptions::new(unique("secret-url"))
        .url(format!("redis://admin:{PW}@127.0.0.1:6390/0"))
        .serializer(Serializer::Json);
    let with_option = SessionOptions::new(unique("secret-opt"))
        .url("redis://127.0.0.1:6390/0")
        .username("admin")
        .password(PW);
    for opts in [with_url, with_option] {
        assert_hidden("SessionOptions Debug", &format!("{opts:?}"));
        assert_hidden("SessionOptions Debug (pretty)", &format!("{opts:#?}"));
        let s = KVDBClient::get_session(opts.clone()).unwrap();
        assert_hidden("Session Debug", &format!("{s:?} {s:#?}"));
        assert_hidden("Session::url", &s.url());
        assert_hidden("Session::options", &format!("{:?}", s.options()));
        assert_hidden(
            "AsyncSession Debug",
            &format!("{:?} {:#?}", s.aio(), s.aio()),
        );
        assert!(s.url().contains("admin:***@"), "{}", s.url());
        // The same name with another password: a conflict that names the password without
        // showing either.
        let e = KVDBClient::get_session(opts.password("another-Sekr1t-pw")).unwrap_err();
        assert!(matches!(e, Error::SessionConflict { .. }), "{e:?}");
        assert!(e.to_string().contains("password"), "{e}");
        assert_error_hidden("SessionConflict", &e);
        KVDBClient::close(s.name());
    }
}

#[test]
fn malformed_urls_with_a_password_never_show_it() {
    let urls = [
        format!("redis://admin:{PW}@localhost:notaport/0"),
        format!("redis://admin:{PW}@localhost:99999/0"),
        format!("redis://admin:{PW}@localhost:0/0"),
        format!("redis://admin:{PW}@localhost/notadb"),
        format!("redis://admin:{PW}@localhost/1?db=2"),
        format!("redis://admin:{PW}@localhost/0?foo=bar"),
        format!("redis://admin:{PW}@localhost/0?protocol=resp9"),
        format!("redis://admin:{PW}@[::1/0"),
        format!("redis://admin:{PW}@/0"),
        format!("redis://admin:{PW}%zz@localhost/0"),
        format!("http://admin:{PW}@localhost/0"),
        format!("redis+unix://admin:{PW}@"),
        format!("admin:{PW}@localhost:6379"),
        PW.to_owned(),
        // Separators inside the password, unescaped.
        "redis://admin:Sekr1t/7f3a-not-for-logs@localhost:6379/0".to_owned(),
        "redis://admin:Sekr1t?7f3a-not-for-logs@localhost:6379/x".to_owned(),
        "redis://admin:Sekr1t#7f3a-not-for-logs@localhost:bad/0".to_owned(),
        "redis://admin:Sekr1t@7f3a-not-for-logs@localhost:bad/0".to_owned(),
    ];
    for url in &urls {
        let opts = SessionOptions::new(unique("secret-bad")).url(url.as_str());
        assert_hidden("SessionOptions Debug", &format!("{opts:?}"));
        match KVDBClient::get_session(opts) {
            Err(e) => assert_error_hidden(url, &e),
            Ok(s) => {
                assert_hidden("Session Debug", &format!("{s:?}"));
                KVDBClient::close(s.name());
            }
        }
    }
}

#[test]
fn connection_errors_never_show_the_password() {
    // Unreachable: a connection error, raised without waiting for the pool.
    let port = free_port().unwrap();
    let s = KVDBClient::get_session(
        SessionOptions::new(unique("secret-unreachable"))
            .url(format!("redis://admin:{PW}@127.0.0.1:{port}/0"))
            .connect_timeout(Duration::from_millis(200))
            .pool_timeout(Duration::from_millis(400)),
    )
    .unwrap();
    let e = s.get::<String>("k").unwrap_err();
    assert!(matches!(e, Error::Connect { .. }), "{e:?}");
    assert_error_hidden("connect error", &e);
    let e = rt().block_on(async { s.aio().get::<String>("k").await.unwrap_err() });
    assert_error_hidden("async connection error", &e);

    // Refused: an auth error, from a server that wants another password.
    let server = TestServer::start_with_args(&["--requirepass", "the-right-one"]).unwrap();
    for url in [
        format!("redis://:{PW}@127.0.0.1:{}/0", server.port()),
        format!("redis://default:{PW}@127.0.0.1:{}/0", server.port()),
    ] {
        let s = KVDBClient::get_session(
            SessionOptions::new(unique("secret-refused"))
                .url(url)
                .pool_timeout(Duration::from_secs(30)),
        )
        .unwrap();
        let e = s.set("k", &1).unwrap_err();
        assert!(e.is_auth_error(), "{e:?}");
        assert_error_hidden("auth error", &e);
        let e = rt().block_on(async { s.aio().set("k", &1).await.unwrap_err() });
        assert!(e.is_auth_error(), "{e:?}");
        assert_error_hidden("async auth error", &e);
    }
    // No password at all for a server that needs one.
    let s = KVDBClient::get_session(SessionOptions::new(unique("secret-none")).url(server.url()))
        .unwrap();
    let e = s.get::<i64>("k").unwrap_err();
    println!("no password: {e}");
    assert!(e.is_auth_error(), "{e:?}");
}

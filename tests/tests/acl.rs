//! Redis 6 ACL users: sessions authenticate with a username and password (in the URL or as
//! options), a wrong password is an auth error that is raised at once and never shows the
//! password, and a command or key the user may not touch is a permission error (`NOPERM`).

use std::time::{Duration, Instant};

use kvdb::testing::TestServer;
use kvdb::{Error, KVDBClient, Serializer, Session, SessionOptions};
use kvdb_tests::unique;

const RO_PASS: &str = "ro-Pass-4c1e";
const FULL_PASS: &str = "full-Pass-9b7d";
/// A wrong password, distinctive enough to be searched for in messages.
const WRONG: &str = "Wrong-Pw-e5a0";

/// A server with two users: `ro` may only GET, PING and EXISTS keys under `ro:`; `full` may
/// do anything.
fn acl_server() -> (TestServer, redis::Connection) {
    let server = TestServer::start().unwrap();
    let mut admin = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    redis::cmd("ACL")
        .arg(&["SETUSER", "ro", "on", &format!(">{RO_PASS}"), "~ro:*"])
        .arg(&["+get", "+ping", "+exists"])
        .exec(&mut admin)
        .unwrap();
    redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "full",
            "on",
            &format!(">{FULL_PASS}"),
            "~*",
            "&*",
            "+@all",
        ])
        .exec(&mut admin)
        .unwrap();
    redis::cmd("SET")
        .arg("ro:k")
        .arg("42")
        .exec(&mut admin)
        .unwrap();
    (server, admin)
}

fn session(opts: SessionOptions) -> Session {
    KVDBClient::get_session(
        opts.serializer(Serializer::Json)
            .connect_timeout(Duration::from_secs(2))
            // Long, so that failing at once is visibly not the pool timing out.
            .pool_timeout(Duration::from_secs(30)),
    )
    .unwrap()
}

use kvdb_tests::rt;

#[test]
fn users_authenticate_by_url_and_by_options() {
    let (server, _admin) = acl_server();
    let port = server.port();
    let by_url = session(
        SessionOptions::new(unique("acl-url"))
            .url(format!("redis://full:{FULL_PASS}@127.0.0.1:{port}/0")),
    );
    let by_options = session(
        SessionOptions::new(unique("acl-opts"))
            .url(server.url())
            .username("full")
            .password(FULL_PASS),
    );
    for s in [&by_url, &by_options] {
        s.set("k", &vec![1, 2]).unwrap();
        assert_eq!(s.get::<Vec<i32>>("k").unwrap(), Some(vec![1, 2]));
        let me: String = s.query(redis::cmd("ACL").arg("WHOAMI")).unwrap();
        assert_eq!(me, "full");
        assert!(!format!("{s:?}").contains(FULL_PASS));
        assert!(!s.url().contains(FULL_PASS));
    }
    rt().block_on(async {
        for s in [&by_url, &by_options] {
            assert_eq!(
                s.aio().get::<Vec<i32>>("k").await.unwrap(),
                Some(vec![1, 2])
            );
        }
    });
    let ro = session(
        SessionOptions::new(unique("acl-ro"))
            .url(format!("redis://ro:{RO_PASS}@127.0.0.1:{port}/0")),
    );
    assert_eq!(ro.get::<i64>("ro:k").unwrap(), Some(42));
    assert!(ro.contains_key("ro:k").unwrap());
}

fn assert_auth_error(e: &Error, what: &str) {
    assert!(e.is_auth_error(), "{what}: not an auth error: {e:?}");
    assert!(!e.is_permission_error(), "{what}: {e:?}");
    for shown in [e.to_string(), format!("{e:?}")] {
        assert!(
            !shown.contains(WRONG),
            "{what}: shows the password: {shown}"
        );
        assert!(!shown.contains(FULL_PASS), "{what}: {shown}");
    }
}

#[test]
fn a_wrong_password_is_an_auth_error_at_once_that_never_shows_the_password() {
    let (server, _admin) = acl_server();
    let port = server.port();
    let cases = [
        (
            "url",
            SessionOptions::new(unique("acl-wrong-url"))
                .url(format!("redis://full:{WRONG}@127.0.0.1:{port}/0")),
        ),
        (
            "options",
            SessionOptions::new(unique("acl-wrong-opts"))
                .url(server.url())
                .username("full")
                .password(WRONG),
        ),
        (
            "no such user",
            SessionOptions::new(unique("acl-nobody"))
                .url(server.url())
                .username("nobody")
                .password(WRONG),
        ),
    ];
    for (what, opts) in cases {
        let s = session(opts);
        for attempt in 0..3 {
            let started = Instant::now();
            let e = s.get::<i64>("ro:k").unwrap_err();
            let took = started.elapsed();
            println!("wrong password ({what}, attempt {attempt}): {took:?}: {e}");
            assert_auth_error(&e, what);
            assert!(matches!(e, Error::Connect { .. }), "{what}: {e:?}");
            // Not a speed target: the pool timeout is 30 s; a refusal must not wait for it.
            assert!(took < Duration::from_secs(10), "{what}: waited {took:?}");
        }
        let started = Instant::now();
        let e = rt().block_on(async { s.aio().get::<i64>("ro:k").await.unwrap_err() });
        println!(
            "wrong password ({what}, async): {:?}: {e}",
            started.elapsed()
        );
        assert_auth_error(&e, what);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

#[test]
fn forbidden_commands_and_keys_are_permission_errors() {
    let (server, _admin) = acl_server();
    let ro = session(SessionOptions::new(unique("acl-noperm")).url(format!(
        "redis://ro:{RO_PASS}@127.0.0.1:{}/0",
        server.port()
    )));
    assert_eq!(ro.get::<i64>("ro:k").unwrap(), Some(42));
    let check = |e: Error, what: &str| {
        println!("{what}: {e}");
        assert!(e.is_permission_error(), "{what}: {e:?}");
        assert!(
            !e.is_auth_error() && !e.is_connection_error(),
            "{what}: {e:?}"
        );
        assert!(e.to_string().contains("no permissions"), "{what}: {e}");
        assert!(!e.to_string().contains(RO_PASS));
    };
    let started = Instant::now();
    check(ro.set("ro:k", &1).unwrap_err(), "a forbidden command");
    check(ro.get::<i64>("other:k").unwrap_err(), "a forbidden key");
    check(ro.incr("ro:k").unwrap_err(), "another forbidden command");
    rt().block_on(async {
        check(
            ro.aio().set("ro:k", &1).await.unwrap_err(),
            "async forbidden command",
        );
        check(
            ro.aio().get::<i64>("other:k").await.unwrap_err(),
            "async forbidden key",
        );
    });
    // No retry loop: five refusals, each one round trip.
    assert!(started.elapsed() < Duration::from_secs(10));
    // The connections are fine afterwards.
    assert_eq!(ro.get::<i64>("ro:k").unwrap(), Some(42));
}

/// A subscriber allowed only `news:*` channels: a forbidden channel is a permission error,
/// at subscription time and on the live subscription, which is left as it was.
#[test]
fn a_forbidden_channel_is_a_permission_error_and_the_subscription_goes_on() {
    let (server, mut admin) = acl_server();
    redis::cmd("ACL")
        .arg(&[
            "SETUSER",
            "news",
            "on",
            ">news-Pass-1",
            "~*",
            "resetchannels",
        ])
        .arg(&["&news:*", "+@all"])
        .exec(&mut admin)
        .unwrap();
    let s = session(
        SessionOptions::new(unique("acl-news"))
            .url(server.url())
            .username("news")
            .password("news-Pass-1"),
    );
    let forbidden = |e: Error, what: &str| assert!(e.is_permission_error(), "{what}: {e:?}");

    forbidden(
        s.subscribe::<u32>(&["secret"]).unwrap_err(),
        "sync subscribe",
    );
    forbidden(s.psubscribe::<u32>(&["*"]).unwrap_err(), "sync psubscribe");
    let mut sub = s.subscribe::<u32>(&["news:a"]).unwrap();
    forbidden(
        sub.subscribe(&["secret"]).unwrap_err(),
        "sync live subscribe",
    );
    assert_eq!(sub.channels(), ["news:a"]);
    assert_eq!(s.publish("news:a", &1u32).unwrap(), 1);
    match sub.next_timeout(Duration::from_secs(5)) {
        Some(kvdb::Event::Message(m)) => assert_eq!(m.payload.unwrap(), 1),
        other => panic!("expected the message, got {other:?}"),
    }

    rt().block_on(async {
        let s = s.aio();
        forbidden(
            s.subscribe::<u32>(&["secret"]).await.unwrap_err(),
            "async subscribe",
        );
        let mut sub = s.subscribe::<u32>(&["news:b"]).await.unwrap();
        forbidden(
            sub.psubscribe(&["*"]).await.unwrap_err(),
            "async live psubscribe",
        );
        assert!(sub.patterns().is_empty());
        assert_eq!(s.publish("news:b", &2u32).await.unwrap(), 1);
        match sub.next_timeout(Duration::from_secs(5)).await {
            Some(kvdb::Event::Message(m)) => assert_eq!(m.payload.unwrap(), 2),
            other => panic!("expected the message, got {other:?}"),
        }
    });
}

//! The session registry: naming, conflicts, pool sharing proven on the server, thread safety.

use std::time::Duration;

use kvdb::testing::TestServer;
use kvdb::{Compression, Error, KVDBClient, Serializer, SessionOptions};
use kvdb_tests::{options, unique};

/// The number of client connections the server has, minus the one asking.
fn connections(server: &TestServer) -> usize {
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_connection().unwrap();
    let list: String = redis::cmd("CLIENT").arg("LIST").query(&mut conn).unwrap();
    list.lines().filter(|l| !l.is_empty()).count() - 1
}

#[test]
fn sessions_with_equal_connection_settings_share_one_pool_on_the_server() {
    // A private server, so that no other test's connections are counted.
    let server = TestServer::start().unwrap();
    let base = |name: &str| SessionOptions::new(unique(name)).url(server.url());
    let a = KVDBClient::get_session(base("share-a")).unwrap();
    let b = KVDBClient::get_session(
        base("share-b")
            .serializer(Serializer::Json)
            .compression(Compression::Zstd),
    )
    .unwrap();
    assert_eq!(connections(&server), 0, "get_session does no I/O");
    for i in 0..20 {
        a.set("k", &i).unwrap();
        assert_eq!(b.get::<i32>("k").unwrap(), Some(i));
    }
    assert!(a.shares_pool_with(&b));
    assert_eq!(
        connections(&server),
        1,
        "two sessions, one pooled connection"
    );

    // Another database is another pool: a second connection.
    let c = KVDBClient::get_session(base("share-c").db_id(1)).unwrap();
    assert!(!a.shares_pool_with(&c));
    c.set("k", &1).unwrap();
    assert_eq!(connections(&server), 2);

    // The async twin: one multiplexed connection per pool (and runtime), shared by both.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for i in 0..20 {
            a.aio().set("k", &i).await.unwrap();
            assert_eq!(b.aio().get::<i32>("k").await.unwrap(), Some(i));
        }
    });
    assert_eq!(connections(&server), 3, "plus one multiplexed connection");
    for name in [a.name(), b.name(), c.name()] {
        KVDBClient::close(name);
    }
}

#[test]
fn same_name_same_options_is_the_same_session() {
    let o = options("same");
    let a = KVDBClient::get_session(o.clone()).unwrap();
    let b = KVDBClient::get_session(o.clone()).unwrap();
    assert!(a.shares_pool_with(&b));
    assert!(KVDBClient::sessions().contains(&a.name().to_string()));
    assert!(KVDBClient::session(a.name()).is_some());
    assert!(KVDBClient::close(a.name()));
    assert!(KVDBClient::session(a.name()).is_none());
    assert!(!KVDBClient::close(a.name()));
}

#[test]
fn same_name_different_options_is_an_error_naming_the_differences() {
    let o = options("conflict").serializer(Serializer::Json);
    KVDBClient::get_session(o.clone()).unwrap();
    let err =
        KVDBClient::get_session(o.clone().serializer(Serializer::Cbor).pool_size(3)).unwrap_err();
    match &err {
        Error::SessionConflict { differences, .. } => {
            assert!(
                differences.contains("serializer (json vs cbor)"),
                "{differences}"
            );
            assert!(differences.contains("pool_size (16 vs 3)"), "{differences}");
            assert!(!differences.contains("url"), "{differences}");
        }
        other => panic!("{other:?}"),
    }
    let err = KVDBClient::get_session(o.clone().password("hunter2")).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("password") && !msg.contains("hunter2"),
        "{msg}"
    );
    // replace_session swaps it explicitly.
    let replaced = KVDBClient::replace_session(o.clone().serializer(Serializer::Cbor)).unwrap();
    assert_eq!(replaced.encoder().serializer, Serializer::Cbor);
    assert_eq!(
        KVDBClient::session(o.name()).unwrap().encoder().serializer,
        Serializer::Cbor
    );
    KVDBClient::close(o.name());
}

/// Every setting counts, including those the conflict message used to forget (the format,
/// the retry policy): a session with one of them changed is not handed out as equal.
#[test]
fn every_setting_is_compared_and_named() {
    let o = options("conflict-all");
    KVDBClient::get_session(o.clone()).unwrap();
    for (changed, name) in [
        (o.clone().format(kvdb::Format::KvdbPy), "format"),
        (o.clone().retry(kvdb::Retry::never()), "retry"),
    ] {
        match KVDBClient::get_session(changed) {
            Err(Error::SessionConflict { differences, .. }) => {
                assert!(
                    differences.starts_with(&format!("{name} (")),
                    "{differences}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    KVDBClient::close(o.name());
}

#[test]
fn invalid_options_fail_at_get_session_without_connecting() {
    let err =
        KVDBClient::get_session(SessionOptions::new(unique("bad")).url("redis://127.0.0.1:0"))
            .unwrap_err();
    assert!(
        matches!(err, Error::InvalidOption { option: "url", .. }),
        "{err}"
    );
    // Lazy: an unreachable server is only noticed on first use, with the address named.
    let s = KVDBClient::get_session(
        SessionOptions::new(unique("unreachable"))
            .url("redis://:secret@127.0.0.1:1/0")
            .connect_timeout(Duration::from_millis(200))
            .pool_timeout(Duration::from_millis(500)),
    )
    .unwrap();
    let err = s.get::<String>("k").unwrap_err();
    let msg = err.to_string();
    assert!(err.is_connection_error(), "{msg}");
    assert!(
        msg.contains("127.0.0.1:1") && !msg.contains("secret"),
        "{msg}"
    );
}

#[test]
fn the_registry_survives_many_threads() {
    let names: Vec<String> = (0..4).map(|_| unique("hammer")).collect();
    let url = kvdb_tests::server().url().to_string();
    std::thread::scope(|scope| {
        for t in 0..16 {
            let names = &names;
            let url = &url;
            scope.spawn(move || {
                for i in 0..200 {
                    let name = &names[(t + i) % names.len()];
                    let s = KVDBClient::get_session(
                        SessionOptions::new(name)
                            .url(url)
                            .serializer(Serializer::Json),
                    )
                    .unwrap();
                    assert_eq!(s.name(), name);
                    if i % 50 == 0 {
                        let key = format!("{name}:{t}:{i}");
                        s.set(&key, &(t, i)).unwrap();
                        assert_eq!(s.get::<(usize, usize)>(&key).unwrap(), Some((t, i)));
                    }
                    // A conflicting request never corrupts the registry.
                    if i % 17 == 0 {
                        let e = KVDBClient::get_session(
                            SessionOptions::new(name)
                                .url(url)
                                .serializer(Serializer::Cbor),
                        );
                        assert!(matches!(e, Err(Error::SessionConflict { .. })));
                    }
                }
            });
        }
    });
    let first = KVDBClient::session(&names[0]).unwrap();
    for n in &names {
        let s = KVDBClient::session(n).unwrap();
        assert!(
            s.shares_pool_with(&first),
            "every session on the same server shares one pool"
        );
        KVDBClient::close(n);
    }
}

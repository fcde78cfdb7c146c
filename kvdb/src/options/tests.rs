//! Table-driven tests of URL parsing, overrides, environment precedence and what a session
//! keeps; `tests/refused.rs` has what is refused.

use std::collections::HashMap;
use std::time::Duration;

use super::*;
use crate::settings::parse_url;

fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

fn resolve(o: SessionOptions, vars: &[(&str, &str)]) -> Result<Resolved> {
    o.resolve_with_env(&env(vars))
}

fn url_of(o: SessionOptions, vars: &[(&str, &str)]) -> String {
    resolve(o, vars).expect("valid options").conn.to_string()
}

#[test]
fn urls_parse() {
    let cases: &[(&str, &str)] = &[
        ("redis://localhost", "redis://localhost:6379/0"),
        ("redis://localhost:6380", "redis://localhost:6380/0"),
        ("redis://localhost:6380/", "redis://localhost:6380/0"),
        ("redis://localhost/3", "redis://localhost:6379/3"),
        ("redis://localhost/3/", "redis://localhost:6379/3"),
        ("redis://localhost?db=4", "redis://localhost:6379/4"),
        ("redis://localhost/?db=4", "redis://localhost:6379/4"),
        ("redis://localhost/4?db=4", "redis://localhost:6379/4"),
        ("redis://user:pw@h:1/2", "redis://user:***@h:1/2"),
        ("redis://:pw@h", "redis://:***@h:6379/0"),
        ("redis://user@h", "redis://user@h:6379/0"),
        ("redis://[::1]:7000/1", "redis://[::1]:7000/1"),
        ("REDIS://h", "redis://h:6379/0"),
        ("keydb://h", "redis://h:6379/0"),
        ("dragonfly://h:6000", "redis://h:6000/0"),
        ("valkey://h", "redis://h:6379/0"),
        (
            "redis+unix:///run/redis.sock",
            "redis+unix:///run/redis.sock?db=0",
        ),
        (
            "unix:///run/redis.sock?db=2",
            "redis+unix:///run/redis.sock?db=2",
        ),
        ("redis://h?protocol=resp3", "redis://h:6379/0"),
    ];
    for (url, shown) in cases {
        assert_eq!(
            url_of(SessionOptions::new("t").url(*url), &[]),
            *shown,
            "{url}"
        );
    }
}

#[test]
fn credentials_are_percent_decoded() {
    let p = parse_url("redis://us%40er:p%3Aw%2Fd@h").unwrap();
    assert_eq!(p.username.as_deref(), Some("us@er"));
    assert_eq!(p.password.map(|s| s.0).as_deref(), Some("p:w/d"));
    let p = parse_url("redis://u:p@ss@h").unwrap();
    assert_eq!(
        p.password.map(|s| s.0).as_deref(),
        Some("p@ss"),
        "the last @ ends the userinfo"
    );
}

#[test]
fn protocol_comes_from_the_url_or_the_option() {
    let r = resolve(
        SessionOptions::new("t").url("redis://h?protocol=resp3"),
        &[],
    )
    .unwrap();
    assert_eq!(r.conn.protocol, Protocol::Resp3);
    let r = resolve(
        SessionOptions::new("t")
            .url("redis://h?protocol=resp3")
            .protocol(Protocol::Resp2),
        &[],
    )
    .unwrap();
    assert_eq!(r.conn.protocol, Protocol::Resp2);
}

#[test]
fn explicit_parts_override_the_url() {
    let o = SessionOptions::new("t")
        .url("redis://u:p@h:1/2")
        .host("other")
        .port(7000)
        .db_id(5)
        .username("admin")
        .password("secret");
    let r = resolve(o, &[]).unwrap();
    assert_eq!(r.conn.to_string(), "redis://admin:***@other:7000/5");
    assert_eq!(
        r.conn.password.as_ref().map(|p| p.0.as_str()),
        Some("secret")
    );
}

#[test]
fn environment_precedence() {
    let all = [
        ("KVDB_URL", "redis://kvdb-url:1/1"),
        ("REDIS_URL", "redis://redis-url:2/2"),
        ("REDIS_HOST", "env-host"),
        ("REDIS_PORT", "3"),
        ("REDIS_DB", "3"),
    ];
    let o = || SessionOptions::new("t");
    assert_eq!(
        url_of(o().url("redis://explicit:9/9"), &all),
        "redis://explicit:9/9"
    );
    assert_eq!(url_of(o(), &all), "redis://kvdb-url:1/1");
    assert_eq!(url_of(o(), &all[1..]), "redis://redis-url:2/2");
    assert_eq!(url_of(o(), &all[2..]), "redis://env-host:3/3");
    assert_eq!(
        url_of(o(), &[("REDIS_USERNAME", "u"), ("REDIS_PASSWORD", "pw")]),
        "redis://u:***@localhost:6379/0"
    );
    assert_eq!(url_of(o(), &[]), "redis://localhost:6379/0");
    // Explicit parts beat everything.
    assert_eq!(url_of(o().port(10), &all), "redis://kvdb-url:10/1");
    // Bad environment values name the variable.
    match resolve(o(), &[("REDIS_PORT", "abc")]) {
        Err(Error::InvalidOption { option, .. }) => assert_eq!(option, "REDIS_PORT"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn compression_enabled_picks_or_disables() {
    let r = resolve(SessionOptions::new("t").compression_enabled(true), &[]).unwrap();
    assert_eq!(
        r.encoder.compression.algorithm,
        Compression::best_available().unwrap()
    );
    assert_eq!(r.encoder.compression.level, 3);
    let r = resolve(
        SessionOptions::new("t")
            .compression(Compression::Lz4)
            .compression_enabled(false),
        &[],
    )
    .unwrap();
    assert_eq!(r.encoder.compression.algorithm, Compression::None);
    let r = resolve(
        SessionOptions::new("t")
            .compression(Compression::Gzip)
            .compression_level(9)
            .compression_min_size(10),
        &[],
    )
    .unwrap();
    assert_eq!(
        (
            r.encoder.compression.algorithm,
            r.encoder.compression.level,
            r.encoder.compression.min_size
        ),
        (Compression::Gzip, 9, 10)
    );
}

#[test]
fn passwords_never_show() {
    let o = SessionOptions::new("t")
        .url("redis://user:hunter2@h/0")
        .password("hunter3");
    let dbg = format!("{o:?}");
    assert!(
        !dbg.contains("hunter2") && !dbg.contains("hunter3"),
        "{dbg}"
    );
    let r = resolve(o, &[]).unwrap();
    for shown in [
        format!("{:?}", r.conn),
        r.conn.to_string(),
        format!("{r:?}"),
    ] {
        assert!(!shown.contains("hunter"), "{shown}");
    }
    let err = resolve(SessionOptions::new("t").url("http://u:hunter2@h"), &[]).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
    let err = resolve(SessionOptions::new("t").url("hunter2"), &[]).unwrap_err();
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn timeouts_and_pool_settings_are_kept() {
    let r = resolve(
        SessionOptions::new("t")
            .connect_timeout(Duration::from_millis(250))
            .response_timeout(None)
            .pool_size(3)
            .pool_timeout(Duration::from_secs(1))
            .client_name("app"),
        &[],
    )
    .unwrap();
    assert_eq!(r.conn.connect_timeout, Duration::from_millis(250));
    assert_eq!(r.conn.response_timeout, None);
    assert_eq!(
        (r.conn.pool_size, r.conn.pool_timeout),
        (3, Duration::from_secs(1))
    );
    assert_eq!(r.conn.client_name.as_deref(), Some("app"));
}

#[test]
#[cfg(all(feature = "cluster", feature = "sentinel"))]
fn tls_and_sentinel_credentials_for_multi_node_sessions() {
    let cluster = SessionOptions::new("t")
        .cluster_nodes(["h1:7000", "h2:7000"])
        .tls(true);
    let sentinel = SessionOptions::new("t")
        .sentinel("m", ["s1"])
        .tls(true)
        .sentinel_username("watcher")
        .sentinel_password("hidden-pw");
    if cfg!(feature = "tls") {
        assert_eq!(url_of(cluster, &[]), "rediss+cluster://h1:7000,h2:7000/0");
        // A rediss:// URL's TLS carries over to the option forms.
        let from_url = SessionOptions::new("t")
            .url("rediss://h")
            .cluster_nodes(["h1:7000"]);
        assert_eq!(url_of(from_url, &[]), "rediss+cluster://h1:7000/0");
        assert_eq!(
            url_of(sentinel.clone(), &[]),
            "rediss+sentinel://s1:26379/m/0?sentinel_username=watcher&sentinel_password=***"
        );
        let shown = format!("{sentinel:?} {:?}", resolve(sentinel.clone(), &[]).unwrap());
        assert!(!shown.contains("hidden-pw"), "{shown}");
    } else {
        assert!(matches!(
            resolve(cluster, &[]),
            Err(Error::InvalidOption { option: "url", .. })
        ));
    }
    // TLS can be turned off, and is refused for a unix socket.
    let off = SessionOptions::new("t")
        .url("rediss+sentinel://s1/m")
        .tls(false);
    assert_eq!(url_of(off, &[]), "redis+sentinel://s1:26379/m/0");
    let unix = SessionOptions::new("t")
        .url("redis+unix:///tmp/r.sock")
        .tls(true);
    assert!(matches!(
        resolve(unix, &[]),
        Err(Error::InvalidOption { option: "tls", .. })
    ));
    // Sentinel credentials only for sentinel sessions, and the password never in the error.
    let e = resolve(
        SessionOptions::new("t")
            .url("redis://h")
            .sentinel_password("hidden-pw"),
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidOption {
                option: "sentinel_password",
                ..
            }
        ),
        "{e:?}"
    );
    let e = resolve(
        SessionOptions::new("t").url("redis://h/0?sentinel_password=hidden-pw"),
        &[],
    )
    .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("hidden-pw"), "{e}");
    // Replica reads: cluster and sentinel sessions, not a single server.
    let ok = SessionOptions::new("t")
        .sentinel("m", ["s1"])
        .read_from_replicas(true);
    assert!(resolve(ok, &[]).unwrap().conn.read_from_replicas);
    let e = resolve(
        SessionOptions::new("t")
            .url("redis://h")
            .read_from_replicas(true),
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            Error::InvalidOption {
                option: "read_from_replicas",
                ..
            }
        ),
        "{e:?}"
    );
}

mod refused;

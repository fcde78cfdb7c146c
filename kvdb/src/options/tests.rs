//! Table-driven tests of URL parsing, overrides, environment precedence and validation.

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
fn bad_urls_and_options_are_refused_before_connecting() {
    let bad: &[(SessionOptions, &str, &str)] = &[
        (
            SessionOptions::new("t").url("http://h"),
            "url",
            "unknown URL scheme",
        ),
        (
            SessionOptions::new("t").url("localhost:6379"),
            "url",
            "not a URL",
        ),
        (SessionOptions::new("t").url("redis://h:0"), "url", "port 0"),
        (
            SessionOptions::new("t").url("redis://h:99999"),
            "url",
            "not a port",
        ),
        (
            SessionOptions::new("t").url("redis://h/1?db=2"),
            "url",
            "two databases",
        ),
        (
            SessionOptions::new("t").url("redis://h/-1"),
            "url",
            "out of range",
        ),
        (
            SessionOptions::new("t").url("redis://h/x"),
            "url",
            "not a database",
        ),
        (
            SessionOptions::new("t").url("redis://h?foo=1"),
            "url",
            "unknown URL query",
        ),
        (
            SessionOptions::new("t").url("redis://h?protocol=resp9"),
            "url",
            "unknown protocol",
        ),
        (SessionOptions::new("t").url("redis://"), "url", "no host"),
        (
            SessionOptions::new("t").url("redis+unix://"),
            "url",
            "needs a path",
        ),
        (SessionOptions::new("t").port(0), "port", "port 0"),
        (SessionOptions::new("t").db_id(-3), "db_id", "out of range"),
        (
            SessionOptions::new("t").pool_size(0),
            "pool_size",
            "at least 1",
        ),
        (
            SessionOptions::new("t").url("redis+unix:///s").host("h"),
            "host",
            "unix socket",
        ),
        (
            SessionOptions::new("t")
                .compression(Compression::Zstd)
                .compression_level(40),
            "compression_level",
            "out of range",
        ),
        (
            SessionOptions::new("t")
                .compression(Compression::Gzip)
                .compression_level(-1),
            "compression_level",
            "out of range",
        ),
        (
            SessionOptions::new("t").compression_level(3),
            "compression_level",
            "compression is off",
        ),
        #[cfg(not(feature = "tls"))]
        (
            SessionOptions::new("t").url("rediss://h"),
            "url",
            "`tls` cargo feature",
        ),
        (
            SessionOptions::new("t")
                .url("redis://h")
                .tls_ca_cert("-----BEGIN CERTIFICATE-----"),
            "tls",
            "rediss://",
        ),
    ];
    for (o, option, needle) in bad {
        match resolve(o.clone(), &[]) {
            Err(Error::InvalidOption {
                option: got,
                reason,
            }) => {
                assert_eq!(got, *option, "{o:?}: {reason}");
                assert!(reason.contains(needle), "{o:?}: {reason}");
            }
            other => panic!("{o:?} should be refused, got {other:?}"),
        }
    }
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

#[test]
fn unusable_limits_are_refused_naming_the_option() {
    let base = || SessionOptions::new("t");
    let year_and_a_day = Duration::from_secs(366 * 24 * 3600);
    for (opts, option) in [
        (base().pool_timeout(Duration::ZERO), "pool_timeout"),
        (base().pool_timeout(Duration::MAX), "pool_timeout"),
        (base().connect_timeout(Duration::ZERO), "connect_timeout"),
        (base().connect_timeout(year_and_a_day), "connect_timeout"),
        (base().response_timeout(Duration::ZERO), "response_timeout"),
        (base().response_timeout(Duration::MAX), "response_timeout"),
        (base().pool_size(0), "pool_size"),
        (base().pool_size(u32::MAX), "pool_size"),
        (base().max_value_size(0), "max_value_size"),
        (base().max_decompressed_size(0), "max_decompressed_size"),
        (base().client_name("my app"), "client_name"),
        (base().client_name(""), "client_name"),
        (base().client_name("a\nb"), "client_name"),
    ] {
        match resolve(opts.clone(), &[]) {
            Err(Error::InvalidOption { option: o, reason }) => {
                assert_eq!(o, option, "{reason}")
            }
            other => panic!("{opts:?}: expected InvalidOption({option}), got {other:?}"),
        }
    }
    // The documented meanings: `None` waits for ever; a year is the longest timeout.
    let r = resolve(
        base()
            .response_timeout(None)
            .pool_timeout(super::resolve::MAX_TIMEOUT)
            .connect_timeout(Duration::from_nanos(1)),
        &[],
    )
    .unwrap();
    assert_eq!(r.conn.response_timeout, None);
}

mod props {
    use proptest::prelude::*;

    use super::*;

    fn duration() -> impl Strategy<Value = Duration> {
        prop_oneof![
            Just(Duration::ZERO),
            Just(Duration::MAX),
            Just(Duration::from_nanos(1)),
            any::<u64>().prop_map(Duration::from_nanos),
            (any::<u64>(), 0u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n)),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-z+]{0,12}://[a-z:@/?=&\\[\\]0-9.,%]{0,40}",
            Just("redis://localhost:6379/0".to_owned()),
        ]
    }

    prop_compose! {
        fn options()(
            url in proptest::option::of(text()),
            host in proptest::option::of(text()),
            port in proptest::option::of(any::<u16>()),
            db in proptest::option::of(any::<i64>()),
            timeouts in (duration(), proptest::option::of(duration()), duration()),
            pool_size in any::<u32>(),
            level in proptest::option::of(any::<i32>()),
            compression in 0usize..5,
            enabled in proptest::option::of(any::<bool>()),
            sizes in (any::<usize>(), any::<usize>(), any::<usize>()),
            client_name in proptest::option::of(text()),
            nodes in proptest::option::of(proptest::collection::vec(text(), 0..3)),
            replicas in any::<bool>(),
        ) -> SessionOptions {
            let mut o = SessionOptions::new("p")
                .connect_timeout(timeouts.0)
                .response_timeout(timeouts.1)
                .pool_timeout(timeouts.2)
                .pool_size(pool_size)
                .compression_min_size(sizes.0)
                .max_value_size(sizes.1)
                .max_decompressed_size(sizes.2)
                .read_from_replicas(replicas);
            if let Some(u) = url { o = o.url(u); }
            if let Some(h) = host { o = o.host(h); }
            if let Some(p) = port { o = o.port(p); }
            if let Some(d) = db { o = o.db_id(d); }
            if let Some(l) = level { o = o.compression_level(l); }
            if let Some(e) = enabled { o = o.compression_enabled(e); }
            if let Some(n) = client_name { o = o.client_name(n); }
            if let Some(n) = nodes { o = o.cluster_nodes(n); }
            o.compression(Compression::PREFERENCE.get(compression).copied().unwrap_or_default())
        }
    }

    proptest! {
        /// No combination of options panics: `resolve` accepts or refuses it, and what it
        /// accepts builds a sync pool (r2d2 panics on a zero or overflowing timeout).
        #[test]
        fn resolving_and_building_never_panics(o in options()) {
            if let Ok(r) = o.resolve_with_env(&|_| None) {
                prop_assert!(!r.conn.pool_timeout.is_zero());
                prop_assert!(r.conn.response_timeout != Some(Duration::ZERO));
                let _ = crate::transport::sync::SyncPool::new(&r.conn, &Default::default());
            }
        }
    }
}

/// docs/scaling.md: TLS for clusters and sentinels needs the `tls` feature; without it such
/// URLs are refused, naming the URL and the feature.
#[test]
#[cfg(not(feature = "tls"))]
fn tls_cluster_and_sentinel_urls_need_the_tls_feature() {
    for url in ["rediss+cluster://h:7000", "rediss+sentinel://h:26379/m/0"] {
        match resolve(SessionOptions::new("t").url(url), &[]) {
            Err(Error::InvalidOption { option, reason }) => {
                assert_eq!(option, "url");
                assert!(reason.contains("feature"), "{reason}");
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

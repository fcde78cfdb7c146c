//! What `resolve` refuses before any connection is made, naming the option: bad URLs and
//! values, unusable limits, TLS URLs without the `tls` feature; and no combination of options
//! makes it (or building a pool from what it accepts) panic.

use super::*;

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

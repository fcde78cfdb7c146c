//! TLS beyond a single server (feature `tls`): a 3-primary Redis Cluster with
//! `--tls-cluster yes` and a sentinel set (primary, replica, three sentinels) whose every
//! link is TLS, both requiring client certificates from one throwaway CA. Every model
//! operation runs sync and async through `rediss+cluster://` and `rediss+sentinel://`; the
//! option forms (`cluster_nodes`/`sentinel` + `tls(true)`) reach the same servers; a client
//! without a certificate is refused.
#![cfg(feature = "tls")]
#![allow(clippy::unwrap_used)]

use std::sync::LazyLock;
use std::time::Duration;

use kvdb::testing::{TestCluster, TestSentinel, TestSentinelOptions, TestTls};
use kvdb::{KVDBClient, KvModel, Mode, Serializer, Session, SessionOptions};
use kvdb_tests::unique;
use serde::{Deserialize, Serialize};

#[path = "support/pki.rs"]
mod pki;

static PKI: LazyLock<(pki::Pki, TestTls)> = LazyLock::new(|| {
    let pki = pki::make_pki("kvdb scale-out test CA");
    let dir = std::env::temp_dir().join(unique("kvdb-tls-scale"));
    let tls = pki::test_tls(&pki, &dir, true);
    (pki, tls)
});

static CLUSTER: LazyLock<TestCluster> = LazyLock::new(|| {
    TestCluster::start_tls(3, 0, &PKI.1).unwrap_or_else(|e| panic!("TLS cluster: {e}"))
});

static SENTINEL: LazyLock<TestSentinel> = LazyLock::new(|| {
    TestSentinel::start_with(&TestSentinelOptions {
        tls: Some(PKI.1.clone()),
        sentinel_password: None,
    })
    .unwrap_or_else(|e| panic!("TLS sentinel set: {e}"))
});

/// The certificates every session here shows and trusts.
fn with_certs(opts: SessionOptions) -> SessionOptions {
    let pki = &PKI.0;
    opts.tls_ca_cert(pki.ca.clone())
        .tls_client_cert(pki.client_cert.clone(), pki.client_key.clone())
        .serializer(Serializer::Json)
        .response_timeout(Duration::from_secs(10))
}

fn cluster_session() -> Session {
    KVDBClient::get_session(with_certs(
        SessionOptions::new(unique("tls-cluster")).url(CLUSTER.tls_url()),
    ))
    .unwrap()
}

fn sentinel_session() -> Session {
    KVDBClient::get_session(with_certs(
        SessionOptions::new(unique("tls-sentinel")).url(SENTINEL.url()),
    ))
    .unwrap()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "tls.Doc", prefix = "tls:docs")]
struct Doc {
    #[kv(key)]
    id: u64,
    owner: String,
    n: u32,
}

/// Every model operation, on `$s` (a `Session` or an `AsyncSession`; `w!` awaits in the
/// async test), with ids from `$base` and `$owner` marking this run's models.
macro_rules! model_operations {
    ($s:ident, $base:expr, $owner:expr) => {{
        let base: u64 = $base;
        let owner: String = $owner;
        let docs: Vec<Doc> = (0..50)
            .map(|i| Doc {
                id: base + i,
                owner: owner.clone(),
                n: i as u32,
            })
            .collect();
        w!($s.set_model(&docs[0])).unwrap();
        assert_eq!(
            w!($s.get_model::<Doc>(&base)).unwrap().as_ref(),
            Some(&docs[0])
        );
        w!($s.set_model_ex(&docs[1], Duration::from_secs(60))).unwrap();
        assert!(w!($s.exists_model::<Doc>(&(base + 1))).unwrap());
        w!($s.set_models(&docs[2..])).unwrap();
        let ids: Vec<u64> = docs.iter().map(|d| d.id).rev().collect();
        let got = w!($s.get_models::<Doc>(&ids)).unwrap();
        let want: Vec<Option<Doc>> = docs.iter().rev().cloned().map(Some).collect();
        assert_eq!(got, want, "get_models over TLS");
        let any = w!($s.get_any(&kvdb::model::model_key(&docs[3]).unwrap()))
            .unwrap()
            .unwrap();
        assert_eq!(any.tag(), "tls.Doc");
        assert_eq!(any.downcast::<Doc>().ok().as_ref(), Some(&docs[3]));
        let up = w!($s.update_model::<Doc, _>(&(base + 4), |d| d.n += 100)).unwrap();
        assert_eq!(up.map(|d| d.n), Some(104));
        assert_eq!(
            w!($s.get_model::<Doc>(&(base + 4))).unwrap().unwrap().n,
            104
        );
        assert!(w!($s.delete_model::<Doc>(&(base + 5))).unwrap());
        assert!(!w!($s.exists_model::<Doc>(&(base + 5))).unwrap());
        let mut found: Vec<u64> = scan!($s)
            .into_iter()
            .filter(|d| d.owner == owner)
            .map(|d| d.id)
            .collect();
        found.sort_unstable();
        found.dedup();
        assert_eq!(
            found.len(),
            49,
            "scan_models sees every model but the deleted one"
        );
    }};
}

/// The same body on a `Session` (sync) and its `AsyncSession`.
macro_rules! both {
    ($name:ident, $session:expr, $base:expr) => {
        mod $name {
            use super::*;

            #[test]
            fn sync() {
                macro_rules! w {
                    ($e:expr) => {
                        $e
                    };
                }
                macro_rules! scan {
                    ($x:expr) => {
                        $x.scan_models::<Doc>()
                            .unwrap()
                            .collect::<kvdb::Result<Vec<Doc>>>()
                            .unwrap()
                    };
                }
                let s = $session;
                model_operations!(s, $base, unique("sync"));
            }

            #[tokio::test]
            async fn aio() {
                macro_rules! w {
                    ($e:expr) => {
                        $e.await
                    };
                }
                macro_rules! scan {
                    ($x:expr) => {
                        kvdb::StreamExt::collect::<Vec<_>>($x.scan_models::<Doc>().unwrap())
                            .await
                            .into_iter()
                            .collect::<kvdb::Result<Vec<Doc>>>()
                            .unwrap()
                    };
                }
                let s = $session.aio();
                model_operations!(s, $base + 500, unique("aio"));
            }
        }
    };
}

both!(tls_cluster_model_operations, cluster_session(), 1_000);
both!(tls_sentinel_model_operations, sentinel_session(), 2_000);

#[test]
fn option_forms_reach_tls_clusters_and_sentinels() {
    let nodes: Vec<String> = CLUSTER
        .tls_url()
        .trim_start_matches("rediss+cluster://")
        .split(',')
        .map(str::to_owned)
        .collect();
    let by_options = KVDBClient::get_session(with_certs(
        SessionOptions::new(unique("tls-cluster-opts"))
            .cluster_nodes(nodes)
            .tls(true),
    ))
    .unwrap();
    assert!(
        by_options.url().starts_with("rediss+cluster://"),
        "{}",
        by_options.url()
    );
    assert!(by_options.shares_pool_with(&cluster_session()));
    by_options.set("tls:opt", &1).unwrap();
    assert_eq!(by_options.get::<i32>("tls:opt").unwrap(), Some(1));

    let url = SENTINEL.url();
    let sentinels: Vec<String> = url
        .trim_start_matches("rediss+sentinel://")
        .split('/')
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    let by_options = KVDBClient::get_session(with_certs(
        SessionOptions::new(unique("tls-sentinel-opts"))
            .sentinel("mymaster", sentinels)
            .tls(true),
    ))
    .unwrap();
    assert!(by_options.shares_pool_with(&sentinel_session()));
    by_options.set("tls:opt", &2).unwrap();
    assert_eq!(by_options.get::<i32>("tls:opt").unwrap(), Some(2));
    let health = KVDBClient::health()
        .into_iter()
        .find(|p| p.sessions.iter().any(|s| s == by_options.name()))
        .unwrap();
    assert_eq!(health.mode, Mode::Sentinel);
    assert!(health.tls);
    assert_eq!(health.primary, Some(SENTINEL.client_addrs().0));
}

#[test]
fn a_client_without_a_certificate_is_refused_by_both() {
    for url in [CLUSTER.tls_url(), SENTINEL.url()] {
        let s = KVDBClient::get_session(
            SessionOptions::new(unique("tls-no-cert"))
                .url(&url)
                .tls_ca_cert(PKI.0.ca.clone())
                .connect_timeout(Duration::from_secs(2))
                .response_timeout(Duration::from_secs(2))
                .pool_timeout(Duration::from_secs(3)),
        )
        .unwrap();
        let e = s.get::<i32>("k").unwrap_err();
        println!("{url} without a client certificate: {e}");
        assert!(e.is_connection_error(), "{url}: {e:?}");
    }
}

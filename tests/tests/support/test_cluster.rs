//! What the cluster tests share: the 3-primary cluster of the test binary (loopback, no
//! persistence, started on first use), sessions on it, and the models they store.

// Each test binary uses a part of it.
#![allow(dead_code)]

use std::sync::LazyLock;

use kvdb::testing::TestCluster;
use kvdb::{KVDBClient, KvModel, Serializer, SessionOptions};
use kvdb_tests::unique;
use serde::{Deserialize, Serialize};

pub(crate) static CLUSTER: LazyLock<TestCluster> = LazyLock::new(|| {
    TestCluster::start(3, 0).unwrap_or_else(|e| panic!("the cluster tests need redis-server: {e}"))
});

/// A fresh session on [`CLUSTER`] (JSON), and a unique key prefix.
pub(crate) fn session(what: &str) -> (kvdb::Session, String) {
    let s = KVDBClient::get_session(
        SessionOptions::new(unique(what))
            .url(CLUSTER.url())
            .serializer(Serializer::Json),
    )
    .unwrap();
    (s, unique("c"))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "cl.Item", prefix = "cl:items")]
pub(crate) struct Item {
    #[kv(key)]
    pub(crate) id: u64,
    pub(crate) name: String,
}

/// A model family kept in one slot: every order line of an order shares its hash tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "cl.Line",
    key = "cl:order:{order}:line:{n}",
    hash_tag = "{order}"
)]
pub(crate) struct Line {
    pub(crate) order: String,
    pub(crate) n: u32,
    pub(crate) sku: String,
}

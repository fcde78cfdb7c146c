//! A throwaway Redis Cluster and a throwaway Sentinel setup, built from [`TestServer`]s on
//! loopback ports with no persistence; every process stops when its value is dropped.
//!
//! The cluster is assembled with plain commands (`CLUSTER ADDSLOTS`, `CLUSTER MEET`,
//! `CLUSTER REPLICATE`), so nothing but `redis-server` is needed (no `redis-cli`).

use std::time::{Duration, Instant};

use super::{TestServer, TestServerError};
use crate::slot::SLOT_COUNT;

fn not_ready(detail: impl Into<String>) -> TestServerError {
    TestServerError::NotReady {
        detail: detail.into(),
    }
}

fn connect(port: u16) -> Result<redis::Connection, TestServerError> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .map_err(|e| not_ready(format!("port {port}: {e}")))?;
    let conn = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .map_err(|e| not_ready(format!("port {port}: {e}")))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| not_ready(e.to_string()))?;
    Ok(conn)
}

fn query<T: redis::FromRedisValue>(port: u16, cmd: &redis::Cmd) -> Result<T, TestServerError> {
    cmd.query(&mut connect(port)?)
        .map_err(|e| not_ready(format!("port {port}: {e}")))
}

/// Polls `check` every 50 ms until it is true, for up to `limit`.
fn wait_until(
    limit: Duration,
    what: &str,
    mut check: impl FnMut() -> bool,
) -> Result<(), TestServerError> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(not_ready(format!("{what} within {limit:?}")))
}

/// A Redis Cluster of `redis-server`s on loopback ports: primaries, each with its replicas.
///
/// ```no_run
/// use kvdb::testing::TestCluster;
/// let cluster = TestCluster::start(3, 0)?; // 3 primaries, no replicas
/// println!("{}", cluster.url()); // redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3
/// # Ok::<(), kvdb::testing::TestServerError>(())
/// ```
#[derive(Debug)]
pub struct TestCluster {
    primaries: Vec<TestServer>,
    replicas: Vec<TestServer>,
}

impl TestCluster {
    /// Starts `primaries` nodes sharing the 16384 slots evenly, plus `replicas_each`
    /// replicas of each, and waits until every node reports `cluster_state:ok` (and every
    /// replica is in sync).
    pub fn start(primaries: usize, replicas_each: usize) -> Result<TestCluster, TestServerError> {
        if primaries == 0 {
            return Err(not_ready("a cluster needs at least one primary"));
        }
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "1500",
        ];
        let start = |_| TestServer::start_with_args(&args);
        let cluster = TestCluster {
            primaries: (0..primaries).map(start).collect::<Result<_, _>>()?,
            replicas: (0..primaries * replicas_each)
                .map(start)
                .collect::<Result<_, _>>()?,
        };
        let per = SLOT_COUNT as usize / primaries;
        for (i, node) in cluster.primaries.iter().enumerate() {
            let first = i * per;
            let last = if i + 1 == primaries {
                SLOT_COUNT as usize
            } else {
                first + per
            };
            let mut cmd = redis::cmd("CLUSTER");
            cmd.arg("ADDSLOTS").arg((first..last).collect::<Vec<_>>());
            query::<()>(node.port(), &cmd)?;
        }
        let ports = cluster.ports();
        for &port in &ports[1..] {
            query::<()>(
                ports[0],
                redis::cmd("CLUSTER").arg("MEET").arg("127.0.0.1").arg(port),
            )?;
        }
        wait_until(
            Duration::from_secs(20),
            "every node knows every other",
            || {
                ports.iter().all(|&p| {
                    query::<String>(p, redis::cmd("CLUSTER").arg("NODES"))
                        .map(|nodes| nodes.lines().count() == ports.len())
                        .unwrap_or(false)
                })
            },
        )?;
        for (i, replica) in cluster.replicas.iter().enumerate() {
            let primary = &cluster.primaries[i / replicas_each];
            let id: String = query(primary.port(), redis::cmd("CLUSTER").arg("MYID"))?;
            query::<()>(
                replica.port(),
                redis::cmd("CLUSTER").arg("REPLICATE").arg(id),
            )?;
        }
        cluster.wait_ok(Duration::from_secs(30))?;
        Ok(cluster)
    }

    /// Waits until every node says `cluster_state:ok` and every node that is a replica (now)
    /// has its link to its primary up.
    pub fn wait_ok(&self, limit: Duration) -> Result<(), TestServerError> {
        let ports = self.ports();
        wait_until(limit, "cluster_state:ok on every node", || {
            ports.iter().all(|&p| {
                let ok = query::<String>(p, redis::cmd("CLUSTER").arg("INFO"))
                    .map(|info| info.contains("cluster_state:ok"))
                    .unwrap_or(false);
                let synced = query::<String>(p, redis::cmd("INFO").arg("replication"))
                    .map(|i| i.contains("role:master") || i.contains("master_link_status:up"))
                    .unwrap_or(false);
                ok && synced
            })
        })
    }

    /// `redis+cluster://127.0.0.1:p1,...` with every node.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .ports()
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        format!("redis+cluster://{}", nodes.join(","))
    }

    /// Every node's port, primaries first.
    pub fn ports(&self) -> Vec<u16> {
        self.primaries
            .iter()
            .chain(&self.replicas)
            .map(TestServer::port)
            .collect()
    }

    /// The ports of the nodes started as primaries.
    pub fn primary_ports(&self) -> Vec<u16> {
        self.primaries.iter().map(TestServer::port).collect()
    }

    /// The ports of the nodes started as replicas (those of the first primary first).
    pub fn replica_ports(&self) -> Vec<u16> {
        self.replicas.iter().map(TestServer::port).collect()
    }
}

/// A primary, one replica and three sentinels monitoring it as `mymaster` (quorum 2, a
/// primary is considered down after 1 s), on loopback ports.
///
/// ```no_run
/// use kvdb::testing::TestSentinel;
/// let setup = TestSentinel::start()?;
/// println!("{}", setup.url()); // redis+sentinel://127.0.0.1:s1,.../mymaster/0
/// # Ok::<(), kvdb::testing::TestServerError>(())
/// ```
#[derive(Debug)]
pub struct TestSentinel {
    primary: TestServer,
    replica: TestServer,
    sentinels: Vec<TestServer>,
}

/// The master name the sentinels of a [`TestSentinel`] use.
const MASTER_NAME: &str = "mymaster";

impl TestSentinel {
    /// Starts the primary, its replica (waiting until it is in sync) and three sentinels
    /// (waiting until they all see the primary and the replica, and each other).
    pub fn start() -> Result<TestSentinel, TestServerError> {
        let primary = TestServer::start()?;
        let replica = TestServer::start_with_args(&[
            "--replicaof",
            "127.0.0.1",
            &primary.port().to_string(),
        ])?;
        wait_until(Duration::from_secs(20), "the replica in sync", || {
            query::<String>(replica.port(), redis::cmd("INFO").arg("replication"))
                .map(|i| i.contains("master_link_status:up"))
                .unwrap_or(false)
        })?;
        let config = format!(
            "sentinel monitor {MASTER_NAME} 127.0.0.1 {} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 10000\n\
             sentinel parallel-syncs {MASTER_NAME} 1",
            primary.port()
        );
        let sentinels = (0..3)
            .map(|_| TestServer::start_with_config(&config, &["--sentinel"]))
            .collect::<Result<Vec<_>, _>>()?;
        let setup = TestSentinel {
            primary,
            replica,
            sentinels,
        };
        wait_until(
            Duration::from_secs(20),
            "the sentinels know the replica and each other",
            || {
                setup.sentinels.iter().all(|s| {
                    let master: redis::RedisResult<Vec<String>> = redis::cmd("SENTINEL")
                        .arg("MASTER")
                        .arg(MASTER_NAME)
                        .query(&mut match connect(s.port()) {
                            Ok(c) => c,
                            Err(_) => return false,
                        });
                    let field = |name: &str| {
                        master.as_ref().ok().and_then(|m| {
                            m.chunks(2)
                                .find(|kv| kv[0] == name)
                                .and_then(|kv| kv.get(1).cloned())
                        })
                    };
                    field("num-slaves").as_deref() == Some("1")
                        && field("num-other-sentinels").as_deref() == Some("2")
                })
            },
        )?;
        Ok(setup)
    }

    /// `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/mymaster/0`.
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port()))
            .collect();
        format!("redis+sentinel://{}/{MASTER_NAME}/0", nodes.join(","))
    }

    /// The server started as the primary.
    pub fn primary(&mut self) -> &mut TestServer {
        &mut self.primary
    }

    /// The server started as the replica.
    pub fn replica(&mut self) -> &mut TestServer {
        &mut self.replica
    }

    /// The sentinels' ports.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(TestServer::port).collect()
    }

    /// The primary's port as the first sentinel names it now.
    pub fn current_primary_port(&self) -> Option<u16> {
        let port = self.sentinels.first()?.port();
        let addr: Vec<String> = query(
            port,
            redis::cmd("SENTINEL")
                .arg("GET-MASTER-ADDR-BY-NAME")
                .arg(MASTER_NAME),
        )
        .ok()?;
        addr.get(1)?.parse().ok()
    }
}

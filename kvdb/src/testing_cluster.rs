//! A throwaway Redis Cluster and a throwaway Sentinel setup, built from [`TestServer`]s on
//! loopback ports with no persistence; every process stops when its value is dropped.
//!
//! The cluster is assembled with plain commands (`CLUSTER ADDSLOTS`, `CLUSTER MEET`,
//! `CLUSTER REPLICATE`), so nothing but `redis-server` is needed (no `redis-cli`).
//!
//! Both can run with TLS ([`TestTls`]: every node gets a TLS port next to its plain one, which
//! the harness keeps using for its own commands; the cluster bus and replication use TLS),
//! and the sentinels with a password.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{TestServer, TestServerError, free_port};
use crate::slot::SLOT_COUNT;

fn not_ready(detail: impl Into<String>) -> TestServerError {
    TestServerError::NotReady {
        detail: detail.into(),
    }
}

/// PEM files for TLS test servers: the CA that signed the server certificate (for
/// loopback: its names should include `127.0.0.1` and `localhost`), the certificate and its
/// key, and whether clients must show a certificate the CA signed.
#[derive(Clone, Debug)]
pub struct TestTls {
    /// The CA certificate.
    pub ca: PathBuf,
    /// The servers' certificate.
    pub cert: PathBuf,
    /// The servers' private key.
    pub key: PathBuf,
    /// `tls-auth-clients yes`: clients must show a certificate the CA signed (the servers
    /// show theirs to each other).
    pub auth_clients: bool,
}

impl TestTls {
    /// The `redis-server` arguments for a TLS port (and TLS for replication and the cluster
    /// bus), plus the port.
    fn args(&self) -> Result<(Vec<String>, u16), TestServerError> {
        let port = free_port().map_err(TestServerError::Io)?;
        let path = |p: &PathBuf| p.display().to_string();
        let args = [
            "--tls-port",
            &port.to_string(),
            "--tls-cert-file",
            &path(&self.cert),
            "--tls-key-file",
            &path(&self.key),
            "--tls-ca-cert-file",
            &path(&self.ca),
            "--tls-auth-clients",
            if self.auth_clients { "yes" } else { "no" },
            "--tls-replication",
            "yes",
        ]
        .map(str::to_owned)
        .to_vec();
        Ok((args, port))
    }
}

fn connect(port: u16) -> Result<redis::Connection, TestServerError> {
    connect_as(port, None)
}

/// A plain connection, authenticated with `password` if given.
fn connect_as(port: u16, password: Option<&str>) -> Result<redis::Connection, TestServerError> {
    let auth = password.map(|p| format!(":{p}@")).unwrap_or_default();
    let client = redis::Client::open(format!("redis://{auth}127.0.0.1:{port}/"))
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
    /// With TLS: each node's TLS port, primaries first.
    tls_ports: Option<Vec<u16>>,
}

impl TestCluster {
    /// Starts `primaries` nodes sharing the 16384 slots evenly, plus `replicas_each`
    /// replicas of each, and waits until every node reports `cluster_state:ok` (and every
    /// replica is in sync).
    pub fn start(primaries: usize, replicas_each: usize) -> Result<TestCluster, TestServerError> {
        Self::start_with(primaries, replicas_each, None)
    }

    /// [`start`](Self::start) with TLS (`--tls-cluster yes`): clients reach the nodes on
    /// their TLS ports ([`tls_url`](Self::tls_url)), the nodes talk to each other over TLS.
    pub fn start_tls(
        primaries: usize,
        replicas_each: usize,
        tls: &TestTls,
    ) -> Result<TestCluster, TestServerError> {
        Self::start_with(primaries, replicas_each, Some(tls))
    }

    fn start_with(
        primaries: usize,
        replicas_each: usize,
        tls: Option<&TestTls>,
    ) -> Result<TestCluster, TestServerError> {
        if primaries == 0 {
            return Err(not_ready("a cluster needs at least one primary"));
        }
        let mut tls_ports = Vec::new();
        let mut start = |_| {
            let mut args = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "1500",
            ]
            .map(str::to_owned)
            .to_vec();
            if let Some(tls) = tls {
                let (more, port) = tls.args()?;
                args.extend(more);
                args.extend(["--tls-cluster".to_owned(), "yes".to_owned()]);
                tls_ports.push(port);
            }
            TestServer::start_with_args(&args)
        };
        let primaries_started = (0..primaries).map(&mut start).collect::<Result<_, _>>()?;
        let replicas_started = (0..primaries * replicas_each)
            .map(&mut start)
            .collect::<Result<_, _>>()?;
        let cluster = TestCluster {
            primaries: primaries_started,
            replicas: replicas_started,
            tls_ports: tls.map(|_| tls_ports),
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
        // The cluster bus listens next to the port the nodes announce: the TLS one with TLS.
        let bus_ports = cluster.tls_ports.clone().unwrap_or_else(|| ports.clone());
        for &port in &bus_ports[1..] {
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
            // A killed node is not waited for.
            let live = ports
                .iter()
                .filter(|&&p| super::answers_ping(p, Duration::from_millis(200)));
            live.into_iter().all(|&p| {
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

    /// `rediss+cluster://127.0.0.1:t1,...`: every node's TLS port (a cluster started with
    /// [`start_tls`](Self::start_tls); else the same as [`url`](Self::url)).
    pub fn tls_url(&self) -> String {
        match &self.tls_ports {
            Some(ports) => {
                let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
                format!("rediss+cluster://{}", nodes.join(","))
            }
            None => self.url(),
        }
    }

    /// Kills the `i`-th node started as a primary (as a crash would); its replica is
    /// promoted once the other primaries agree it has failed (`cluster-node-timeout`
    /// 1.5 s).
    pub fn kill_primary(&mut self, i: usize) {
        if let Some(p) = self.primaries.get_mut(i) {
            p.kill();
        }
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
    /// With TLS: the TLS ports of the primary, the replica and each sentinel.
    tls_ports: Option<(u16, u16, Vec<u16>)>,
    password: Option<String>,
}

/// The master name the sentinels of a [`TestSentinel`] use.
const MASTER_NAME: &str = "mymaster";

/// How to start a [`TestSentinel`]: plain or TLS, sentinels open or password-protected.
#[derive(Clone, Debug, Default)]
pub struct TestSentinelOptions {
    /// TLS for the data nodes and the sentinels (and between them).
    pub tls: Option<TestTls>,
    /// The sentinels' `requirepass` (the data nodes have none).
    pub sentinel_password: Option<String>,
}

impl TestSentinel {
    /// Starts the primary, its replica (waiting until it is in sync) and three sentinels
    /// (waiting until they all see the primary and the replica, and each other).
    pub fn start() -> Result<TestSentinel, TestServerError> {
        Self::start_with(&TestSentinelOptions::default())
    }

    /// [`start`](Self::start) with TLS and/or a sentinel password.
    pub fn start_with(options: &TestSentinelOptions) -> Result<TestSentinel, TestServerError> {
        let tls = options.tls.as_ref();
        let with_tls = |mut args: Vec<String>| -> Result<(Vec<String>, u16), TestServerError> {
            match tls {
                Some(tls) => {
                    let (more, port) = tls.args()?;
                    args.extend(more);
                    Ok((args, port))
                }
                None => Ok((args, 0)),
            }
        };
        let (args, primary_tls) = with_tls(Vec::new())?;
        let primary = TestServer::start_with_args(&args)?;
        // With TLS, replication and the sentinels use the TLS ports.
        let primary_port = if tls.is_some() {
            primary_tls
        } else {
            primary.port()
        };
        let (args, replica_tls) = with_tls(vec![
            "--replicaof".into(),
            "127.0.0.1".into(),
            primary_port.to_string(),
        ])?;
        let replica = TestServer::start_with_args(&args)?;
        wait_until(Duration::from_secs(20), "the replica in sync", || {
            query::<String>(replica.port(), redis::cmd("INFO").arg("replication"))
                .map(|i| i.contains("master_link_status:up"))
                .unwrap_or(false)
        })?;
        let mut config = format!(
            "sentinel monitor {MASTER_NAME} 127.0.0.1 {primary_port} 2\n\
             sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
             sentinel failover-timeout {MASTER_NAME} 10000\n\
             sentinel parallel-syncs {MASTER_NAME} 1"
        );
        if let Some(pw) = &options.sentinel_password {
            // Sentinels also use it to authenticate to each other.
            config.push_str(&format!("\nrequirepass \"{pw}\""));
        }
        let mut sentinel_tls = Vec::new();
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let (args, port) = with_tls(vec!["--sentinel".into()])?;
            sentinels.push(TestServer::start_with_config(&config, &args)?);
            sentinel_tls.push(port);
        }
        let setup = TestSentinel {
            primary,
            replica,
            sentinels,
            tls_ports: tls.map(|_| (primary_tls, replica_tls, sentinel_tls)),
            password: options.sentinel_password.clone(),
        };
        wait_until(
            Duration::from_secs(30),
            "the sentinels know the replica and each other",
            || {
                setup.sentinels.iter().all(|s| {
                    let master: Vec<String> = match setup.ask(s.port(), "MASTER") {
                        Ok(m) => m,
                        Err(_) => return false,
                    };
                    let field = |name: &str| {
                        master
                            .chunks(2)
                            .find(|kv| kv[0] == name)
                            .and_then(|kv| kv.get(1).cloned())
                    };
                    field("num-slaves").as_deref() == Some("1")
                        && field("num-other-sentinels").as_deref() == Some("2")
                })
            },
        )?;
        Ok(setup)
    }

    /// `SENTINEL <what> mymaster` on the sentinel at `port` (authenticated if needed).
    fn ask<T: redis::FromRedisValue>(&self, port: u16, what: &str) -> Result<T, TestServerError> {
        redis::cmd("SENTINEL")
            .arg(what)
            .arg(MASTER_NAME)
            .query(&mut connect_as(port, self.password.as_deref())?)
            .map_err(|e| not_ready(format!("sentinel {port}: {e}")))
    }

    /// `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/mymaster/0` (with TLS:
    /// `rediss+sentinel://` and the TLS ports). No credentials: pass the sentinel password
    /// with `SessionOptions::sentinel_password`.
    pub fn url(&self) -> String {
        let (scheme, ports) = match &self.tls_ports {
            Some((_, _, ports)) => ("rediss+sentinel", ports.clone()),
            None => ("redis+sentinel", self.sentinel_ports()),
        };
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        format!("{scheme}://{}/{MASTER_NAME}/0", nodes.join(","))
    }

    /// The server started as the primary.
    pub fn primary(&mut self) -> &mut TestServer {
        &mut self.primary
    }

    /// The server started as the replica.
    pub fn replica(&mut self) -> &mut TestServer {
        &mut self.replica
    }

    /// The sentinels' (plain) ports.
    pub fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(TestServer::port).collect()
    }

    /// The port the sentinels name for the primary now (with TLS, a TLS port).
    pub fn current_primary_port(&self) -> Option<u16> {
        let port = self.sentinels.first()?.port();
        let addr: Vec<String> = self.ask(port, "GET-MASTER-ADDR-BY-NAME").ok()?;
        addr.get(1)?.parse().ok()
    }

    /// The address (`127.0.0.1:port`) clients use for the server started as the primary
    /// (its TLS port with TLS), and the same for the replica.
    pub fn client_addrs(&self) -> (String, String) {
        let (p, r) = match &self.tls_ports {
            Some((p, r, _)) => (*p, *r),
            None => (self.primary.port(), self.replica.port()),
        };
        (format!("127.0.0.1:{p}"), format!("127.0.0.1:{r}"))
    }
}

//! Connection settings: URL parsing, overrides and the pool fingerprint. Pure: no I/O.
//!
//! Two sessions share a connection pool exactly when their [`ConnectionSettings`] are equal.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Where a session connects.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) enum Addr {
    /// TCP, optionally with TLS.
    Tcp { host: String, port: u16, tls: bool },
    /// A Unix domain socket.
    Unix(PathBuf),
    /// A Redis Cluster, reached through these seed nodes (sorted, no duplicates); with TLS to
    /// every node (`rediss+cluster://`).
    Cluster { nodes: Vec<Node>, tls: bool },
    /// The primary that these sentinels (sorted, no duplicates) name for `master`; with TLS
    /// to the sentinels and the data nodes (`rediss+sentinel://`).
    Sentinel {
        sentinels: Vec<Node>,
        master: String,
        tls: bool,
    },
}

impl Addr {
    /// Whether connections use TLS.
    pub(crate) fn tls(&self) -> bool {
        match self {
            Addr::Tcp { tls, .. } | Addr::Cluster { tls, .. } | Addr::Sentinel { tls, .. } => *tls,
            Addr::Unix(_) => false,
        }
    }

    /// Turns TLS on or off (for [`SessionOptions::tls`](crate::SessionOptions::tls));
    /// `false` for a unix socket, which has none.
    pub(crate) fn set_tls(&mut self, on: bool) -> bool {
        match self {
            Addr::Tcp { tls, .. } | Addr::Cluster { tls, .. } | Addr::Sentinel { tls, .. } => {
                *tls = on;
                true
            }
            Addr::Unix(_) => !on,
        }
    }
}

/// A `host:port` of a cluster seed node or a sentinel.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Node {
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// RESP protocol version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// RESP2, the default.
    #[default]
    Resp2,
    /// RESP3 (`?protocol=resp3`).
    Resp3,
}

/// A password that never shows in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Everything that decides which connection pool a session uses: the fingerprint.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct ConnectionSettings {
    pub(crate) addr: Addr,
    pub(crate) db: i64,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Secret>,
    /// Sentinel only: the credentials the sentinels themselves ask for (the data nodes'
    /// are `username`/`password`).
    pub(crate) sentinel_username: Option<String>,
    pub(crate) sentinel_password: Option<Secret>,
    pub(crate) protocol: Protocol,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Option<Duration>,
    pub(crate) pool_size: u32,
    pub(crate) pool_timeout: Duration,
    pub(crate) client_name: Option<String>,
    /// CA and client certificates of a `rediss://` connection.
    pub(crate) tls: crate::tls::TlsSettings,
    /// Cluster and sentinel: read-only operations may be served by replicas.
    pub(crate) read_from_replicas: bool,
    /// How failed requests are retried.
    pub(crate) retry: crate::Retry,
}

impl ConnectionSettings {
    /// The database, protocol and credentials for a data node (not a sentinel).
    pub(crate) fn redis_info(&self) -> redis::RedisConnectionInfo {
        let mut redis_info = redis::RedisConnectionInfo::default()
            .set_db(self.db)
            .set_protocol(match self.protocol {
                Protocol::Resp2 => redis::ProtocolVersion::RESP2,
                Protocol::Resp3 => redis::ProtocolVersion::RESP3,
            });
        if let Some(u) = &self.username {
            redis_info = redis_info.set_username(u);
        }
        if let Some(p) = &self.password {
            redis_info = redis_info.set_password(&p.0);
        }
        redis_info
    }

    /// The `redis` crate's connection info.
    pub(crate) fn connection_info(&self) -> redis::ConnectionInfo {
        let addr = match &self.addr {
            Addr::Tcp {
                host,
                port,
                tls: false,
            } => redis::ConnectionAddr::Tcp(host.clone(), *port),
            Addr::Tcp {
                host,
                port,
                tls: true,
            } => redis::ConnectionAddr::TcpTls {
                host: host.clone(),
                port: *port,
                insecure: false,
                tls_params: None,
            },
            Addr::Unix(p) => redis::ConnectionAddr::Unix(p.clone()),
            // Multi-node modes: the first node, for the rare caller that wants one address
            // (the cluster and sentinel transports use `nodes` instead).
            Addr::Cluster { nodes, tls }
            | Addr::Sentinel {
                sentinels: nodes,
                tls,
                ..
            } => match nodes.first() {
                Some(n) => node_addr(n, *tls),
                None => redis::ConnectionAddr::Tcp("localhost".into(), 6379),
            },
        };
        node_info(addr, self.redis_info())
    }

    /// The connection info of each cluster seed node (with the data nodes' credentials).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    pub(crate) fn node_infos(&self) -> Vec<redis::ConnectionInfo> {
        match &self.addr {
            Addr::Cluster { nodes, tls } => nodes
                .iter()
                .map(|n| node_info(node_addr(n, *tls), self.redis_info()))
                .collect(),
            _ => vec![self.connection_info()],
        }
    }
}

/// A node's address, with TLS (verified; the certificates come with the client) or without.
pub(crate) fn node_addr(n: &Node, tls: bool) -> redis::ConnectionAddr {
    if tls {
        redis::ConnectionAddr::TcpTls {
            host: n.host.clone(),
            port: n.port,
            insecure: false,
            tls_params: None,
        }
    } else {
        redis::ConnectionAddr::Tcp(n.host.clone(), n.port)
    }
}

fn node_info(
    addr: redis::ConnectionAddr,
    redis_info: redis::RedisConnectionInfo,
) -> redis::ConnectionInfo {
    use redis::IntoConnectionInfo;
    #[allow(clippy::expect_used)]
    addr.into_connection_info()
        .expect("a ConnectionAddr always converts")
        .set_redis_settings(redis_info)
}

/// Shows the URL with the password replaced by `***`.
impl fmt::Display for ConnectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match &self.addr {
            Addr::Tcp { tls: false, .. } => "redis",
            Addr::Tcp { tls: true, .. } => "rediss",
            Addr::Unix(_) => "redis+unix",
            Addr::Cluster { tls: false, .. } => "redis+cluster",
            Addr::Cluster { tls: true, .. } => "rediss+cluster",
            Addr::Sentinel { tls: false, .. } => "redis+sentinel",
            Addr::Sentinel { tls: true, .. } => "rediss+sentinel",
        };
        write!(f, "{scheme}://")?;
        match (&self.username, &self.password) {
            (Some(u), Some(_)) => write!(f, "{u}:***@")?,
            (Some(u), None) => write!(f, "{u}@")?,
            (None, Some(_)) => write!(f, ":***@")?,
            (None, None) => {}
        }
        match &self.addr {
            Addr::Tcp { host, port, .. } if host.contains(':') => write!(f, "[{host}]:{port}")?,
            Addr::Tcp { host, port, .. } => write!(f, "{host}:{port}")?,
            Addr::Unix(p) => write!(f, "{}", p.display())?,
            Addr::Cluster { nodes, .. }
            | Addr::Sentinel {
                sentinels: nodes, ..
            } => write_nodes(f, nodes)?,
        }
        match &self.addr {
            Addr::Unix(_) => write!(f, "?db={}", self.db),
            Addr::Tcp { .. } | Addr::Cluster { .. } => write!(f, "/{}", self.db),
            Addr::Sentinel { master, .. } => {
                write!(f, "/{master}/{}", self.db)?;
                let mut sep = '?';
                if let Some(u) = &self.sentinel_username {
                    write!(f, "{sep}sentinel_username={u}")?;
                    sep = '&';
                }
                if self.sentinel_password.is_some() {
                    write!(f, "{sep}sentinel_password=***")?;
                }
                Ok(())
            }
        }
    }
}

fn write_nodes(f: &mut fmt::Formatter<'_>, nodes: &[Node]) -> fmt::Result {
    for (i, n) in nodes.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{n}")?;
    }
    Ok(())
}

impl fmt::Debug for ConnectionSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionSettings")
            .field("url", &format_args!("{self}"))
            .field("protocol", &self.protocol)
            .field("connect_timeout", &self.connect_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("pool_size", &self.pool_size)
            .field("pool_timeout", &self.pool_timeout)
            .field("client_name", &self.client_name)
            .field("tls", &self.tls)
            .field("read_from_replicas", &self.read_from_replicas)
            .field("retry", &self.retry)
            .finish()
    }
}

/// The parts of a URL, before explicit overrides are applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParsedUrl {
    pub(crate) addr: Addr,
    pub(crate) db: Option<i64>,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<Secret>,
    pub(crate) protocol: Option<Protocol>,
    /// `?sentinel_username=` and `?sentinel_password=` of a sentinel URL.
    pub(crate) sentinel_username: Option<String>,
    pub(crate) sentinel_password: Option<Secret>,
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Tcp { host, port, tls } => write!(f, "Tcp({host}:{port}, tls={tls})"),
            Addr::Unix(p) => write!(f, "Unix({})", p.display()),
            Addr::Cluster { nodes, tls } => {
                f.write_str("Cluster(")?;
                write_nodes(f, nodes)?;
                write!(f, ", tls={tls})")
            }
            Addr::Sentinel {
                sentinels,
                master,
                tls,
            } => {
                write!(f, "Sentinel({master} via ")?;
                write_nodes(f, sentinels)?;
                write!(f, ", tls={tls})")
            }
        }
    }
}

/// Parses a Redis URL. Errors never contain the password.
///
/// Schemes: `redis`, `rediss` (TLS), `redis+unix` and `unix` (socket path), and kvdb-py's
/// aliases `keydb`, `dragonfly`, `valkey` (plain) and `keydbs`, `valkeys` (TLS).
/// The db may be the path (`/3`) or `?db=3`; both at once must agree.
pub(crate) fn parse_url(url: &str) -> Result<ParsedUrl, String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("{} is not a URL (expected scheme://...)", redact(url)))?;
    let scheme = scheme.to_ascii_lowercase();
    // The credentials end at the last `@`, so that a password holding `/`, `?`, `#` or `@`
    // unescaped is still taken whole, and never reaches the host, path or query parsing (nor
    // their error messages).
    let (userinfo, rest) = split_userinfo(rest);
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let rest = rest.split('#').next().unwrap_or_default();
    let mut db_query = None;
    let mut protocol = None;
    let mut sentinel_username = None;
    let mut sentinel_password = None;
    for pair in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "db" => db_query = Some(parse_db(v)?),
            "protocol" => {
                protocol = Some(match v.to_ascii_lowercase().as_str() {
                    "resp2" | "2" => Protocol::Resp2,
                    "resp3" | "3" => Protocol::Resp3,
                    other => return Err(format!("unknown protocol {other:?} (resp2 or resp3)")),
                })
            }
            "sentinel_username" => sentinel_username = Some(percent_decode(v)?),
            "sentinel_password" => {
                sentinel_password = Some(Secret(percent_decode(v).map_err(|_| {
                    "the sentinel password is not valid percent-encoding".to_owned()
                })?))
            }
            other => return Err(format!("unknown URL query parameter {other:?}")),
        }
    }
    if (sentinel_username.is_some() || sentinel_password.is_some())
        && !scheme.ends_with("+sentinel")
    {
        return Err(
            "sentinel_username and sentinel_password are for sentinel URLs (redis+sentinel://)"
                .into(),
        );
    }
    let tls = match scheme.as_str() {
        "redis" | "keydb" | "dragonfly" | "valkey" => false,
        "rediss" | "keydbs" | "valkeys" => true,
        "redis+unix" | "unix" => {
            let path = rest;
            let (username, password) = parse_userinfo(userinfo)?;
            if path.is_empty() {
                return Err("a unix socket URL needs a path: redis+unix:///run/redis.sock".into());
            }
            return Ok(ParsedUrl {
                addr: Addr::Unix(PathBuf::from(percent_decode(path)?)),
                db: db_query,
                username,
                password,
                protocol,
                sentinel_username,
                sentinel_password,
            });
        }
        "redis+cluster" | "valkey+cluster" | "redis+sentinel" | "valkey+sentinel"
        | "rediss+cluster" | "valkeys+cluster" | "rediss+sentinel" | "valkeys+sentinel" => {
            let (username, password) = parse_userinfo(userinfo)?;
            let sentinel = scheme.ends_with("+sentinel");
            let tls = scheme.starts_with("rediss") || scheme.starts_with("valkeys");
            let (addr, db_path) = crate::nodes::parse_multi(rest, sentinel, tls)?;
            let db = match (db_path, db_query) {
                (Some(a), Some(b)) if a != b => {
                    return Err(format!(
                        "the URL names two databases: /{a} in the path and ?db={b} in the query"
                    ));
                }
                (a, b) => a.or(b),
            };
            return Ok(ParsedUrl {
                addr,
                db,
                username,
                password,
                protocol,
                sentinel_username,
                sentinel_password,
            });
        }
        other => {
            return Err(format!(
                "unknown URL scheme {other:?}; expected redis, rediss, redis+unix, unix, \
                 redis+cluster, rediss+cluster, redis+sentinel, rediss+sentinel, keydb, keydbs, \
                 dragonfly, valkey or valkeys"
            ));
        }
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let (username, password) = parse_userinfo(userinfo)?;
    let (host, port) = parse_hostport(authority)?;
    let path = path.trim_end_matches('/');
    let db_path = if path.is_empty() {
        None
    } else {
        Some(parse_db(path)?)
    };
    let db = match (db_path, db_query) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "the URL names two databases: /{a} in the path and ?db={b} in the query"
            ));
        }
        (a, b) => a.or(b),
    };
    Ok(ParsedUrl {
        addr: Addr::Tcp { host, port, tls },
        db,
        username,
        password,
        protocol,
        sentinel_username,
        sentinel_password,
    })
}

/// The userinfo of `user:pass@authority/path`: everything before the last `@` (a password
/// may contain `@`; `redact` splits the same way).
fn split_userinfo(s: &str) -> (Option<&str>, &str) {
    match s.rfind('@') {
        Some(i) => (Some(&s[..i]), &s[i + 1..]),
        None => (None, s),
    }
}

fn parse_userinfo(info: Option<&str>) -> Result<(Option<String>, Option<Secret>), String> {
    let Some(info) = info else {
        return Ok((None, None));
    };
    let (user, pass) = match info.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (info, None),
    };
    let user = (!user.is_empty())
        .then(|| percent_decode(user))
        .transpose()?;
    let pass = pass
        .filter(|p| !p.is_empty())
        .map(|p| {
            percent_decode(p)
                .map(Secret)
                .map_err(|_| "the password is not valid percent-encoding".to_owned())
        })
        .transpose()?;
    Ok((user, pass))
}

fn parse_hostport(s: &str) -> Result<(String, u16), String> {
    parse_hostport_or(s, 6379)
}

/// `host[:port]` or `[v6host][:port]`, with `default_port` when there is none.
pub(crate) fn parse_hostport_or(s: &str, default_port: u16) -> Result<(String, u16), String> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or("unclosed [ in an IPv6 host")?;
        let host = &rest[..end];
        let after = &rest[end + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(format!("unexpected {after:?} after the IPv6 host")),
        };
        (host, port)
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    let port = match port {
        None | Some("") => default_port,
        Some(p) => parse_port(p)?,
    };
    Ok((percent_decode(host)?, port))
}

pub(crate) fn parse_port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) => Err("port 0 is not a valid port".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("{p:?} is not a port (1-65535)")),
    }
}

/// The highest db index accepted (Redis's `databases` setting is an int).
pub(crate) const MAX_DB: i64 = i32::MAX as i64;

pub(crate) fn parse_db(s: &str) -> Result<i64, String> {
    let db: i64 = s
        .parse()
        .map_err(|_| format!("{s:?} is not a database number"))?;
    check_db(db)
}

pub(crate) fn check_db(db: i64) -> Result<i64, String> {
    if (0..=MAX_DB).contains(&db) {
        Ok(db)
    } else {
        Err(format!("database {db} is out of range (0-{MAX_DB})"))
    }
}

fn percent_decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or("truncated percent-escape")?;
            let hex = std::str::from_utf8(hex).map_err(|_| "bad percent-escape")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "bad percent-escape")?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-escapes do not form UTF-8".into())
}

/// A URL with any password replaced by `***`, for messages.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL at all: it could be a bare password pasted in the wrong place.
        return "<the given value>".into();
    };
    let rest = redact_query(rest);
    // As in `parse_url`: the credentials are everything up to the last `@`.
    match rest.rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_owned()
            };
            format!("{scheme}://{masked}@{}", &rest[at + 1..])
        }
        None => format!("{scheme}://{rest}"),
    }
}

/// `s` with the value of any `sentinel_password=` query parameter replaced by `***`.
fn redact_query(s: &str) -> String {
    const KEY: &str = "sentinel_password=";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(KEY) {
        let (head, tail) = rest.split_at(i + KEY.len());
        out.push_str(head);
        out.push_str("***");
        rest = &tail[tail.find('&').unwrap_or(tail.len())..];
    }
    out.push_str(rest);
    out
}

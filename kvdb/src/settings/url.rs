//! Parsing and redacting Redis URLs. Pure: no I/O.
//!
//! Single-server URLs: `redis://`, `rediss://` (TLS), `redis+unix://`/`unix://` and kvdb-py's
//! aliases. Multi-node addresses:
//!
//! | form | meaning |
//! |---|---|
//! | `redis+cluster://[user[:pass]@]h1:p1,h2:p2[/0]` | a cluster, from any of its nodes (port 6379 if none); the db must be 0 |
//! | `redis+sentinel://[user[:pass]@]s1:p1,s2:p2/mymaster[/db][?sentinel_username=u&sentinel_password=p]` | the primary the sentinels (port 26379 if none) name `mymaster` |
//!
//! `rediss+cluster://` and `rediss+sentinel://` use TLS to every node (and sentinel).
//! The userinfo holds the data nodes' credentials (cluster nodes, the sentinel-managed primary
//! and replicas); the sentinels' own are the `sentinel_*` query parameters. The node list is
//! sorted and deduplicated, so that `h2,h1` and `h1,h2` are one connection fingerprint.

use std::path::PathBuf;

use super::{Addr, Node, Protocol, Secret};

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
    // Every scheme gives the address and the db of its path, if any.
    let (addr, db_path) = match scheme.as_str() {
        "redis" | "keydb" | "dragonfly" | "valkey" | "rediss" | "keydbs" | "valkeys" => {
            let tls = matches!(scheme.as_str(), "rediss" | "keydbs" | "valkeys");
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i + 1..]),
                None => (rest, ""),
            };
            let (host, port) = parse_hostport(authority)?;
            let path = path.trim_end_matches('/');
            let db_path = if path.is_empty() {
                None
            } else {
                Some(parse_db(path)?)
            };
            (Addr::Tcp { host, port, tls }, db_path)
        }
        "redis+unix" | "unix" => {
            if rest.is_empty() {
                return Err("a unix socket URL needs a path: redis+unix:///run/redis.sock".into());
            }
            (Addr::Unix(PathBuf::from(percent_decode(rest)?)), None)
        }
        "redis+cluster" | "valkey+cluster" | "redis+sentinel" | "valkey+sentinel"
        | "rediss+cluster" | "valkeys+cluster" | "rediss+sentinel" | "valkeys+sentinel" => {
            let sentinel = scheme.ends_with("+sentinel");
            let tls = scheme.starts_with("rediss") || scheme.starts_with("valkeys");
            parse_multi(rest, sentinel, tls)?
        }
        other => {
            return Err(format!(
                "unknown URL scheme {other:?}; expected redis, rediss, redis+unix, unix, \
                 redis+cluster, rediss+cluster, redis+sentinel, rediss+sentinel, keydb, keydbs, \
                 dragonfly, valkey or valkeys"
            ));
        }
    };
    let (username, password) = parse_userinfo(userinfo)?;
    let db = match (db_path, db_query) {
        (Some(a), Some(b)) if a != b => {
            return Err(format!(
                "the URL names two databases: /{a} in the path and ?db={b} in the query"
            ));
        }
        (a, b) => a.or(b),
    };
    Ok(ParsedUrl {
        addr,
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

/// The default port of a sentinel.
pub(crate) const SENTINEL_PORT: u16 = 26379;

/// Parses `h1:p1,h2:p2` (cluster) or `s1:p1,s2:p2/master[/db]` (sentinel), the part of a URL
/// after the userinfo; returns the address and the db of the path, if any.
pub(crate) fn parse_multi(
    rest: &str,
    sentinel: bool,
    tls: bool,
) -> Result<(Addr, Option<i64>), String> {
    let (hosts, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let default_port = if sentinel { SENTINEL_PORT } else { 6379 };
    let nodes = parse_nodes(hosts.split(','), default_port)?;
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    if sentinel {
        let master = parts.next().ok_or(
            "a sentinel URL needs the master name after the hosts: \
             redis+sentinel://host:26379/mymaster",
        )?;
        let db = parts.next().map(parse_db).transpose()?;
        if let Some(extra) = parts.next() {
            return Err(format!("unexpected {extra:?} after the sentinel URL's db"));
        }
        Ok((
            Addr::Sentinel {
                sentinels: nodes,
                master: master.to_owned(),
                tls,
            },
            db,
        ))
    } else {
        let db = parts.next().map(parse_db).transpose()?;
        if let Some(extra) = parts.next() {
            return Err(format!("unexpected {extra:?} after the cluster URL's db"));
        }
        Ok((Addr::Cluster { nodes, tls }, db))
    }
}

/// Parses `host:port` strings into a sorted list without duplicates; at least one.
pub(crate) fn parse_nodes<'a>(
    items: impl IntoIterator<Item = &'a str>,
    default_port: u16,
) -> Result<Vec<Node>, String> {
    let mut nodes = Vec::new();
    for item in items {
        let item = item.trim();
        if item.is_empty() {
            return Err("an empty host in the node list".into());
        }
        let (host, port) = parse_hostport_or(item, default_port)?;
        nodes.push(Node { host, port });
    }
    if nodes.is_empty() {
        return Err("the node list is empty".into());
    }
    nodes.sort();
    nodes.dedup();
    Ok(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(h: &str, p: u16) -> Node {
        Node {
            host: h.into(),
            port: p,
        }
    }

    #[test]
    fn cluster_urls() {
        let p = parse_url("redis+cluster://b:7001,a:7000,a:7000").unwrap();
        assert_eq!(
            p.addr,
            Addr::Cluster {
                nodes: vec![node("a", 7000), node("b", 7001)],
                tls: false
            }
        );
        assert_eq!(p.db, None);
        let p = parse_url("redis+cluster://u:pw@[::1]:7000,h/0").unwrap();
        assert_eq!(
            p.addr,
            Addr::Cluster {
                nodes: vec![node("::1", 7000), node("h", 6379)],
                tls: false
            }
        );
        assert_eq!(p.username.as_deref(), Some("u"));
        assert_eq!(p.db, Some(0));
        assert!(parse_url("redis+cluster://a:7000,,b:7001").is_err());
        assert!(parse_url("redis+cluster://a:0").is_err());
        assert!(parse_url("redis+cluster://").is_err());
        let p = parse_url("rediss+cluster://a:7000").unwrap();
        assert!(matches!(p.addr, Addr::Cluster { tls: true, .. }), "{p:?}");
        let p = parse_url("valkeys+cluster://a:7000").unwrap();
        assert!(p.addr.tls());
        let e = parse_url("redis+cluster://a:7000?sentinel_password=x").unwrap_err();
        assert!(e.contains("sentinel URLs") && !e.contains('x'), "{e}");
    }

    #[test]
    fn sentinel_urls() {
        let p = parse_url("redis+sentinel://s2:5001,s1/mymaster/3").unwrap();
        assert_eq!(
            p.addr,
            Addr::Sentinel {
                sentinels: vec![node("s1", SENTINEL_PORT), node("s2", 5001)],
                master: "mymaster".into(),
                tls: false
            }
        );
        assert_eq!(p.db, Some(3));
        let p = parse_url("redis+sentinel://:pw@s1:5000/m").unwrap();
        assert_eq!(p.db, None);
        assert!(p.password.is_some());
        let e = parse_url("redis+sentinel://s1:5000").unwrap_err();
        assert!(e.contains("master name"), "{e}");
        assert!(parse_url("redis+sentinel://s1/m/1/x").is_err());
        assert!(parse_url("redis+sentinel://s1/m/notadb").is_err());
        let p = parse_url(
            "rediss+sentinel://u:pw@s1/m/1?sentinel_username=watch&sentinel_password=s%40cret",
        )
        .unwrap();
        assert!(p.addr.tls());
        assert_eq!(p.sentinel_username.as_deref(), Some("watch"));
        assert_eq!(p.sentinel_password.map(|s| s.0).as_deref(), Some("s@cret"));
        assert_eq!(p.username.as_deref(), Some("u"));
    }

    #[test]
    fn sentinel_passwords_are_redacted_from_urls() {
        let r = redact("redis+sentinel://u:pw@s1/m/0?sentinel_password=hidden&sentinel_username=w");
        assert_eq!(
            r,
            "redis+sentinel://u:***@s1/m/0?sentinel_password=***&sentinel_username=w"
        );
        let r = redact("redis+sentinel://s1/m?sentinel_password=hidden");
        assert_eq!(r, "redis+sentinel://s1/m?sentinel_password=***");
    }
}

//! Multi-node addresses: Redis Cluster seed nodes and Sentinels. Pure: no I/O.
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

use crate::settings::{Addr, Node, parse_db, parse_hostport_or};

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
    use crate::settings::parse_url;

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
        let r = crate::settings::redact(
            "redis+sentinel://u:pw@s1/m/0?sentinel_password=hidden&sentinel_username=w",
        );
        assert_eq!(
            r,
            "redis+sentinel://u:***@s1/m/0?sentinel_password=***&sentinel_username=w"
        );
        let r = crate::settings::redact("redis+sentinel://s1/m?sentinel_password=hidden");
        assert_eq!(r, "redis+sentinel://s1/m?sentinel_password=***");
    }
}

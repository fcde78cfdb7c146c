//! [`KVDBClient`]: the process-wide session manager.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, Weak};

use crate::error::{Error, Result};
use crate::options::{Resolved, SessionOptions};
use crate::pool::Pool;
use crate::session::Session;
use crate::settings::ConnectionSettings;

#[derive(Default)]
struct Registry {
    sessions: HashMap<String, Session>,
    pools: HashMap<ConnectionSettings, Weak<Pool>>,
}

static REGISTRY: LazyLock<Mutex<Registry>> = LazyLock::new(Default::default);

fn registry() -> MutexGuard<'static, Registry> {
    // A panic while holding the lock cannot leave the maps half-updated (every update is a
    // single insert or remove), so a poisoned lock is safe to reuse.
    REGISTRY.lock().unwrap_or_else(|p| p.into_inner())
}

/// The process-wide session manager, as in kvdb-py.
///
/// Sessions are named. Sessions whose connection settings are equal share one connection pool
/// (sync) and one multiplexed connection (async); serializer and compression belong to each
/// session, above the connection. `get_session` does no I/O: connections open on first use.
///
/// ```
/// use kvdb::{KVDBClient, Serializer, SessionOptions};
///
/// let a = KVDBClient::get_session(SessionOptions::new("doc-a").url("redis://localhost:6379/0"))?;
/// let b = KVDBClient::get_session(
///     SessionOptions::new("doc-b").url("redis://localhost:6379/0").serializer(Serializer::Json),
/// )?;
/// assert!(a.shares_pool_with(&b)); // same server, different codec: one pool
/// // Same name, same options: the same session.
/// let a2 = KVDBClient::get_session(SessionOptions::new("doc-a").url("redis://localhost:6379/0"))?;
/// assert!(a.shares_pool_with(&a2));
/// KVDBClient::close("doc-a");
/// KVDBClient::close("doc-b");
/// # Ok::<(), kvdb::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct KVDBClient;

impl KVDBClient {
    /// Returns the session named `options.name()`, creating it if needed.
    ///
    /// If a session of that name exists with equal settings, it is returned; with different
    /// settings, [`Error::SessionConflict`] names the settings that differ (use
    /// [`replace_session`](Self::replace_session) to swap it). Invalid options fail here,
    /// before any connection is made.
    pub fn get_session(options: SessionOptions) -> Result<Session> {
        let resolved = options.resolve()?;
        let mut reg = registry();
        if let Some(existing) = reg.sessions.get(&options.name) {
            let diff = existing.resolved().differences(&resolved);
            if diff.is_empty() {
                return Ok(existing.clone());
            }
            return Err(Error::SessionConflict {
                name: options.name.clone(),
                differences: diff.join(", "),
            });
        }
        let session = make_session(&mut reg, options, resolved)?;
        reg.sessions
            .insert(session.name().to_owned(), session.clone());
        Ok(session)
    }

    /// Creates or replaces the session named `options.name()`. The old session's handles keep
    /// working; its pool closes when nothing uses it any more.
    pub fn replace_session(options: SessionOptions) -> Result<Session> {
        let resolved = options.resolve()?;
        let mut reg = registry();
        let session = make_session(&mut reg, options, resolved)?;
        reg.sessions
            .insert(session.name().to_owned(), session.clone());
        Ok(session)
    }

    /// The session named `name`, if one is registered.
    pub fn session(name: &str) -> Option<Session> {
        registry().sessions.get(name).cloned()
    }

    /// The names of the registered sessions, sorted.
    pub fn sessions() -> Vec<String> {
        let mut names: Vec<String> = registry().sessions.keys().cloned().collect();
        names.sort();
        names
    }

    /// Removes the session named `name` from the registry; returns whether it existed. Its
    /// connections close when the last handle to it (and to its pool) is dropped.
    pub fn close(name: &str) -> bool {
        registry().sessions.remove(name).is_some()
    }

    /// Removes every session.
    pub fn close_all() {
        let mut reg = registry();
        reg.sessions.clear();
        reg.pools.retain(|_, p| p.strong_count() > 0);
    }
}

fn make_session(
    reg: &mut Registry,
    options: SessionOptions,
    resolved: Resolved,
) -> Result<Session> {
    reg.pools.retain(|_, p| p.strong_count() > 0);
    let pool = match reg.pools.get(&resolved.conn).and_then(Weak::upgrade) {
        Some(pool) => pool,
        None => {
            let pool = Arc::new(Pool::new(resolved.conn.clone())?);
            reg.pools
                .insert(resolved.conn.clone(), Arc::downgrade(&pool));
            pool
        }
    };
    Ok(Session::new(options, resolved, pool))
}

impl Resolved {
    /// The names (and values, passwords redacted) of the settings that differ.
    pub(crate) fn differences(&self, other: &Resolved) -> Vec<String> {
        let mut out = Vec::new();
        let (a, b) = (&self.conn, &other.conn);
        if a.password != b.password {
            out.push("password (*** vs ***)".into());
        }
        let mut check = |name: &str, a: String, b: String| {
            if a != b {
                out.push(format!("{name} ({a} vs {b})"));
            }
        };
        check("url", a.to_string(), b.to_string());
        check(
            "protocol",
            format!("{:?}", a.protocol),
            format!("{:?}", b.protocol),
        );
        check(
            "connect_timeout",
            format!("{:?}", a.connect_timeout),
            format!("{:?}", b.connect_timeout),
        );
        check(
            "response_timeout",
            format!("{:?}", a.response_timeout),
            format!("{:?}", b.response_timeout),
        );
        check(
            "pool_size",
            a.pool_size.to_string(),
            b.pool_size.to_string(),
        );
        check(
            "pool_timeout",
            format!("{:?}", a.pool_timeout),
            format!("{:?}", b.pool_timeout),
        );
        check(
            "client_name",
            format!("{:?}", a.client_name),
            format!("{:?}", b.client_name),
        );
        check(
            "read_from_replicas",
            a.read_from_replicas.to_string(),
            b.read_from_replicas.to_string(),
        );
        let (a, b) = (&self.encoder, &other.encoder);
        check(
            "serializer",
            a.serializer.to_string(),
            b.serializer.to_string(),
        );
        check(
            "serializer_options",
            format!("{:?}", a.serializer_options),
            format!("{:?}", b.serializer_options),
        );
        check(
            "compression",
            a.compression.algorithm.to_string(),
            b.compression.algorithm.to_string(),
        );
        check(
            "compression_level",
            a.compression.level.to_string(),
            b.compression.level.to_string(),
        );
        check(
            "compression_min_size",
            a.compression.min_size.to_string(),
            b.compression.min_size.to_string(),
        );
        let (a, b) = (&self.limits, &other.limits);
        check(
            "max_value_size",
            a.max_value_size.to_string(),
            b.max_value_size.to_string(),
        );
        check(
            "max_decompressed_size",
            a.max_decompressed_size.to_string(),
            b.max_decompressed_size.to_string(),
        );
        out
    }
}

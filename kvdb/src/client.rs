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
            if *existing.resolved() == resolved {
                return Ok(existing.clone());
            }
            return Err(Error::SessionConflict {
                name: options.name.clone(),
                differences: existing.resolved().differences(&resolved).join(", "),
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

    /// What each live connection pool knows about its deployment, for operators: its mode,
    /// the nodes known, the primary a sentinel session reaches, its open connections. No
    /// I/O: this reads what the pools last saw (see [`check_health`](Self::check_health)
    /// for a round trip). One entry per pool, sorted by URL; passwords show as `***`.
    ///
    /// ```
    /// use kvdb::{KVDBClient, Mode, SessionOptions};
    ///
    /// let s = KVDBClient::get_session(
    ///     SessionOptions::new("doc-health").url("redis://:s3cret@10.0.0.1:6380/0"),
    /// )?;
    /// let pool = KVDBClient::health()
    ///     .into_iter()
    ///     .find(|p| p.sessions.contains(&"doc-health".to_string()))
    ///     .unwrap();
    /// assert_eq!(pool.mode, Mode::Single);
    /// assert_eq!(pool.nodes, ["10.0.0.1:6380"]);
    /// assert_eq!(pool.url, "redis://:***@10.0.0.1:6380/0");
    /// assert_eq!(pool.connections, 0); // no connection yet
    /// # KVDBClient::close("doc-health");
    /// # Ok::<(), kvdb::Error>(())
    /// ```
    pub fn health() -> Vec<crate::PoolHealth> {
        pools_health(|pool| pool.health())
    }

    /// [`health`](Self::health), after one `PING` through each pool's sync side (which
    /// opens a connection if none is idle: for a sentinel session, through the sentinels;
    /// for a cluster, to every primary), and for a cluster a `CLUSTER SLOTS` that refreshes
    /// the nodes known. Each entry's `check` holds the round trip's time or its error. The
    /// pools are checked one after the other, each within its own timeouts.
    pub fn check_health() -> Vec<crate::PoolHealth> {
        pools_health(|pool| {
            let started = std::time::Instant::now();
            let check = pool
                .sync
                .check()
                .map(|()| started.elapsed())
                .map_err(|e| e.to_string());
            let mut health = pool.health();
            health.check = Some(check);
            health
        })
    }

    /// Removes every session.
    pub fn close_all() {
        let mut reg = registry();
        reg.sessions.clear();
        reg.pools.retain(|_, p| p.strong_count() > 0);
    }
}

/// `f` of every live pool, with the names of the registered sessions that use it; sorted by
/// URL. The registry is not locked while `f` runs (it may do I/O).
fn pools_health(f: impl Fn(&Pool) -> crate::PoolHealth) -> Vec<crate::PoolHealth> {
    let (pools, sessions): (Vec<Arc<Pool>>, Vec<Session>) = {
        let reg = registry();
        (
            reg.pools.values().filter_map(Weak::upgrade).collect(),
            reg.sessions.values().cloned().collect(),
        )
    };
    let mut out: Vec<crate::PoolHealth> = pools
        .iter()
        .map(|pool| {
            let mut health = f(pool);
            health.sessions = sessions
                .iter()
                .filter(|s| std::ptr::eq(s.pool(), &**pool))
                .map(|s| s.name().to_owned())
                .collect();
            health.sessions.sort();
            health
        })
        .collect();
    out.sort_by(|a, b| a.url.cmp(&b.url));
    out
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

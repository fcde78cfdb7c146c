//! The bounded pool of blocking connections behind a sync session.
//!
//! A checkout takes an idle connection that still looks usable (checked without a round trip),
//! or opens a new one *in the caller's thread* when the pool has room, or waits for one to be
//! returned. So a server that cannot be reached fails the call with the real cause within the
//! connect timeout, and only a pool whose connections are all busy makes a caller wait the pool
//! timeout. Nothing connects in the background.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Opens and judges the connections of a [`ConnPool`].
pub(crate) trait Connector: Send + Sync {
    /// A connection.
    type Conn: Send;
    /// Opens a connection (in the calling thread, within the connect timeout).
    fn connect(&self) -> redis::RedisResult<Self::Conn>;
    /// Whether an idle connection may be handed out: cheap, no round trip.
    fn is_usable(&self, conn: &mut Self::Conn) -> bool;
    /// Whether a connection given back must be dropped instead of kept.
    fn has_broken(&self, conn: &mut Self::Conn) -> bool;
}

/// Why a checkout failed.
pub(crate) enum CheckoutError {
    /// A new connection could not be opened.
    Connect(redis::RedisError),
    /// Every connection stayed busy for the whole pool timeout.
    Exhausted { size: u32, waited: Duration },
}

struct Idle<C> {
    conn: C,
    /// The pool's epoch when the connection was opened.
    epoch: u64,
}

struct State<C> {
    idle: Vec<Idle<C>>,
    /// Connections idle, checked out, or being opened.
    open: u32,
    /// Callers waiting for a connection to be returned (a notification costs a system call:
    /// only made when someone waits).
    waiting: u32,
}

/// A pool's connections at one moment (for [`KVDBClient::health`](crate::KVDBClient::health)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PoolState {
    /// Connections idle, checked out, or being opened.
    pub(crate) connections: u32,
    /// Connections idle in the pool.
    pub(crate) idle_connections: u32,
}

/// A bounded pool of connections.
pub(crate) struct ConnPool<M: Connector> {
    connector: M,
    state: Mutex<State<M::Conn>>,
    returned: Condvar,
    size: u32,
    timeout: Duration,
    /// Bumped when a connection was lost: idle connections opened before are not handed out
    /// again (a server restart or `CLIENT KILL` took them all).
    epoch: AtomicU64,
}

impl<M: Connector> ConnPool<M> {
    pub(crate) fn new(connector: M, size: u32, timeout: Duration) -> Self {
        ConnPool {
            connector,
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
                waiting: 0,
            }),
            returned: Condvar::new(),
            size: size.max(1),
            timeout,
            epoch: AtomicU64::new(0),
        }
    }

    #[cfg(test)]
    fn connector(&self) -> &M {
        &self.connector
    }

    fn lock(&self) -> MutexGuard<'_, State<M::Conn>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many connections are open (idle, checked out or being opened) and idle.
    pub(crate) fn state(&self) -> PoolState {
        let state = self.lock();
        PoolState {
            connections: state.open,
            idle_connections: u32::try_from(state.idle.len()).unwrap_or(u32::MAX),
        }
    }

    /// Forgets the idle connections opened until now (they are closed as they are found).
    pub(crate) fn connection_lost(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// A usable idle connection, a new one, or one returned within the pool timeout.
    pub(crate) fn get(&self) -> Result<Pooled<'_, M>, CheckoutError> {
        // The clock is read only when the caller has to wait.
        let mut started = None;
        let mut state = self.lock();
        loop {
            while let Some(mut idle) = state.idle.pop() {
                let fresh = idle.epoch >= self.epoch.load(Ordering::Acquire);
                if fresh && self.connector.is_usable(&mut idle.conn) {
                    return Ok(self.pooled(idle.conn, idle.epoch));
                }
                state.open -= 1;
                // Closed outside the lock.
                drop(state);
                drop(idle);
                state = self.lock();
            }
            if state.open < self.size {
                state.open += 1;
                drop(state);
                let epoch = self.epoch.load(Ordering::Acquire);
                return match self.connector.connect() {
                    Ok(conn) => Ok(self.pooled(conn, epoch)),
                    Err(e) => {
                        let mut state = self.lock();
                        state.open -= 1;
                        let waiting = state.waiting > 0;
                        drop(state);
                        if waiting {
                            self.returned.notify_one();
                        }
                        Err(CheckoutError::Connect(e))
                    }
                };
            }
            let now = Instant::now();
            let started = *started.get_or_insert(now);
            let deadline = started + self.timeout;
            if now >= deadline {
                return Err(CheckoutError::Exhausted {
                    size: self.size,
                    waited: now - started,
                });
            }
            state.waiting += 1;
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            state.waiting -= 1;
        }
    }

    fn pooled(&self, conn: M::Conn, epoch: u64) -> Pooled<'_, M> {
        Pooled {
            pool: self,
            conn: Some(conn),
            epoch,
        }
    }

    fn put_back(&self, mut conn: M::Conn, epoch: u64) {
        let keep = !self.connector.has_broken(&mut conn);
        let mut state = self.lock();
        if keep {
            state.idle.push(Idle { conn, epoch });
        } else {
            state.open -= 1;
        }
        let waiting = state.waiting > 0;
        drop(state);
        if waiting {
            self.returned.notify_one();
        }
    }
}

/// A checked-out connection, given back to its pool when dropped.
pub(crate) struct Pooled<'a, M: Connector> {
    pool: &'a ConnPool<M>,
    conn: Option<M::Conn>,
    epoch: u64,
}

impl<M: Connector> std::ops::Deref for Pooled<'_, M> {
    type Target = M::Conn;
    fn deref(&self) -> &M::Conn {
        #[allow(clippy::expect_used)]
        self.conn
            .as_ref()
            .expect("a pooled connection is present until dropped")
    }
}

impl<M: Connector> std::ops::DerefMut for Pooled<'_, M> {
    fn deref_mut(&mut self) -> &mut M::Conn {
        #[allow(clippy::expect_used)]
        self.conn
            .as_mut()
            .expect("a pooled connection is present until dropped")
    }
}

impl<M: Connector> Drop for Pooled<'_, M> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put_back(conn, self.epoch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// Connections are numbers; `usable` decides the idle check.
    struct Numbers {
        next: AtomicU64,
        usable: AtomicBool,
        refuse: AtomicBool,
    }

    impl Connector for Numbers {
        type Conn = u64;
        fn connect(&self) -> redis::RedisResult<u64> {
            if self.refuse.load(Ordering::Relaxed) {
                return Err(std::io::Error::from(std::io::ErrorKind::ConnectionRefused).into());
            }
            Ok(self.next.fetch_add(1, Ordering::Relaxed))
        }
        fn is_usable(&self, _: &mut u64) -> bool {
            self.usable.load(Ordering::Relaxed)
        }
        fn has_broken(&self, _: &mut u64) -> bool {
            false
        }
    }

    fn pool(size: u32) -> ConnPool<Numbers> {
        let numbers = Numbers {
            next: AtomicU64::new(0),
            usable: AtomicBool::new(true),
            refuse: AtomicBool::new(false),
        };
        ConnPool::new(numbers, size, Duration::from_millis(50))
    }

    #[test]
    fn an_idle_connection_is_reused_and_an_unusable_one_replaced() {
        let p = pool(2);
        let first = *p.get().ok().unwrap();
        assert_eq!(
            *p.get().ok().unwrap(),
            first,
            "the idle connection is reused"
        );
        p.connector().usable.store(false, Ordering::Relaxed);
        let next = *p.get().ok().unwrap();
        assert_ne!(next, first, "an unusable idle connection is replaced");
        p.connector().usable.store(true, Ordering::Relaxed);
        p.connection_lost();
        assert_ne!(
            *p.get().ok().unwrap(),
            next,
            "connections older than a loss are replaced"
        );
    }

    #[test]
    fn a_refused_connection_fails_at_once_and_frees_its_place() {
        let p = pool(1);
        p.connector().refuse.store(true, Ordering::Relaxed);
        assert!(matches!(p.get(), Err(CheckoutError::Connect(_))));
        p.connector().refuse.store(false, Ordering::Relaxed);
        assert!(p.get().is_ok(), "the failed attempt gave its place back");
    }

    #[test]
    fn a_full_pool_waits_the_pool_timeout() {
        let p = pool(1);
        let held = p.get().ok().unwrap();
        match p.get() {
            Err(CheckoutError::Exhausted { size, waited }) => {
                assert_eq!(size, 1);
                assert!(waited >= Duration::from_millis(50), "{waited:?}");
            }
            _ => panic!("expected the pool to be exhausted"),
        }
        drop(held);
        assert!(p.get().is_ok());
    }
}

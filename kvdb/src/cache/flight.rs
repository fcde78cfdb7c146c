//! Single flight inside one process: of the callers that miss the same key on the same pool
//! at once, one (the leader) goes to Redis; the others wait here for it to finish, then read
//! what it stored. This keeps 64 threads from holding 64 pooled connections in blocking pops;
//! across processes the Redis lock of `flow.rs` does the same job.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::time::Instant;

type Id = (usize, String);

static FLIGHTS: LazyLock<Mutex<HashMap<Id, Arc<Flight>>>> = LazyLock::new(Default::default);

fn flights() -> MutexGuard<'static, HashMap<Id, Arc<Flight>>> {
    FLIGHTS.lock().unwrap_or_else(|e| e.into_inner())
}

/// One computation in progress.
pub(crate) struct Flight {
    done: Mutex<bool>,
    cond: Condvar,
    #[cfg(feature = "async")]
    notify: tokio::sync::Notify,
}

/// What a caller is for its key.
pub(crate) enum Role {
    /// Goes to Redis; the flight ends when this is dropped.
    Leader(#[allow(dead_code)] Leader),
    /// Waits for the leader.
    Follower(Arc<Flight>),
}

/// Ends its flight (and wakes the followers) when dropped, however the leader finishes.
pub(crate) struct Leader {
    id: Id,
    flight: Arc<Flight>,
}

/// Joins the flight of `key` on the pool `pool`, or starts it.
pub(crate) fn join(pool: usize, key: &str) -> Role {
    let id = (pool, key.to_owned());
    let mut map = flights();
    if let Some(f) = map.get(&id) {
        return Role::Follower(f.clone());
    }
    let flight = Arc::new(Flight {
        done: Mutex::new(false),
        cond: Condvar::new(),
        #[cfg(feature = "async")]
        notify: tokio::sync::Notify::new(),
    });
    map.insert(id.clone(), flight.clone());
    Role::Leader(Leader { id, flight })
}

impl Drop for Leader {
    fn drop(&mut self) {
        flights().remove(&self.id);
        *self.flight.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.flight.cond.notify_all();
        #[cfg(feature = "async")]
        self.flight.notify.notify_waiters();
    }
}

impl Flight {
    #[cfg(any(feature = "async", test))]
    fn is_done(&self) -> bool {
        *self.done.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks until the leader finishes or `deadline` passes.
    pub(crate) fn wait(&self, deadline: Instant) {
        let mut done = self.done.lock().unwrap_or_else(|e| e.into_inner());
        while !*done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            done = match self.cond.wait_timeout(done, left) {
                Ok((d, _)) => d,
                Err(e) => e.into_inner().0,
            };
        }
    }

    /// Waits until the leader finishes or `deadline` passes.
    #[cfg(feature = "async")]
    pub(crate) async fn wait_async(&self, deadline: Instant) {
        let notified = self.notify.notified();
        let mut notified = std::pin::pin!(notified);
        // Registered before the check, so a wake-up between the two is not lost.
        notified.as_mut().enable();
        if self.is_done() {
            return;
        }
        let _ = tokio::time::timeout_at(deadline.into(), notified).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn one_leader_and_followers_woken_when_it_ends() {
        let leader = join(1, "k");
        assert!(matches!(leader, Role::Leader(_)));
        let Role::Follower(f) = join(1, "k") else {
            panic!("a second caller must follow");
        };
        assert!(
            matches!(join(2, "k"), Role::Leader(_)),
            "another pool is another flight"
        );
        let waiter = std::thread::spawn(move || {
            f.wait(Instant::now() + Duration::from_secs(30));
            f.is_done()
        });
        std::thread::sleep(Duration::from_millis(20));
        drop(leader);
        assert!(
            waiter.join().unwrap(),
            "the follower must see the flight done"
        );
        assert!(
            matches!(join(1, "k"), Role::Leader(_)),
            "the flight is over"
        );
    }
}

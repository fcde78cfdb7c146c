//! One cache-aside call as a sans-I/O state machine: it says which command to send, when to
//! wait on a blocking pop and when to compute; the sync and async drivers (`driver.rs`) only
//! carry out its actions, so the logic exists once.
//!
//! ```text
//! GET key ── hit ──────────────────────────────────────────────▶ return (refresh-ahead: PTTL,
//!   │ miss                                      and if due, lock, then compute inline or detach
//!   │                                           a background flow that computes, stores, releases)
//!   ▼
//! lock script (SET lock token NX PX, or return the holder's token)
//!   │ taken: GET key again (someone may just have stored it) ── hit ─▶ release, return
//!   │        miss: compute, SET key value PX ttl, release (DEL lock if ours, RPUSH wake list)
//!   │ held by another: BLMOVE its wake list onto itself (waits for the push, up to the
//!   ▼                  wait / lock TTL, and leaves the element for the other waiters), GET again
//! ```

mod finish;

use std::time::{Duration, Instant};

use redis::Value;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::keys::{lock_key, new_token, wake_key};
use super::options::{CacheOptions, CallMode, WaitTimeout};
use super::{Outcome, observe};
use crate::core::{Core, unexpected};
use crate::error::{Error, KeyContext, Result};
use crate::retry::Safety;

/// Takes the lock, or returns the token of its holder.
const LOCK: &str = "local cur = redis.call('GET', KEYS[1]) \
    if cur then return cur end \
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return false";

/// What the driver must do next.
pub(crate) enum Action<T> {
    /// Send this command and come back with its reply; the safety says whether the driver
    /// may send it again after a lost connection (reads `read`, `SET`/`DEL` `idempotent`,
    /// the lock and release scripts `once`).
    Send(redis::Cmd, Safety),
    /// Send this blocking command (it waits up to the duration) and come back with its reply;
    /// never sent twice (a second wait would outlast the call's budget).
    Wait(redis::Cmd, Duration),
    /// Join the process's single flight for this key and come back with `Joined`.
    Join,
    /// Call the user's computation and come back with its value (or its failure).
    Compute,
    /// Run this flow (a refresh holding the lock) in the background with the user's
    /// computation, and come back with `Detached` at once.
    Detach(Box<Flow<T>>),
    /// Finished: the value, or `None` when the computation failed and nothing cached stands
    /// in for it (the driver then returns the computation's error).
    Return(Option<T>),
}

/// What the driver brings back.
pub(crate) enum Input<T> {
    /// The first call.
    Start,
    /// The reply to `Send` or `Wait`.
    Reply(Result<Value>),
    /// After `Join`: whether this call leads (goes to Redis) or followed (waited for the
    /// leader of its process).
    Joined { leader: bool },
    /// The computed value.
    Computed(T),
    /// The computation failed (its error stays with the driver).
    ComputeFailed,
    /// After `Detach`: the background refresh is under way.
    Detached,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    Invalidating,
    Looking,
    Joining,
    CheckingTtl,
    Locking { refresh: bool },
    Detaching,
    DoubleChecking,
    Waiting,
    Computing { store: bool, locked: bool },
    Storing { locked: bool },
    Releasing,
    Done,
}

/// One `get_or_set_with` call.
pub(crate) struct Flow<T> {
    core: Core,
    key: String,
    opts: CacheOptions,
    mode: CallMode,
    deadline: Instant,
    state: State,
    token: String,
    /// A value read from the cache, returned if a refresh fails.
    cached: Option<T>,
    /// The computed value, returned once stored.
    computed: Option<T>,
    waited: bool,
    /// Whether this call has been through the process's single flight.
    joined: bool,
    /// An error to return once the lock is released.
    failure: Option<Error>,
    /// Whether a due refresh may run in the background (the driver can move the computation
    /// into a thread or task); otherwise this call refreshes inline.
    detachable: bool,
    /// Whether this flow is such a background refresh: it never fails, it reports.
    background: bool,
}

impl<T: Serialize + DeserializeOwned> Flow<T> {
    pub(crate) fn new(core: Core, key: String, opts: CacheOptions, mode: CallMode) -> Self {
        let deadline = Instant::now() + opts.wait;
        Flow {
            core,
            key,
            opts,
            mode,
            deadline,
            state: State::Start,
            token: String::new(),
            cached: None,
            computed: None,
            waited: false,
            joined: false,
            failure: None,
            detachable: false,
            background: false,
        }
    }

    /// Lets a due refresh-ahead run in the background: the driver can run a detached flow.
    pub(crate) fn detachable(mut self) -> Self {
        self.detachable = true;
        self
    }

    /// The background refresh this call hands over: it holds the lock (its token) and
    /// computes, stores and releases.
    fn detach(&mut self) -> Flow<T> {
        Flow {
            core: self.core,
            key: self.key.clone(),
            opts: self.opts.clone(),
            mode: self.mode,
            deadline: self.deadline,
            state: State::Computing {
                store: true,
                locked: true,
            },
            token: std::mem::take(&mut self.token),
            cached: None,
            computed: None,
            waited: false,
            joined: true,
            failure: None,
            detachable: false,
            background: true,
        }
    }

    /// The cache key.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// The time after which this call stops waiting for others.
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The next action, given what the previous one brought back. A background refresh
    /// never fails: whatever goes wrong is reported ([`Outcome::RefreshFailed`]) and it
    /// returns nothing.
    pub(crate) fn next(&mut self, input: Input<T>) -> Result<Action<T>> {
        let action = self.step(input);
        if !self.background {
            return action;
        }
        action.or_else(|_| Ok(self.done(None, Outcome::RefreshFailed)))
    }

    fn step(&mut self, input: Input<T>) -> Result<Action<T>> {
        let reply = match input {
            Input::Start => return Ok(self.start()),
            Input::Computed(v) => return self.computed(v),
            Input::ComputeFailed => return Ok(self.compute_failed()),
            Input::Joined { leader } => return Ok(self.joined(leader)),
            Input::Detached => {
                let cached = self.cached.take();
                return Ok(self.done(cached, Outcome::Hit));
            }
            Input::Reply(r) => r,
        };
        let reply = match reply {
            Ok(v) => v,
            Err(e) => return self.redis_failed(e),
        };
        match self.state {
            State::Invalidating => Ok(self.look()),
            State::Looking => self.looked(reply),
            State::CheckingTtl => Ok(self.checked_ttl(reply)),
            State::Locking { refresh } => self.locked(reply, refresh),
            State::DoubleChecking => self.double_checked(reply),
            State::Waiting => Ok(self.woken(reply)),
            State::Storing { locked: true } => Ok(self.release()),
            State::Storing { locked: false } | State::Releasing => self.finish_or_fail(),
            State::Start
            | State::Joining
            | State::Detaching
            | State::Computing { .. }
            | State::Done => Err(Error::Internal(format!(
                "cache flow got a reply in state {:?}",
                self.state
            ))),
        }
    }

    fn start(&mut self) -> Action<T> {
        if self.background {
            // A detached refresh starts where its caller left it: holding the lock.
            return Action::Compute;
        }
        if !self.opts.enabled {
            return self.compute(false, false);
        }
        match self.mode {
            CallMode::Bypass => self.compute(false, false),
            CallMode::Overwrite => self.compute(true, false),
            CallMode::Invalidate => {
                self.state = State::Invalidating;
                Action::Send(cmd("DEL").arg(&self.key).to_owned(), Safety::Idempotent)
            }
            CallMode::Normal => self.look(),
        }
    }

    fn look(&mut self) -> Action<T> {
        self.state = State::Looking;
        Action::Send(cmd("GET").arg(&self.key).to_owned(), Safety::Read)
    }

    fn decode(&self, reply: Value) -> Result<Option<T>> {
        self.core
            .decode_opt(reply, "GET")
            .map_err(|e| e.at_key(&self.key))
    }

    fn looked(&mut self, reply: Value) -> Result<Action<T>> {
        let Some(value) = self.decode(reply)? else {
            if !self.joined {
                self.joined = true;
                self.state = State::Joining;
                return Ok(Action::Join);
            }
            return Ok(self.lock(false));
        };
        match self.opts.refresh_ahead {
            Some(_) if !self.waited => {
                self.cached = Some(value);
                self.state = State::CheckingTtl;
                Ok(Action::Send(
                    cmd("PTTL").arg(&self.key).to_owned(),
                    Safety::Read,
                ))
            }
            _ => Ok(self.done(Some(value), hit(self.waited))),
        }
    }

    fn joined(&mut self, leader: bool) -> Action<T> {
        if leader {
            self.lock(false)
        } else {
            // The leader of this process has finished: it probably stored the value.
            self.waited = true;
            self.look()
        }
    }

    fn checked_ttl(&mut self, reply: Value) -> Action<T> {
        let window = self.opts.refresh_ahead.map(|w| w.as_millis()).unwrap_or(0);
        match reply {
            Value::Int(left) if left >= 0 && (left as u128) <= window => self.lock(true),
            _ => {
                let cached = self.cached.take();
                self.done(cached, Outcome::Hit)
            }
        }
    }

    fn lock(&mut self, refresh: bool) -> Action<T> {
        if self.token.is_empty() {
            self.token = new_token();
        }
        self.state = State::Locking { refresh };
        let mut c = cmd("EVAL");
        c.arg(LOCK)
            .arg(1)
            .arg(lock_key(&self.key))
            .arg(&self.token)
            .arg(millis(self.opts.lock_ttl));
        // Taking the lock twice would find our own token and wait for ourselves.
        Action::Send(c, Safety::Once)
    }

    fn locked(&mut self, reply: Value, refresh: bool) -> Result<Action<T>> {
        let holder = match reply {
            Value::Nil => None,
            Value::BulkString(b) => Some(String::from_utf8_lossy(&b).into_owned()),
            other => return Err(unexpected("EVAL", &other).at_key(&self.key)),
        };
        match (holder, refresh) {
            (None, true) if self.detachable => {
                self.state = State::Detaching;
                Ok(Action::Detach(Box::new(self.detach())))
            }
            (None, true) => Ok(self.compute(true, true)),
            (None, false) => {
                self.state = State::DoubleChecking;
                Ok(Action::Send(
                    cmd("GET").arg(&self.key).to_owned(),
                    Safety::Read,
                ))
            }
            // Someone else is refreshing: serve the cached value.
            (Some(_), true) => {
                let cached = self.cached.take();
                Ok(self.done(cached, Outcome::Hit))
            }
            (Some(holder), false) => self.wait_for(holder),
        }
    }

    fn double_checked(&mut self, reply: Value) -> Result<Action<T>> {
        match self.decode(reply)? {
            Some(value) => {
                self.cached = Some(value);
                Ok(self.release())
            }
            None => Ok(self.compute(true, true)),
        }
    }

    fn wait_for(&mut self, holder: String) -> Result<Action<T>> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return match self.opts.on_wait_timeout {
                WaitTimeout::Compute => Ok(self.compute(true, false)),
                _ => {
                    self.state = State::Done;
                    Err(Error::CacheWait {
                        key: KeyContext::of(self.key.clone()),
                        waited: self.opts.wait,
                    })
                }
            };
        }
        let wait = left.min(self.opts.lock_ttl).max(Duration::from_millis(1));
        // BLMOVE from the list to itself: waits for the holder's push and leaves the element
        // there (a rotation), so every waiter of this computation wakes, now or later.
        let wake = wake_key(&self.key, &holder);
        let mut c = cmd("BLMOVE");
        c.arg(&wake)
            .arg(&wake)
            .arg("LEFT")
            .arg("RIGHT")
            .arg(format!("{:.3}", wait.as_secs_f64()));
        self.state = State::Waiting;
        self.waited = true;
        Ok(Action::Wait(c, wait))
    }

    /// Woken by the holder, or timed out (the holder may have died: its lock expires):
    /// either way, look again.
    fn woken(&mut self, _reply: Value) -> Action<T> {
        self.look()
    }

    fn compute(&mut self, store: bool, locked: bool) -> Action<T> {
        self.state = State::Computing { store, locked };
        Action::Compute
    }

    fn done(&mut self, value: Option<T>, outcome: Outcome) -> Action<T> {
        self.state = State::Done;
        let outcome = match (self.opts.enabled, self.mode, self.background) {
            (_, _, true) if value.is_some() => Outcome::Refreshed,
            (_, _, true) => Outcome::RefreshFailed,
            (false, _, _) | (_, CallMode::Bypass, _) => Outcome::Bypassed,
            _ => outcome,
        };
        observe(&self.key, outcome);
        Action::Return(value)
    }
}

fn hit(waited: bool) -> Outcome {
    if waited {
        Outcome::Waited
    } else {
        Outcome::Hit
    }
}

fn cmd(name: &str) -> redis::Cmd {
    redis::cmd(name)
}

/// A duration in whole milliseconds, at least 1 (saturating).
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests;

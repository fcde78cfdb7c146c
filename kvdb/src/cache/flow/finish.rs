//! The end of a call: the computed value stored, the lock released and its waiters woken,
//! and what the call returns when the computation, the encoding or Redis failed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Action, Flow, State, cmd, millis};
use crate::cache::keys::{jittered, lock_key, random_u64, ttl_millis, wake_key};
use crate::cache::probe::{Kind, kind};
use crate::cache::{Outcome, observe};
use crate::error::{Error, Result};
use crate::retry::Safety;

/// Releases the lock if it is still ours and wakes the waiters of this computation.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end \
    redis.call('RPUSH', KEYS[2], '1') redis.call('PEXPIRE', KEYS[2], ARGV[2]) return 1";

impl<T: Serialize + DeserializeOwned> Flow<T> {
    pub(super) fn computed(&mut self, value: T) -> Result<Action<T>> {
        let State::Computing { store, locked } = self.state else {
            return Err(Error::Internal(
                "a value was computed that the cache flow did not ask for".into(),
            ));
        };
        let ttl = match kind(&value) {
            _ if !store => None,
            Kind::Value => Some(self.opts.ttl),
            Kind::Empty => self.opts.negative_ttl,
            Kind::Failure => self.opts.error_ttl,
        };
        let Some(ttl) = ttl else {
            // A refresh whose value is not to be stored (an `Err`, or `None` without a
            // negative TTL) failed: the old value stays.
            self.computed = Some(value).filter(|_| !self.background);
            return Ok(if locked {
                self.release()
            } else {
                self.finish()
            });
        };
        let ms = jittered(ttl_millis(ttl, "ttl")?, self.opts.jitter, random_u64());
        let mut c = cmd("SET");
        c.arg(&self.key);
        let encoded = self.core.encode_arg(&mut c, &value, None);
        self.computed = Some(value);
        if let Err(e) = encoded {
            // The value cannot be stored: release the lock (the waiters will compute), then
            // fail with the encoding error.
            self.failure = Some(e.at_key(&self.key));
            return if locked {
                Ok(self.release())
            } else {
                self.finish_or_fail()
            };
        }
        c.arg("PX").arg(ms);
        self.state = State::Storing { locked };
        // SET ... PX without a condition: twice stores the same value.
        Ok(Action::Send(c, Safety::Idempotent))
    }

    pub(super) fn compute_failed(&mut self) -> Action<T> {
        match self.state {
            State::Computing { locked: true, .. } => self.release(),
            _ => self.finish(),
        }
    }

    pub(super) fn release(&mut self) -> Action<T> {
        self.state = State::Releasing;
        let mut c = cmd("EVAL");
        c.arg(RELEASE)
            .arg(2)
            .arg(lock_key(&self.key))
            .arg(wake_key(&self.key, &self.token))
            .arg(&self.token)
            .arg(millis(self.opts.lock_ttl));
        // Compare-and-delete and a wake-up push: twice would push twice.
        Action::Send(c, Safety::Once)
    }

    pub(super) fn finish_or_fail(&mut self) -> Result<Action<T>> {
        match self.failure.take() {
            // A refresh that could not be stored failed, whatever it computed.
            Some(_) if self.background => Ok(self.done(None, Outcome::RefreshFailed)),
            // Failing open, a value that could not be stored is still the answer.
            Some(_) if self.opts.fail_open => {
                observe(&self.key, Outcome::Error);
                Ok(self.finish())
            }
            Some(e) => {
                self.state = State::Done;
                Err(e)
            }
            None => Ok(self.finish()),
        }
    }

    fn finish(&mut self) -> Action<T> {
        match self.computed.take() {
            Some(v) => self.done(Some(v), Outcome::Computed),
            None => {
                let cached = self.cached.take();
                let outcome = if cached.is_some() {
                    Outcome::Hit
                } else {
                    Outcome::ComputeFailed
                };
                self.done(cached, outcome)
            }
        }
    }

    pub(super) fn redis_failed(&mut self, e: Error) -> Result<Action<T>> {
        if self.background {
            // Stored, only the release failed (the lock expires): the refresh is done.
            // Otherwise it failed, and the old value stays.
            let stored = self.state == State::Releasing && self.computed.is_some();
            self.computed = self.computed.take().filter(|_| stored);
            return Ok(self.finish());
        }
        if !self.opts.fail_open {
            self.state = State::Done;
            return Err(e);
        }
        observe(&self.key, Outcome::Error);
        match self.state {
            // Nothing computed yet: compute without the cache.
            State::Storing { .. } | State::Releasing => Ok(self.finish()),
            _ => Ok(self.compute(false, false)),
        }
    }
}

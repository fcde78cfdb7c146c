//! A distributed lock: `SET key token NX PX ttl` to take it, a Lua compare-and-delete to
//! release it, so that only the holder (the one with the token) can release it.
//!
//! The lock expires after its ttl even if never released (a crashed holder cannot block
//! others for ever), so the ttl must cover the work done under the lock. Single-instance
//! locking, not Redlock: it is as safe as the one Redis server it lives on.

use std::hash::{BuildHasher, Hasher};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::Value;

use super::Attach;
use super::script::{Script, ScriptRun};
use crate::core::{Core, unexpected};
use crate::error::{Error, KeyContext, Result};
use crate::model::ttl::{TtlArg, ttl_arg};
use crate::transport::{Conversation, Step, map_conversation};

static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) \
         else return 0 end",
    )
});

static EXTEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) \
         else return 0 end",
    )
});

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A token no other holder has: 128 bits from the process's random hasher keys, the process
/// id, the time and a counter. Hex digits only (stored as a plain value).
fn new_token() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let word = |salt: u64| {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(salt);
        h.write_u64(n);
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.finish()
    };
    format!("{:016x}{:016x}", word(1), word(2))
}

/// How long to keep trying to take a lock.
#[derive(Clone, Copy)]
pub(crate) enum Wait {
    /// One attempt.
    Once,
    /// Until this long has passed.
    For(Duration),
    /// Until it is taken.
    Forever,
}

/// A lock that was taken: its key and the holder's token.
pub(crate) struct Acquired {
    key: String,
    token: String,
}

/// Tries `SET key token NX PX ttl`, sleeping between attempts while the wait allows.
pub(crate) struct Acquire {
    key: String,
    token: String,
    ttl: TtlArg,
    deadline: Option<Instant>,
    wait: Wait,
    attempts: u32,
}

pub(crate) fn acquire(name: &str, ttl: Duration, wait: Wait) -> Result<Acquire> {
    // Checked (and converted) once here, so that no attempt can send a bad TTL.
    let ttl = ttl_arg("lock", name, ttl)?;
    Ok(Acquire {
        key: name.to_owned(),
        token: new_token(),
        ttl,
        deadline: match wait {
            Wait::For(d) => Instant::now().checked_add(d),
            _ => None,
        },
        wait,
        attempts: 0,
    })
}

impl Acquire {
    fn attempt(&mut self) -> Step<Option<Acquired>> {
        self.attempts += 1;
        let mut cmd = redis::cmd("SET");
        let (option, n) = self.ttl.set_option();
        cmd.arg(&self.key)
            .arg(&self.token)
            .arg("NX")
            .arg(option)
            .arg(n);
        Step::Send(cmd)
    }

    /// The pause before the next attempt: 10 ms growing to 100 ms, with some jitter so that
    /// waiting contenders do not retry in step.
    fn pause(&self) -> Duration {
        let base = 10u64.saturating_mul(u64::from(self.attempts)).min(100);
        let jitter = u64::from_str_radix(&self.token[..4], 16).unwrap_or(0) % 10;
        Duration::from_millis(base + jitter)
    }
}

impl Conversation for Acquire {
    type Output = Option<Acquired>;

    fn needs_dedicated_connection(&self) -> bool {
        false
    }

    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<Self::Output>> {
        let Some(reply) = reply else {
            return Ok(self.attempt());
        };
        let taken = match reply {
            Ok(Value::Okay) => true,
            Ok(Value::Nil) => false,
            Ok(other) => return Err(unexpected("SET", &other).at_key(&self.key)),
            Err(source) => {
                return Err(Error::Redis {
                    key: KeyContext::of(self.key.clone()),
                    source,
                });
            }
        };
        if taken {
            return Ok(Step::Done(Some(Acquired {
                key: std::mem::take(&mut self.key),
                token: std::mem::take(&mut self.token),
            })));
        }
        let pause = self.pause();
        match (self.wait, self.deadline) {
            (Wait::Once, _) => Ok(Step::Done(None)),
            (Wait::Forever, _) | (Wait::For(_), None) => Ok(Step::Sleep(pause)),
            (Wait::For(_), Some(deadline)) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    Ok(Step::Done(None))
                } else {
                    // The last attempt happens at the deadline at the latest.
                    Ok(Step::Sleep(pause.min(left)))
                }
            }
        }
    }
}

fn release(core: &Core, name: &str, token: &str) -> Result<ScriptRun<i64>> {
    let call = RELEASE.call().key(name).arg(token);
    super::script::run::<i64>(core, call)
}

fn extend(core: &Core, name: &str, token: &str, ttl: Duration) -> Result<ScriptRun<i64>> {
    let ms = ttl_arg("lock", name, ttl)?.millis();
    let call = EXTEND.call().key(name).arg(token).arg(&ms);
    super::script::run::<i64>(core, call)
}

/// A held lock, from [`Session::lock`](crate::Session::lock) and friends; released when
/// dropped (or explicitly with [`release`](Self::release), which reports errors).
///
/// The lock lives for the `ttl` it was taken with (counted in whole milliseconds, `PX`),
/// whether or not the guard is dropped: if the work can outlast it, call
/// [`extend`](Self::extend) before it runs out, or another process may take the lock while you
/// still work under it.
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct LockGuard {
    session: crate::Session,
    key: String,
    token: String,
    released: bool,
}

impl LockGuard {
    /// The lock's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The holder's token (what [`release_lock`](crate::Session::release_lock) needs).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Gives the lock `ttl` to live from now (`PEXPIRE`, only if this guard still holds it);
    /// returns whether it did (`false`: it had expired, and maybe been taken by someone else).
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use std::time::Duration;
    /// let guard = session.lock("locks:import", Duration::from_secs(10))?;
    /// for batch in 0..100 {
    ///     // ... a step that takes a few seconds ...
    ///     if !guard.extend(Duration::from_secs(10))? {
    ///         break; // lost the lock: stop working under it
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn extend(&self, ttl: Duration) -> Result<bool> {
        self.session.extend_lock(&self.key, &self.token, ttl)
    }

    /// Releases the lock now; returns whether it was still held (`false`: it had expired,
    /// and maybe been taken by someone else, whom this does not disturb).
    pub fn release(mut self) -> Result<bool> {
        self.released = true;
        self.session.release_lock(&self.key, &self.token)
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if !self.released {
            // Best effort: if it fails, the lock expires after its ttl.
            let _ = self.session.release_lock(&self.key, &self.token);
        }
    }
}

impl Attach<crate::Session> for Acquired {
    type Output = LockGuard;
    fn attach(self, session: &crate::Session) -> LockGuard {
        LockGuard {
            session: session.clone(),
            key: self.key,
            token: self.token,
            released: false,
        }
    }
}

/// A held lock, from [`AsyncSession::lock`](crate::AsyncSession::lock) and friends.
///
/// Release it with [`release`](Self::release)`.await`. If it is dropped instead, the release
/// is spawned on the current tokio runtime (best effort: with no runtime, or if the runtime
/// shuts down first, the lock expires after its ttl).
#[cfg(feature = "async")]
#[must_use = "the lock is released as soon as the guard is dropped"]
#[derive(Debug)]
pub struct AsyncLockGuard {
    session: crate::AsyncSession,
    key: String,
    token: String,
    released: bool,
}

#[cfg(feature = "async")]
impl AsyncLockGuard {
    /// The lock's key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The holder's token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Gives the lock `ttl` to live from now, if this guard still holds it; returns whether
    /// it did (see [`LockGuard::extend`]).
    pub async fn extend(&self, ttl: Duration) -> Result<bool> {
        self.session.extend_lock(&self.key, &self.token, ttl).await
    }

    /// Releases the lock now; returns whether it was still held.
    pub async fn release(mut self) -> Result<bool> {
        self.released = true;
        self.session.release_lock(&self.key, &self.token).await
    }
}

#[cfg(feature = "async")]
impl Drop for AsyncLockGuard {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            let session = self.session.clone();
            let key = std::mem::take(&mut self.key);
            let token = std::mem::take(&mut self.token);
            handle.spawn(async move {
                let _ = session.release_lock(&key, &token).await;
            });
        }
    }
}

#[cfg(feature = "async")]
impl Attach<crate::AsyncSession> for Acquired {
    type Output = AsyncLockGuard;
    fn attach(self, session: &crate::AsyncSession) -> AsyncLockGuard {
        AsyncLockGuard {
            session: session.clone(),
            key: self.key,
            token: self.token,
            released: false,
        }
    }
}

session_methods! {
    /// Takes the lock `name` (a key), waiting as long as it takes; it expires after `ttl`
    /// (whole milliseconds, at least one) unless released or [extended](LockGuard::extend)
    /// first. Returns a guard that releases it when dropped. To give up after a wait, see
    /// [`lock_timeout`](Self::lock_timeout).
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use std::time::Duration;
    /// {
    ///     let _guard = session.lock("locks:report", Duration::from_secs(30))?;
    ///     // ... only one process at a time gets here ...
    /// } // released
    /// # Ok(()) }
    /// ```
    fn lock(name: &str, ttl: Duration) -> LockGuard | AsyncLockGuard
        = [once] attach |_| acquire(name, ttl, Wait::Forever).map(|a| map_conversation(a, |got| {
            got.ok_or_else(|| Error::Internal("a lock without time limit gave up".into()))
        }));

    /// Takes the lock `name`, retrying for up to `wait`; if it is still held then, fails with
    /// [`Error::LockTimeout`] (which [`is_timeout`](Error::is_timeout)).
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use std::time::Duration;
    /// let guard = session.lock_timeout("locks:report", Duration::from_secs(30), Duration::from_secs(2))?;
    /// # Ok(()) }
    /// ```
    fn lock_timeout(name: &str, ttl: Duration, wait: Duration) -> LockGuard | AsyncLockGuard
        = [once] attach |_| acquire(name, ttl, Wait::For(wait)).map(|a| map_conversation(a, move |got| {
            got.ok_or_else(|| Error::LockTimeout { name: name.to_owned(), waited: wait })
        }));

    /// Takes the lock `name` if it is free, in one attempt; `None` if someone holds it.
    fn try_lock(name: &str, ttl: Duration) -> Option<LockGuard> | Option<AsyncLockGuard>
        = [once] attach |_| acquire(name, ttl, Wait::Once);

    /// Takes the lock `name`, retrying for up to `wait`; `None` if it was still held then.
    fn try_lock_for(name: &str, ttl: Duration, wait: Duration) -> Option<LockGuard> | Option<AsyncLockGuard>
        = [once] attach |_| acquire(name, ttl, Wait::For(wait));

    /// Releases the lock `name` if `token` still holds it (compare-and-delete in Lua);
    /// returns whether it did. Guards call this; it is public for releasing a lock from
    /// elsewhere with a token kept aside.
    fn release_lock(name: &str, token: &str) -> bool
        = [idempotent] converse |core| release(core, name, token).map(|run| map_conversation(run, |n: i64| Ok(n == 1)));

    /// Gives the lock `name` `ttl` to live from now if `token` still holds it
    /// (compare-and-`PEXPIRE` in Lua); returns whether it did. Guards call this
    /// ([`LockGuard::extend`]).
    fn extend_lock(name: &str, token: &str, ttl: Duration) -> bool
        = [idempotent] converse |core| extend(core, name, token, ttl).map(|run| map_conversation(run, |n: i64| Ok(n == 1)));
}

//! The retry policy ([`Retry`], [`Backoff`]) and the rules that decide whether a failed
//! request may be sent again. Pure: the drivers (`transport/sync.rs`, `transport/aio.rs`) each
//! have one loop that applies it.
//!
//! A request is sent again only when it failed at the connection level (reset, closed, refused)
//! and sending it twice cannot do harm: it never reached a server (no connection could be
//! made), or the operation is a read or an idempotent write, as its `session_methods!` entry
//! declares (`read`, `idempotent`, `once`, or `per_call` when its builder decides from the
//! arguments). A timeout is never retried: the response timeout is the budget of the whole call.

use std::time::Duration;

use crate::error::Error;

/// How a session retries a request that failed because its connection failed.
///
/// The default ([`Retry::default`]) makes two attempts: a request that failed at the connection
/// level is sent once more, on a new connection, after a short exponential backoff
/// (10 ms, with jitter), when that is safe: always when the first attempt could not connect at
/// all, and otherwise for reads and idempotent writes only. Non-idempotent commands (`INCR`,
/// `LPUSH`, `APPEND`, `SET NX`, `SET ... GET`, pipelines and transactions that hold one, lock
/// acquisition) are never sent twice unless [`resend_non_idempotent`](Self::resend_non_idempotent)
/// says so. No attempt starts once the response timeout has passed since the call began. See
/// `docs/reliability.md` for the list of operations and what each failure does.
///
/// ```
/// use kvdb::{Backoff, Retry, SessionOptions};
/// use std::time::Duration;
///
/// // Up to 4 attempts, 50 ms, 100 ms, 200 ms apart (with jitter), never more than 1 s.
/// let retry = Retry::attempts(4).backoff(Backoff::exponential(
///     Duration::from_millis(50),
///     Duration::from_secs(1),
/// ));
/// let opts = SessionOptions::new("jobs").retry(retry);
/// // Or no retry at all: every failure reaches the caller.
/// let strict = SessionOptions::new("strict").retry(Retry::never());
/// # let _ = (opts, strict);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Retry {
    attempts: u32,
    backoff: Backoff,
    non_idempotent: bool,
}

impl Default for Retry {
    /// Two attempts, [`Backoff::default`], non-idempotent commands never resent.
    fn default() -> Self {
        Retry {
            attempts: 2,
            backoff: Backoff::default(),
            non_idempotent: false,
        }
    }
}

impl Retry {
    /// One attempt: every connection failure reaches the caller.
    pub const fn never() -> Self {
        Retry {
            attempts: 1,
            backoff: Backoff::None,
            non_idempotent: false,
        }
    }

    /// Up to `attempts` attempts in all (at least 1), with the default backoff.
    pub fn attempts(attempts: u32) -> Self {
        Retry {
            attempts: attempts.max(1),
            ..Retry::default()
        }
    }

    /// The wait before each new attempt.
    pub const fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Also resends non-idempotent commands (`INCR`, `LPUSH`, `SET NX`, lock acquisition...)
    /// after a connection failure. They may then run twice: only for callers that can accept
    /// it (e.g. a counter of approximate page views). Default `false`.
    pub const fn resend_non_idempotent(mut self, yes: bool) -> Self {
        self.non_idempotent = yes;
        self
    }

    /// The most attempts a call makes.
    pub const fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// Whether a request that failed with `error` on attempt `attempt` (1-based) may be sent
    /// again, given what its operation declares.
    pub(crate) fn may_retry(&self, attempt: u32, safety: Safety, error: &Error) -> bool {
        if attempt >= self.attempts {
            return false;
        }
        match Failure::of(error) {
            Failure::NotSent => true,
            Failure::Lost => self.resends(safety),
            Failure::Other => false,
        }
    }

    /// Whether a request whose connection failed after it was sent may be sent again.
    pub(crate) fn resends(&self, safety: Safety) -> bool {
        match safety {
            Safety::Read | Safety::Idempotent => true,
            Safety::Once => self.non_idempotent,
        }
    }

    /// After attempt `attempt` (1-based) failed with `error`, `elapsed` into a call whose
    /// budget is `budget` (the response timeout): how long to wait before the next attempt,
    /// or `None` to give up and report `error`. What both drivers' retry loops ask.
    pub(crate) fn next_wait(
        &self,
        attempt: u32,
        safety: Safety,
        error: &Error,
        elapsed: Duration,
        budget: Option<Duration>,
    ) -> Option<Duration> {
        if !self.may_retry(attempt, safety, error) {
            return None;
        }
        let wait = self.backoff.delay(attempt);
        match budget {
            Some(budget) if elapsed + wait >= budget => None,
            _ => Some(wait),
        }
    }
}

/// The wait between two attempts of a [`Retry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backoff {
    /// Try again at once.
    None,
    /// The same wait every time.
    Fixed(Duration),
    /// `base`, then twice as long each time, at most `cap`; with `jitter`, a random wait
    /// between half of that and all of it (so that many clients do not retry in step).
    Exponential {
        /// The first wait.
        base: Duration,
        /// The longest wait.
        cap: Duration,
        /// Whether the wait is randomised.
        jitter: bool,
    },
}

impl Default for Backoff {
    /// Exponential from 10 ms to 1 s, with jitter.
    fn default() -> Self {
        Backoff::exponential(Duration::from_millis(10), Duration::from_secs(1))
    }
}

impl Backoff {
    /// Exponential from `base` to `cap`, with jitter.
    pub const fn exponential(base: Duration, cap: Duration) -> Self {
        Backoff::Exponential {
            base,
            cap,
            jitter: true,
        }
    }

    /// The wait after failed attempt `attempt` (1-based).
    pub(crate) fn delay(&self, attempt: u32) -> Duration {
        match *self {
            Backoff::None => Duration::ZERO,
            Backoff::Fixed(d) => d,
            Backoff::Exponential { base, cap, jitter } => {
                let factor = 1u32 << attempt.saturating_sub(1).min(20);
                let full = base.saturating_mul(factor).min(cap);
                if jitter {
                    // Between half and all of it.
                    full / 2 + full.mul_f64(random_fraction() / 2.0)
                } else {
                    full
                }
            }
        }
    }
}

/// A number in `[0, 1)`, from the standard library's randomly keyed hasher.
fn random_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let bits = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

/// What an operation declares about sending it twice (the marker of its `session_methods!`
/// entry, or its builder's choice for `per_call`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Safety {
    /// Changes nothing on the server.
    Read,
    /// Running it twice leaves the same data as running it once (`SET`, `DEL`, `HSET`...).
    Idempotent,
    /// Running it twice may do it twice (`INCR`, `LPUSH`, `SET NX`...).
    Once,
}

impl Safety {
    /// The safety of several commands sent together: the least safe of them.
    pub(crate) fn all(items: impl IntoIterator<Item = Safety>) -> Safety {
        items
            .into_iter()
            .fold(Safety::Read, |acc, s| match (acc, s) {
                (Safety::Once, _) | (_, Safety::Once) => Safety::Once,
                (Safety::Idempotent, _) | (_, Safety::Idempotent) => Safety::Idempotent,
                _ => Safety::Read,
            })
    }
}

/// How a request failed, as far as resending it goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection could be made, or the server refused to run the command because it is
    /// still loading its data: nothing ran.
    NotSent,
    /// The connection failed while the request was in flight, without a reply (reset,
    /// closed, broken pipe): it may or may not have run.
    Lost,
    /// Anything else (a timeout, a server error, a bad value): not retried.
    Other,
}

impl Failure {
    pub(crate) fn of(error: &Error) -> Failure {
        match error {
            Error::Connect { source, .. } if !source.is_timeout() && !is_refusal(source) => {
                Failure::NotSent
            }
            Error::Redis { source, .. } if !source.is_timeout() => {
                // `LOADING`: the server is back from a restart but did not run the command.
                if source.is_connection_refusal() || crate::error::is_loading(source) {
                    Failure::NotSent
                } else if source.is_io_error() || source.is_connection_dropped() {
                    Failure::Lost
                } else {
                    Failure::Other
                }
            }
            _ => Failure::Other,
        }
    }
}

/// Whether a failed connection attempt was refused for a reason that retrying will not fix:
/// credentials, access control, a bad database index or client name (the server's `ERR`), a
/// TLS handshake failure (a certificate not trusted or not given).
pub(crate) fn is_refusal(e: &redis::RedisError) -> bool {
    use redis::{ErrorKind, ServerErrorKind};
    crate::error::is_auth(e)
        || matches!(
            e.kind(),
            ErrorKind::InvalidClientConfig
                | ErrorKind::Server(ServerErrorKind::NoPerm | ServerErrorKind::ResponseError)
        )
        || crate::transport::connect::is_handshake_failure(e)
}

#[cfg(test)]
mod tests;

//! How long a subscription waits between reconnection attempts: at once after a loss (the
//! server is often still up: a killed connection, a proxy reset), then exponentially from
//! `first` up to `max`, each delay jittered down by up to half so that many subscribers
//! reconnecting after the same restart do not arrive together.
//!
//! Only what subscriptions need; the sessions' retry policy is a separate concern.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// An exponential backoff with a cap and jitter.
#[derive(Clone, Debug)]
pub(crate) struct Backoff {
    first: Duration,
    max: Duration,
    /// Xorshift state for the jitter (never 0).
    rng: u64,
}

impl Backoff {
    /// 100 ms, doubling, capped at 5 s.
    pub(crate) fn standard() -> Self {
        Self::new(Duration::from_millis(100), Duration::from_secs(5))
    }

    /// Delays from `first`, doubling up to `max`; a random seed for the jitter.
    pub(crate) fn new(first: Duration, max: Duration) -> Self {
        let seed = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        Self::seeded(first, max, seed)
    }

    /// As [`new`](Self::new), with a fixed seed (tests).
    pub(crate) fn seeded(first: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            first,
            max: max.max(first),
            rng: seed | 1,
        }
    }

    /// The wait before the next attempt when `failures` attempts have failed since the
    /// connection was lost: none for the first attempt, then `first`, `2 × first`, … up to
    /// `max`, each cut by a random part of up to a half.
    pub(crate) fn delay(&mut self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let doublings = (failures - 1).min(31);
        let full = self.first.saturating_mul(1u32 << doublings).min(self.max);
        // full × (1/2 + r/2), r in [0, 1).
        let r = self.next() >> 11; // 53 random bits
        let fraction = 0.5 + (r as f64 / (1u64 << 53) as f64) / 2.0;
        full.mul_f64(fraction)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }
}

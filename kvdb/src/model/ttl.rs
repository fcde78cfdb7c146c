//! Time-to-live strings (`"90s"`, `"15m"`, `"1h30m"`, `"7d"`), and the one conversion of a
//! TTL into what Redis takes ([`ttl_arg`], [`expire_at_millis`]). Pure.
//!
//! The grammar, shared with `#[kv(ttl = "...")]` (which checks it at compile time): one or
//! more `<digits><unit>` groups, units `d`, `h`, `m`, `s` in that order, each at most once,
//! no spaces, total greater than zero and at most `u64::MAX` seconds. An integer is seconds.

use std::time::{Duration, SystemTime};

use crate::error::{Error, KeyContext, Result};

/// The longest TTL accepted: 2^62 ms (about 146 million years). Redis keeps expiry times as
/// signed 64-bit milliseconds since the epoch and refuses a TTL that overflows them.
pub(crate) const MAX_TTL: Duration = Duration::from_millis(1 << 62);

/// A TTL as Redis takes it: whole seconds (`EX`, `EXPIRE`) or milliseconds (`PX`, `PEXPIRE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TtlArg {
    /// Whole seconds: the TTL had no fraction of a second.
    Secs(u64),
    /// Milliseconds: the TTL had a fraction of a second (sub-millisecond parts dropped).
    Millis(u64),
}

impl TtlArg {
    /// The `SET` option and its argument: `("EX", secs)` or `("PX", millis)`.
    pub(crate) fn set_option(self) -> (&'static str, u64) {
        match self {
            TtlArg::Secs(s) => ("EX", s),
            TtlArg::Millis(ms) => ("PX", ms),
        }
    }

    /// The TTL in milliseconds, for operations that always send `PX`/`PEXPIRE` (the cache,
    /// map field TTLs).
    pub(crate) fn millis(self) -> u64 {
        match self {
            // Cannot overflow: a TTL is at most MAX_TTL = 2^62 ms.
            TtlArg::Secs(s) => s * 1000,
            TtlArg::Millis(ms) => ms,
        }
    }

    /// The relative-expiry command and its argument: `EXPIRE secs` or `PEXPIRE millis`.
    pub(crate) fn expire_command(self) -> (&'static str, u64) {
        match self {
            TtlArg::Secs(s) => ("EXPIRE", s),
            TtlArg::Millis(ms) => ("PEXPIRE", ms),
        }
    }
}

/// Converts a TTL for `operation` on `key` into what Redis takes: whole seconds when it has no
/// fraction, else milliseconds, so a positive TTL never reaches Redis as 0 (which deletes the
/// key at once, or is refused). Every TTL-taking operation goes through here (`set_ex`,
/// `SetOptions::ex`/`px`, `expire`, `pexpire`, model TTLs, locks; later the cache).
///
/// Errors ([`Error::InvalidTtl`], naming the operation, the key and the TTL):
/// - zero, and anything shorter than one millisecond (Redis's resolution);
/// - more than [`MAX_TTL`].
///
/// Fractions of a millisecond past the first are dropped (`1.5ms` is 1 ms).
pub(crate) fn ttl_arg(operation: &'static str, key: &str, ttl: Duration) -> Result<TtlArg> {
    let invalid = |reason| Error::InvalidTtl {
        operation,
        key: KeyContext::of(key),
        ttl,
        reason,
    };
    if ttl < Duration::from_millis(1) {
        return Err(invalid(
            "a TTL must be at least one millisecond (Redis's resolution; zero would delete the \
             key at once); to remove a key use delete, to keep it forever use persist",
        ));
    }
    if ttl > MAX_TTL {
        return Err(invalid(
            "a TTL must be at most 2^62 milliseconds (Redis keeps expiry times as 64-bit \
             milliseconds since the epoch)",
        ));
    }
    Ok(if ttl.subsec_nanos() == 0 {
        TtlArg::Secs(ttl.as_secs())
    } else {
        // Cannot truncate: ttl <= MAX_TTL < u64::MAX ms.
        TtlArg::Millis(ttl.as_millis() as u64)
    })
}

/// The timeout argument of a blocking command (`BLPOP`), in seconds: `Duration::ZERO` (wait
/// for ever) as 0, and any positive wait as at least one millisecond, Redis's resolution (a
/// shorter one would reach Redis as 0 and wait for ever).
pub(crate) fn block_timeout_secs(wait: Duration) -> f64 {
    if wait.is_zero() {
        return 0.0;
    }
    wait.max(Duration::from_millis(1)).as_millis() as f64 / 1000.0
}

/// Converts an absolute expiry time for `operation` on `key` into milliseconds since the Unix
/// epoch (`PEXPIREAT`). A time in the past is taken as given (Redis then deletes the key, as
/// an expiry that has passed should); a time before the epoch or past [`MAX_TTL`] after it is
/// an [`Error::InvalidTtl`].
pub(crate) fn expire_at_millis(
    operation: &'static str,
    key: &str,
    when: SystemTime,
) -> Result<u64> {
    let invalid = |ttl, reason| Error::InvalidTtl {
        operation,
        key: KeyContext::of(key),
        ttl,
        reason,
    };
    let since_epoch = when.duration_since(SystemTime::UNIX_EPOCH).map_err(|e| {
        invalid(
            e.duration(),
            "the expiry time is before the Unix epoch (this is how long before)",
        )
    })?;
    if since_epoch > MAX_TTL {
        return Err(invalid(
            since_epoch,
            "the expiry time is more than 2^62 milliseconds after the Unix epoch",
        ));
    }
    Ok(since_epoch.as_millis() as u64)
}

/// Parses a TTL string into a duration.
///
/// ```
/// use std::time::Duration;
/// use kvdb::model::parse_ttl;
///
/// assert_eq!(parse_ttl("1h30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
/// assert!(parse_ttl("30m1h").is_err()); // units go from largest to smallest
/// assert!(parse_ttl("0s").is_err());
/// ```
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    ttl_seconds(text).map(Duration::from_secs)
}

/// [`parse_ttl`] in whole seconds.
pub fn ttl_seconds(text: &str) -> Result<u64, String> {
    const UNITS: [(char, u64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
    if text.is_empty() {
        return Err(
            "a TTL must not be empty; write e.g. \"30s\", \"15m\", \"1h30m\", \"7d\"".into(),
        );
    }
    let mut total: u64 = 0;
    let mut next_unit = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "bad TTL {text:?}: expected a number at {rest:?} (units: d, h, m, s)"
            ));
        }
        let Some(unit) = rest[digits..].chars().next() else {
            return Err(format!(
                "bad TTL {text:?}: {:?} has no unit; write d, h, m or s after it",
                &rest[..digits]
            ));
        };
        let Some(pos) = UNITS.iter().position(|(u, _)| *u == unit) else {
            return Err(format!(
                "bad TTL {text:?}: unknown unit {unit:?} (units: d, h, m, s)"
            ));
        };
        if pos < next_unit {
            return Err(format!(
                "bad TTL {text:?}: units must go from largest to smallest, each at most once (d, h, m, s)"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad TTL {text:?}: {:?} is too large", &rest[..digits]))?;
        total = n
            .checked_mul(UNITS[pos].1)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("bad TTL {text:?}: too large"))?;
        next_unit = pos + 1;
        rest = &rest[digits + 1..];
    }
    if total == 0 {
        return Err(format!("bad TTL {text:?}: a TTL must be greater than zero"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_convert_to_the_exact_unit_and_never_to_zero() {
        let ms = Duration::from_millis;
        for (ttl, want) in [
            (Duration::from_secs(1), TtlArg::Secs(1)),
            (Duration::from_secs(86_400), TtlArg::Secs(86_400)),
            (ms(500), TtlArg::Millis(500)),
            (ms(1), TtlArg::Millis(1)),
            (ms(1500), TtlArg::Millis(1500)),
            (Duration::from_micros(1500), TtlArg::Millis(1)),
            (MAX_TTL, TtlArg::Millis(1 << 62)),
        ] {
            assert_eq!(ttl_arg("expire", "k", ttl).unwrap(), want, "{ttl:?}");
        }
        assert_eq!(
            ttl_arg("x", "k", ms(500)).unwrap().set_option(),
            ("PX", 500)
        );
        assert_eq!(
            ttl_arg("x", "k", ms(500)).unwrap().expire_command(),
            ("PEXPIRE", 500)
        );
        assert_eq!(
            ttl_arg("x", "k", Duration::from_secs(2))
                .unwrap()
                .expire_command(),
            ("EXPIRE", 2)
        );
    }

    #[test]
    fn inexpressible_ttls_are_typed_errors_naming_op_key_and_value() {
        for ttl in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_micros(999),
            MAX_TTL + Duration::from_millis(1),
            Duration::MAX,
        ] {
            match ttl_arg("pexpire", "users:1", ttl) {
                Err(e @ Error::InvalidTtl { .. }) => {
                    let msg = e.to_string();
                    assert!(msg.contains("pexpire") && msg.contains("users:1"), "{msg}");
                    assert!(msg.contains(&format!("{ttl:?}")), "{msg}");
                }
                other => panic!("{ttl:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn blocking_timeouts_never_become_wait_for_ever() {
        assert_eq!(block_timeout_secs(Duration::ZERO), 0.0);
        assert_eq!(block_timeout_secs(Duration::from_micros(100)), 0.001);
        assert_eq!(block_timeout_secs(Duration::from_millis(1500)), 1.5);
    }

    #[test]
    fn absolute_expiry_times_are_epoch_millis() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(
            expire_at_millis("expire_at", "k", at).unwrap(),
            1_700_000_000_123
        );
        let before = SystemTime::UNIX_EPOCH - Duration::from_secs(1);
        assert!(matches!(
            expire_at_millis("expire_at", "k", before),
            Err(Error::InvalidTtl { .. })
        ));
    }

    #[test]
    fn parses_units_and_combinations() {
        for (text, secs) in [
            ("1s", 1),
            ("90s", 90),
            ("15m", 900),
            ("1h", 3600),
            ("1h30m", 5400),
            ("1d2h3m4s", 93_784),
            ("2d", 172_800),
            ("0h5m", 300),
            ("007s", 7),
        ] {
            assert_eq!(ttl_seconds(text), Ok(secs), "{text}");
        }
    }

    #[test]
    fn rejects_malformed_ttls_with_a_reason() {
        for (text, reason) in [
            ("", "must not be empty"),
            ("10", "has no unit"),
            ("h", "expected a number"),
            ("1x", "unknown unit 'x'"),
            ("1h 30m", "expected a number at \" 30m\""),
            ("30m1h", "largest to smallest"),
            ("1m1m", "largest to smallest"),
            ("0s", "greater than zero"),
            ("0d0h", "greater than zero"),
            ("-1s", "expected a number"),
            ("1.5h", "unknown unit '.'"),
            ("99999999999999999999s", "too large"),
            ("999999999999999999d", "too large"),
        ] {
            let err = ttl_seconds(text).expect_err(text);
            assert!(err.contains(reason), "{text:?}: {err}");
        }
    }
}

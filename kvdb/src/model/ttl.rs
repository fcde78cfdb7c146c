//! Time-to-live strings: `"90s"`, `"15m"`, `"1h30m"`, `"7d"`. Pure.
//!
//! The grammar, shared with `#[kv(ttl = "...")]` (which checks it at compile time): one or
//! more `<digits><unit>` groups, units `d`, `h`, `m`, `s` in that order, each at most once,
//! no spaces, total greater than zero and at most `u64::MAX` seconds. An integer is seconds.

use std::time::Duration;

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

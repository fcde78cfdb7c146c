//! The cache's key layout, argument hashing, TTL arithmetic and the classification of computed
//! values. Pure: no I/O.
//!
//! | what | key |
//! |---|---|
//! | an entry of a namespace | `_kvc_:<namespace>:<key>` |
//! | an entry of `#[kvdb::cached]` without template | `_kvc_:<module.path.fn>:<xxh64 of the arguments>` |
//! | the single-flight lock of `<key>` | `_kvc_lock:{<xxh64 of key>}` |
//! | the wake-up list of one computation | `_kvc_wake:{<xxh64 of key>}:<token>` |
//!
//! The lock and its wake-up lists share a hash tag, so a Lua script may touch both on a
//! Cluster; they never match the `_kvc_:<namespace>:*` pattern that namespace invalidation
//! scans.

use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, KeyContext, Result};

/// The prefix of every cache key, as kvdb-py's cachify.
pub const PREFIX: &str = "_kvc_";

/// `_kvc_:<namespace>:<key>`.
pub(crate) fn entry_key(namespace: &str, key: &str) -> String {
    let mut out = String::with_capacity(PREFIX.len() + namespace.len() + key.len() + 2);
    out.push_str(PREFIX);
    out.push(':');
    out.push_str(namespace);
    out.push(':');
    out.push_str(key);
    out
}

/// The `SCAN` pattern of every entry of `namespace` (its text glob-escaped).
pub(crate) fn namespace_pattern(namespace: &str) -> String {
    format!("{PREFIX}:{}:*", crate::model::glob_escape(namespace))
}

/// The xxh64 (seed 0) of `bytes` as 16 lowercase hex digits, as Python's
/// `xxhash.xxh64(b).hexdigest()`.
pub(crate) fn xxh64_hex(bytes: &[u8]) -> String {
    format!("{:016x}", xxhash_rust::xxh64::xxh64(bytes, 0))
}

/// The hash of a function's arguments: xxh64 of their JSON form (`serde_json`, the tuple of
/// arguments as an array, in declaration order).
///
/// ```
/// // fn f(a: u32, b: &str) called as f(1, "x") hashes `[1,"x"]`.
/// assert_eq!(kvdb::cache::args_hash(&(1u32, "x"))?, kvdb::cache::args_hash(&(1u64, "x".to_string()))?);
/// # Ok::<(), kvdb::Error>(())
/// ```
pub fn args_hash<A: Serialize + ?Sized>(args: &A) -> Result<String> {
    let json = serde_json::to_vec(args).map_err(|e| Error::Encode {
        key: KeyContext::default(),
        type_name: std::any::type_name::<A>(),
        codec: crate::Codec::Json,
        source: e.into(),
    })?;
    Ok(xxh64_hex(&json))
}

/// The lock key of the entry `key`.
pub(crate) fn lock_key(key: &str) -> String {
    format!("{PREFIX}lock:{{{}}}", xxh64_hex(key.as_bytes()))
}

/// The wake-up list of the computation of `key` by the holder of `token`.
pub(crate) fn wake_key(key: &str, token: &str) -> String {
    format!("{PREFIX}wake:{{{}}}:{token}", xxh64_hex(key.as_bytes()))
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 64 bits no other call returns in practice: the process's random hasher keys, a counter,
/// the time and the process id.
pub(crate) fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.write_u32(std::process::id());
    h.finish()
}

/// A token identifying one computation (lock holder).
pub(crate) fn new_token() -> String {
    format!("{:016x}{:016x}", random_u64(), random_u64())
}

/// A TTL in whole milliseconds for `PX`/`PEXPIRE`, through the one TTL conversion
/// ([`ttl_arg`](crate::model::ttl::ttl_arg)): what it refuses (under one millisecond, over
/// 2^62 ms) is an [`Error::InvalidOption`] naming `option`.
pub(crate) fn ttl_millis(ttl: Duration, option: &'static str) -> Result<u64> {
    match crate::model::ttl::ttl_arg(option, "", ttl) {
        Ok(arg) => Ok(arg.millis()),
        Err(Error::InvalidTtl { reason, .. }) => Err(Error::InvalidOption {
            option,
            reason: format!("{ttl:?}: {reason}"),
        }),
        Err(other) => Err(other),
    }
}

/// `ttl` spread by up to `jitter` (a fraction, 0 to 1) either way, so entries written
/// together do not expire together.
pub(crate) fn jittered(ttl_ms: u64, jitter: f64, random: u64) -> u64 {
    if jitter <= 0.0 {
        return ttl_ms;
    }
    // `random` mapped to [-1, 1).
    let unit = (random >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
    let spread = ttl_ms as f64 * jitter.min(1.0) * unit;
    ((ttl_ms as f64 + spread).round() as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_documented_layout() {
        assert_eq!(entry_key("users", "42"), "_kvc_:users:42");
        assert_eq!(namespace_pattern("a*b"), r"_kvc_:a\*b:*");
        let lock = lock_key("_kvc_:users:42");
        assert!(
            lock.starts_with("_kvc_lock:{") && lock.ends_with('}'),
            "{lock}"
        );
        let wake = wake_key("_kvc_:users:42", "t1");
        assert_eq!(
            crate::key_slot(&lock),
            crate::key_slot(&wake),
            "{lock} and {wake} must share a slot"
        );
        assert!(!crate::model::glob_escape(&lock).starts_with("_kvc_:"));
    }

    #[test]
    fn xxh64_matches_python_xxhash() {
        // python -c "import xxhash; print(xxhash.xxh64(b'').hexdigest(), xxhash.xxh64(b'abc').hexdigest())"
        assert_eq!(xxh64_hex(b""), "ef46db3751d8e999");
        assert_eq!(xxh64_hex(b"abc"), "44bc2cf5ad770999");
    }

    #[test]
    fn args_hash_is_the_hash_of_the_json_array() {
        assert_eq!(args_hash(&(1u32, "x")).unwrap(), xxh64_hex(br#"[1,"x"]"#));
        assert_ne!(
            args_hash(&(1u32, "x")).unwrap(),
            args_hash(&(2u32, "x")).unwrap()
        );
    }

    #[test]
    fn ttl_millis_refuses_what_redis_cannot_keep() {
        assert_eq!(
            ttl_millis(Duration::from_millis(1500), "ttl").unwrap(),
            1500
        );
        assert_eq!(ttl_millis(Duration::from_secs(2), "ttl").unwrap(), 2000);
        for bad in [Duration::ZERO, Duration::from_micros(999), Duration::MAX] {
            let e = ttl_millis(bad, "ttl").unwrap_err();
            assert!(
                matches!(e, Error::InvalidOption { option: "ttl", .. }),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        assert_eq!(jittered(1000, 0.0, 7), 1000);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let t = jittered(1000, 0.1, random_u64());
            assert!((900..=1100).contains(&t), "{t}");
            seen.insert(t);
        }
        assert!(
            seen.len() > 50,
            "jitter should spread TTLs, got {} values",
            seen.len()
        );
    }
}

//! Redis Cluster hash slots: which of the 16384 slots a key belongs to. Pure code.

/// The number of hash slots of a Redis Cluster.
pub const SLOT_COUNT: u16 = 16384;

/// The Redis Cluster hash slot of `key`, as `CLUSTER KEYSLOT` computes it: CRC16 (XMODEM) of
/// the key's hash tag (the text between the first `{` and the next `}`, if not empty) or of
/// the whole key, modulo 16384.
///
/// Keys with the same hash tag are in the same slot, so a cluster can run atomic operations
/// (MULTI/EXEC pipelines, scripts) over them. Model key schemas declare one with
/// `#[kv(hash_tag = "{field}")]` (see `docs/scaling.md`).
///
/// ```
/// use kvdb::key_slot;
/// assert_eq!(key_slot("foo"), 12182);
/// assert_eq!(key_slot("{user1000}.following"), key_slot("{user1000}.followers"));
/// assert_eq!(key_slot("{}.x"), key_slot("{}.x")); // an empty tag: the whole key is hashed
/// ```
pub fn key_slot(key: impl AsRef<[u8]>) -> u16 {
    let key = key.as_ref();
    crc16(hash_tag(key).unwrap_or(key)) % SLOT_COUNT
}

/// The part of `key` that is hashed, if it has a non-empty `{...}` tag.
fn hash_tag(key: &[u8]) -> Option<&[u8]> {
    let open = key.iter().position(|&b| b == b'{')?;
    let len = key[open + 1..].iter().position(|&b| b == b'}')?;
    (len > 0).then(|| &key[open + 1..open + 1 + len])
}

/// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), as the Redis Cluster spec says.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_check_value() {
        // The spec's reference output for "123456789".
        assert_eq!(crc16(b"123456789"), 0x31C3);
    }

    #[test]
    fn matches_cluster_keyslot() {
        // Values of `CLUSTER KEYSLOT` from Redis 7.
        for (key, slot) in [
            ("foo", 12182),
            ("bar", 5061),
            ("hello", 866),
            ("", 0),
            ("users:42", 9664),
            ("{user1000}.following", 3443),
            ("{user1000}.followers", 3443),
            ("foo{}{bar}", 8363),
            ("foo{{bar}}zap", 4015),
            ("foo{bar}{zap}", 5061),
        ] {
            assert_eq!(key_slot(key), slot, "{key:?}");
        }
    }

    #[cfg(feature = "cluster")]
    #[test]
    fn agrees_with_the_redis_crate() {
        use redis::cluster_routing::Slot;
        for i in 0..2000u32 {
            let key = format!("k{i}:{{t{}}}", i % 7);
            assert_eq!(
                Slot::new(key_slot(&key)),
                Some(Slot::for_key(&key)),
                "{key}"
            );
            let key = format!("plain-{i}");
            assert_eq!(
                Slot::new(key_slot(&key)),
                Some(Slot::for_key(&key)),
                "{key}"
            );
        }
    }
}

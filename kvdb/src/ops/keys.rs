//! Key commands: existence, deletion, expiry, renaming, type, listing.

use std::time::{Duration, SystemTime};

use redis::Value;

use super::decode;
use crate::core::unexpected;
use crate::error::Result;
use crate::model::ttl::{expire_at_millis, ttl_arg};
use crate::transport::{Command, Decoder, PageOf};

/// The time to live of a key, as `TTL`/`PTTL` report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ttl {
    /// The key does not exist.
    Missing,
    /// The key exists and never expires.
    Persistent,
    /// The key expires in this long.
    Expires(Duration),
}

impl Ttl {
    /// The remaining time, if the key exists and expires.
    pub fn remaining(self) -> Option<Duration> {
        match self {
            Ttl::Expires(d) => Some(d),
            _ => None,
        }
    }

    fn from_reply(reply: Value, command: &'static str, unit: fn(u64) -> Duration) -> Result<Ttl> {
        match reply {
            Value::Int(-2) => Ok(Ttl::Missing),
            Value::Int(-1) => Ok(Ttl::Persistent),
            Value::Int(n) if n >= 0 => Ok(Ttl::Expires(unit(n as u64))),
            other => Err(unexpected(command, &other)),
        }
    }
}

/// The type of the value at a key, as `TYPE` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// No such key.
    None,
    /// A string (every value written by [`set`](crate::Session::set)).
    String,
    /// A list.
    List,
    /// A set.
    Set,
    /// A sorted set.
    ZSet,
    /// A hash.
    Hash,
    /// A stream.
    Stream,
    /// A type of a module, by its name.
    Other(String),
}

impl KeyType {
    fn from_name(name: String) -> KeyType {
        match name.as_str() {
            "none" => KeyType::None,
            "string" => KeyType::String,
            "list" => KeyType::List,
            "set" => KeyType::Set,
            "zset" => KeyType::ZSet,
            "hash" => KeyType::Hash,
            "stream" => KeyType::Stream,
            _ => KeyType::Other(name),
        }
    }
}

/// What [`scan`](crate::Session::scan) lists: a `MATCH` pattern and a `COUNT` hint.
///
/// ```
/// use kvdb::ScanOptions;
/// let opts = ScanOptions::new().pattern("users:*").count(500);
/// # let _ = opts;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanOptions {
    pattern: Option<String>,
    count: Option<u64>,
}

impl ScanOptions {
    /// Every key, with the server's default page size.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only keys matching this glob-style pattern (`MATCH`), e.g. `users:*`.
    pub fn pattern(mut self, pattern: impl Into<String>) -> Self {
        self.pattern = Some(pattern.into());
        self
    }

    /// About how many keys the server examines per round trip (`COUNT`; a hint, default 10;
    /// 0 means the default).
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }
}

/// `SCAN`, one page per round trip.
pub(crate) struct Scan(ScanOptions);

impl crate::transport::Pages for Scan {
    type Item = String;
    type Page = Command<Box<dyn FnOnce(Value) -> Result<PageOf<String>> + Send>>;

    fn page(&self, cursor: u64) -> Self::Page {
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(cursor);
        if let Some(p) = &self.0.pattern {
            cmd.arg("MATCH").arg(p);
        }
        // COUNT 0 is a syntax error in Redis: 0 means the server's default, as documented.
        if let Some(c) = self.0.count.filter(|c| *c > 0) {
            cmd.arg("COUNT").arg(c);
        }
        Command::new(
            cmd,
            Box::new(|reply| {
                let (next, keys) = decode::cursor_page(reply, "SCAN")?;
                let keys = decode::strings(keys, "SCAN")?;
                Ok((next, keys.into_iter().map(Ok).collect()))
            }),
        )
    }
}

pub(crate) fn delete(keys: &[&str]) -> Result<Command<impl Decoder<u64> + use<>>> {
    let mut cmd = redis::cmd("DEL");
    cmd.arg(keys);
    Ok(Command::new(cmd, |reply| decode::count(reply, "DEL")))
}

pub(crate) fn exists(key: &str) -> Result<Command<impl Decoder<bool> + use<>>> {
    let mut cmd = redis::cmd("EXISTS");
    cmd.arg(key);
    Ok(Command::new(cmd, |reply| decode::flag(reply, "EXISTS")))
}

/// `EXPIRE` for whole seconds, else `PEXPIRE` (`precise` only names the operation in
/// errors): whether the key exists and got the expiry.
pub(crate) fn expire(
    key: &str,
    ttl: Duration,
    precise: bool,
) -> Result<Command<impl Decoder<bool> + use<>>> {
    let operation = if precise { "pexpire" } else { "expire" };
    let (name, amount) = ttl_arg(operation, key, ttl)?.expire_command();
    let mut cmd = redis::cmd(name);
    cmd.arg(key).arg(amount);
    Ok(Command::new(cmd, move |reply| decode::flag(reply, name)))
}

/// `PEXPIREAT key millis-since-epoch`.
fn expire_at(key: &str, when: SystemTime) -> Result<Command<impl Decoder<bool> + use<>>> {
    let at = expire_at_millis("expire_at", key, when)?;
    let mut cmd = redis::cmd("PEXPIREAT");
    cmd.arg(key).arg(at);
    Ok(Command::new(cmd, |reply| decode::flag(reply, "PEXPIREAT")))
}

fn ttl(key: &str, precise: bool) -> Result<Command<impl Decoder<Ttl> + use<>>> {
    let (name, unit) = if precise {
        ("PTTL", Duration::from_millis as fn(u64) -> Duration)
    } else {
        ("TTL", Duration::from_secs as fn(u64) -> Duration)
    };
    let mut cmd = redis::cmd(name);
    cmd.arg(key);
    Ok(Command::new(cmd, move |reply| {
        Ttl::from_reply(reply, name, unit)
    }))
}

fn persist(key: &str) -> Result<Command<impl Decoder<bool> + use<>>> {
    let mut cmd = redis::cmd("PERSIST");
    cmd.arg(key);
    Ok(Command::new(cmd, |reply| decode::flag(reply, "PERSIST")))
}

fn rename(from: &str, to: &str) -> Result<Command<impl Decoder<()> + use<>>> {
    let mut cmd = redis::cmd("RENAME");
    cmd.arg(from).arg(to);
    Ok(Command::new(cmd, |reply| decode::ok(reply, "RENAME")))
}

fn key_type(key: &str) -> Result<Command<impl Decoder<KeyType> + use<>>> {
    let mut cmd = redis::cmd("TYPE");
    cmd.arg(key);
    Ok(Command::new(cmd, |reply| {
        decode::string(reply, "TYPE").map(KeyType::from_name)
    }))
}

fn keys(pattern: &str) -> Result<Command<impl Decoder<Vec<String>> + use<>>> {
    let mut cmd = redis::cmd("KEYS");
    cmd.arg(pattern);
    Ok(Command::new(cmd, |reply| decode::strings(reply, "KEYS")))
}

session_methods! {
    /// Deletes `keys`; returns how many existed.
    fn delete(keys: &[&str]) -> u64 = [pipe, idempotent] run |_| delete(keys);

    /// Whether `key` exists.
    fn exists(key: &str) -> bool = [pipe, read] run |_| exists(key);

    /// Whether `key` exists: the counterpart of kvdb-py's `key in session`.
    fn contains_key(key: &str) -> bool = [pipe, read] run |_| exists(key);

    /// Deletes `key`; returns whether it existed: the counterpart of `del session[key]`.
    fn remove(key: &str) -> bool = [pipe, idempotent] run |_| delete(&[key]).map(|op| op.map(|n| n > 0));

    /// Makes `key` expire after `ttl`; returns whether the key exists (and so got the
    /// expiry). Whole seconds are sent as `EXPIRE`, anything finer as `PEXPIRE` in whole
    /// milliseconds, so a positive TTL never deletes the key at once. A TTL under one
    /// millisecond (or over 2^62 ms) is an [`Error::InvalidTtl`](crate::Error::InvalidTtl)
    /// and nothing is sent: use [`delete`](Self::delete) to remove a key.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use std::time::Duration;
    /// session.set("k", "v")?;
    /// session.expire("k", Duration::from_millis(500))?; // PEXPIRE k 500
    /// assert!(session.exists("k")?);
    /// assert!(session.expire("k", Duration::ZERO).is_err());
    /// # Ok(()) }
    /// ```
    fn expire(key: &str, ttl: Duration) -> bool = [pipe, idempotent] run |_| expire(key, ttl, false);

    /// The same as [`expire`](Self::expire) (kept for the Redis name): `PEXPIRE` in whole
    /// milliseconds, or `EXPIRE` for whole seconds.
    fn pexpire(key: &str, ttl: Duration) -> bool = [pipe, idempotent] run |_| expire(key, ttl, true);

    /// Makes `key` expire at `when` (`PEXPIREAT`, millisecond precision); returns whether the
    /// key exists. A time that has passed deletes the key, as in Redis; a time before the
    /// Unix epoch is an [`Error::InvalidTtl`](crate::Error::InvalidTtl).
    fn expire_at(key: &str, when: SystemTime) -> bool = [pipe, idempotent] run |_| expire_at(key, when);

    /// How long `key` has to live, in whole seconds (`TTL`): [`Ttl::Missing`],
    /// [`Ttl::Persistent`] or [`Ttl::Expires`].
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use kvdb::Ttl;
    /// use std::time::Duration;
    /// session.set_ex("session:abc", "token", Duration::from_secs(60))?;
    /// assert!(matches!(session.ttl("session:abc")?, Ttl::Expires(d) if d <= Duration::from_secs(60)));
    /// assert_eq!(session.ttl("no-such-key")?, Ttl::Missing);
    /// # Ok(()) }
    /// ```
    fn ttl(key: &str) -> Ttl = [pipe, read] run |_| ttl(key, false);

    /// How long `key` has to live, in whole milliseconds (`PTTL`).
    fn pttl(key: &str) -> Ttl = [pipe, read] run |_| ttl(key, true);

    /// Removes the expiry of `key` (`PERSIST`); returns whether it had one.
    fn persist(key: &str) -> bool = [pipe, idempotent] run |_| persist(key);

    /// Renames `from` to `to`, replacing `to` if it exists (`RENAME`). A missing `from` is an
    /// error.
    fn rename(from: &str, to: &str) -> () = [pipe, once] run |_| rename(from, to);

    /// The type of the value at `key` (`TYPE`); [`KeyType::None`] if it does not exist.
    fn key_type(key: &str) -> KeyType = [pipe, read] run |_| key_type(key);

    /// Every key matching `pattern` (`KEYS`), in one reply. This blocks the server while it
    /// walks the whole key space: prefer [`scan`](Self::scan) outside tests and small
    /// databases.
    fn keys(pattern: &str) -> Vec<String> = [pipe, read] run |_| keys(pattern);

    /// Lists keys a page at a time (`SCAN` with [`ScanOptions`]), without blocking the
    /// server: an iterator (sync) or a stream (async) of key names; each page is fetched when
    /// the previous one is used up. A key may be listed twice if the key space changes
    /// meanwhile, as `SCAN` guarantees no more.
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use kvdb::ScanOptions;
    /// for key in session.scan(ScanOptions::new().pattern("users:*").count(100))? {
    ///     println!("{}", key?);
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Async: `while let Some(key) = stream.next().await` with `futures_util::StreamExt`
    /// (pin the stream first, e.g. with `std::pin::pin!`).
    fn scan(options: ScanOptions) -> String = [read] pages |_| Ok::<_, crate::Error>(Scan(options));
}

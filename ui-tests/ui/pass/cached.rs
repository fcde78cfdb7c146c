//! `#[kvdb::cached]` on every supported shape compiles without a warning, in a module that
//! shadows prelude names (the expansion uses absolute paths only).
#![deny(warnings)]

use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct User {
    pub id: u64,
}

#[kvdb::cached(session = "app", ttl = "10m", key = "user:{id}")]
pub fn by_template(id: u64) -> User {
    User { id }
}

#[kvdb::cached(session = "app", ttl = "1h30m", negative_ttl = "30s", jitter = 0.1, version = 2)]
pub fn by_hash(a: u32, mut b: String, c: Vec<u8>) -> Option<String> {
    b.push_str(&a.to_string());
    Some(format!("{b}{}", c.len()))
}

#[kvdb::cached]
pub fn no_arguments() -> u64 {
    7
}

#[kvdb::cached(ttl = "1m", refresh_ahead = "10s", lock_ttl = "5s", wait = "5s")]
pub fn fallible(n: u64) -> Result<u64, std::io::Error> {
    if n == 0 {
        return Err(std::io::Error::other("zero"));
    }
    let parsed: u64 = "5".parse().map_err(std::io::Error::other)?;
    Ok(n + parsed)
}

#[kvdb::cached(ttl = "1m", error_ttl = "10s", disabled = true)]
pub fn cached_errors(n: u64) -> Result<u64, String> {
    Ok(n)
}

#[kvdb::cached(session = "app", ttl = "1m")]
pub async fn asynchronous(q: String) -> Result<Vec<u64>, std::io::Error> {
    let n: u64 = q.len().try_into().map_err(std::io::Error::other)?;
    Ok(vec![n])
}

pub struct Repo {
    pub tenant: String,
    pub inner: Inner,
}

pub struct Inner {
    pub id: u32,
}

impl Repo {
    #[kvdb::cached(session = "app", key = "{self.tenant}:{self.inner.id}:{n}")]
    pub fn count(&self, n: u32) -> u64 {
        u64::from(n) + self.tenant.len() as u64
    }

    #[kvdb::cached(session = "app", key = "{self.tenant}")]
    pub async fn name(&self) -> String {
        self.tenant.clone()
    }
}

mod shadows {
    #![allow(dead_code, non_snake_case, non_camel_case_types, unused_imports)]
    struct Result;
    struct Option;
    struct String;
    struct Vec;
    fn Ok() {}
    fn Some() {}
    mod std {}
    mod core {}
    mod kvdb {}

    #[::kvdb::cached(session = "app", key = "{n}")]
    pub fn shadowed(n: u64) -> u64 {
        n
    }
}

/// Owned arguments: a due refresh runs on a background thread.
#[kvdb::cached(ttl = "1m", refresh_ahead = "10s")]
pub fn background(n: u64, name: String, tag: &'static str) -> Vec<String> {
    vec![format!("{n}{name}{tag}")]
}

/// Not `Send` (an `Rc`): `refresh_inline` keeps the refresh in the caller.
#[kvdb::cached(ttl = "1m", refresh_ahead = "10s", refresh_inline = true, key = "{id}")]
pub fn not_send(id: u64, extra: std::rc::Rc<u64>) -> u64 {
    id + *extra
}

fn main() {
    let _ = (by_template, by_hash, no_arguments, fallible, cached_errors, asynchronous);
    let _ = (background, not_send);
    let _ = shadows::shadowed;
}

//! The first thing to run: `cargo run --example quickstart`.
//!
//! Stores raw and serialized values through named sessions, reads them back with sessions of
//! other settings, and shows the bytes Redis holds.

use kvdb::{Compression, KVDBClient, Serializer, SessionOptions};
use kvdb_examples::{server, step};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    roles: Vec<String>,
}

fn main() -> Result<(), kvdb::Error> {
    let server = server();
    let prefix = format!("kvdb:quickstart:{}", std::process::id());

    step(1, "Named sessions");
    let raw = KVDBClient::get_session(SessionOptions::new("quickstart-raw").url(&server.url))?;
    let json = KVDBClient::get_session(
        SessionOptions::new("quickstart-json")
            .url(&server.url)
            .serializer(Serializer::Json)
            .compression(Compression::Zstd),
    )?;
    println!("   {raw:?}");
    println!("   {json:?}");
    println!(
        "   Same server, different codecs: they share one connection pool: {}",
        raw.shares_pool_with(&json)
    );

    step(2, "Scalars are stored as plain Redis values");
    let visits = format!("{prefix}:visits");
    raw.set(&visits, &41)?;
    json.set(&format!("{prefix}:greeting"), "hello, Redis")?;
    let n: Option<i64> = json.get(&visits)?;
    println!("   {visits} = {n:?} (written by the raw session, read by the JSON one)");

    step(3, "Structured values go through the session's serializer");
    let user = User {
        id: 42,
        name: "Alice".into(),
        roles: vec!["admin".into(), "dev".into()],
    };
    let key = format!("{prefix}:user:42");
    json.set(&key, &user)?;
    let back: Option<User> = raw.get(&key)?;
    println!("   stored {user:?}");
    println!("   read back by the raw session: {back:?}");
    let bytes = json.encoder().encode(&user)?;
    println!(
        "   redis-cli GET {key} shows: {}",
        String::from_utf8_lossy(&bytes)
    );

    step(
        4,
        "A session without a serializer refuses structured values, and says why",
    );
    match raw.set(&format!("{prefix}:nope"), &user) {
        Ok(()) => println!("   unexpected: stored"),
        Err(e) => println!("   error: {e}"),
    }

    step(5, "Missing keys are None, not errors");
    let missing: Option<User> = json.get(&format!("{prefix}:missing"))?;
    println!("   {missing:?}");

    let deleted = json.delete(&[&visits, &format!("{prefix}:greeting"), &key])?;
    println!("\nCleaned up {deleted} keys. Done.");
    Ok(())
}

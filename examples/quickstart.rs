//! The first thing to run: `cargo run --example quickstart`.
//!
//! Stores raw and serialized values through named sessions, reads them back with sessions of
//! other settings, shows the bytes Redis holds, then models, TTLs and a pipeline.

use std::time::Duration;

use kvdb::{Compression, KVDBClient, KvModel, Serializer, SessionOptions};
use kvdb_examples::{server, step};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct User {
    id: u64,
    name: String,
    roles: Vec<String>,
}

/// A model: its key comes from the key schema, its type from the stored tag.
#[derive(Debug, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "quickstart.Customer",
    prefix = "kvdb:quickstart:customers",
    ttl = "10m"
)]
struct Customer {
    #[kv(key)]
    id: u64,
    name: String,
    age: u32,
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

    step(
        6,
        "Models: keys from the schema, exact types back, TTLs by default",
    );
    let ada = Customer {
        id: 42,
        name: "Ada".into(),
        age: 36,
    };
    json.set_model(&ada)?;
    let back: Option<Customer> = json.get_model(&42)?;
    println!("   set_model -> key {:?}", kvdb::model::model_key(&ada)?);
    println!("   get_model::<Customer>(&42) = {back:?}");
    if let Some(any) = raw.get_any(&kvdb::model::model_key(&ada)?)? {
        println!(
            "   get_any found a {} from the stored tag: {any:?}",
            any.type_name()
        );
    }
    println!(
        "   its default TTL: {:?}",
        json.ttl(&kvdb::model::model_key(&ada)?)?
    );

    step(
        7,
        "TTLs on plain values, and a pipeline: several commands, one round trip",
    );
    let session_key = format!("{prefix}:session");
    json.set_ex(&session_key, "token-123", Duration::from_secs(30))?;
    let mut pipe = json.pipeline().atomic();
    let hits = pipe.incr_by(&visits, 10);
    let greeting = pipe.get::<String>(&format!("{prefix}:greeting"));
    let ttl_set = pipe.exists(&session_key);
    let mut results = json.execute(pipe)?;
    println!("   visits after INCRBY 10: {}", results.take(hits)?);
    println!("   greeting: {:?}", results.take(greeting)?);
    println!("   session key exists: {}", results.take(ttl_set)?);

    let deleted = json.delete(&[&visits, &format!("{prefix}:greeting"), &key, &session_key])?;
    json.delete_model::<Customer>(&42)?;
    println!("\nCleaned up {} keys. Done.", deleted + 1);
    Ok(())
}

//! Sharing a model with a Python service that uses kvdb-py:
//! `cargo run --example python_interop`.
//!
//! The Python side is played by the exact bytes kvdb-py 0.0.8 writes for a `models.User`
//! (see `docs/kvdb-py.md`); `tests/tests/kvdb_py_live.rs` runs the real Python library.

use kvdb::{Compression, Format, KVDBClient, KvModel, Serializer, SessionOptions};
use kvdb_examples::{server, step};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Address {
    street: String,
    city: String,
    zip: String,
}

/// The Rust twin of the Python `models.User` (a pydantic model).
#[derive(Debug, Serialize, Deserialize, KvModel)]
#[kv(
    tag = "users.User",
    key = "kvdb-example:pyusers:{id}",
    python = "models.User"
)]
struct User {
    id: i64,
    name: String,
    email: String,
    tags: Vec<String>,
    /// Pydantic writes datetimes inside models as ISO 8601 text.
    created: String,
    score: f64,
    active: bool,
    address: Option<Address>,
}

/// What kvdb-py writes for `User(id=42, ...)` with the json serializer.
const FROM_PYTHON: &str = r#"_kvdbenc_{"__type__": "pydantic", "__class__": "models.User", "value": {"id": 42, "name": "Alice", "email": "alice@example.com", "tags": ["admin", "dev"], "created": "2024-01-02T03:04:05.123456Z", "score": 98.5, "active": true, "address": {"street": "1 Main St", "city": "Springfield", "zip": "12345"}}}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = server();
    let py = KVDBClient::get_session(
        SessionOptions::new("python-interop")
            .url(&server.url)
            .format(Format::KvdbPy)
            .serializer(Serializer::Json)
            .compression(Compression::Zstd),
    )?;
    let raw = redis::Client::open(server.url.as_str())?;
    let mut raw = raw.get_connection()?;

    step(
        1,
        "A Python service stored a models.User at kvdb-example:pyusers:42",
    );
    redis::cmd("SET")
        .arg("kvdb-example:pyusers:42")
        .arg(FROM_PYTHON)
        .exec(&mut raw)?;
    println!("   {}...", &FROM_PYTHON[..90]);

    step(2, "Rust reads it as its own User type");
    let alice: Option<User> = py.get_model(&42)?;
    println!("   get_model::<User>(&42) = {alice:#?}");

    step(
        3,
        "...or without naming the type: __class__ finds it in the registry",
    );
    if let Some(any) = py.get_any("kvdb-example:pyusers:42")? {
        println!("   get_any: a {} (tag {})", any.type_name(), any.tag());
    }

    step(
        4,
        "Rust writes a User the way kvdb-py does, so Python reads a models.User",
    );
    let bob = User {
        id: 43,
        name: "Bob".into(),
        email: "bob@example.com".into(),
        tags: vec![],
        created: "2024-05-06T07:08:09Z".into(),
        score: 1e-7,
        active: false,
        address: None,
    };
    py.set_model(&bob)?;
    let stored: Vec<u8> = redis::cmd("GET")
        .arg("kvdb-example:pyusers:43")
        .query(&mut raw)?;
    println!(
        "   stored {} bytes: _kvdbenc_ + a zstd frame (magic {:02x?}) of:",
        stored.len(),
        &stored[9..13]
    );
    let plain = KVDBClient::get_session(
        SessionOptions::new("python-interop-plain")
            .url(&server.url)
            .format(Format::KvdbPy)
            .serializer(Serializer::Json),
    )?;
    plain.set_model(&bob)?;
    let text: String = redis::cmd("GET")
        .arg("kvdb-example:pyusers:43")
        .query(&mut raw)?;
    println!("   {text}");

    step(
        5,
        "Scalars are plain, as in kvdb-py: numbers as repr text, None as null",
    );
    py.set("kvdb-example:pyusers:count", &2)?;
    py.set("kvdb-example:pyusers:ratio", &1e-7)?;
    py.set("kvdb-example:pyusers:nothing", &None::<i32>)?;
    for key in [
        "kvdb-example:pyusers:count",
        "kvdb-example:pyusers:ratio",
        "kvdb-example:pyusers:nothing",
    ] {
        let v: String = redis::cmd("GET").arg(key).query(&mut raw)?;
        println!("   {key} = {v}");
    }

    let n = py.delete(&[
        "kvdb-example:pyusers:42",
        "kvdb-example:pyusers:43",
        "kvdb-example:pyusers:count",
        "kvdb-example:pyusers:ratio",
        "kvdb-example:pyusers:nothing",
    ])?;
    println!("\nCleaned up {n} keys. Done.");
    Ok(())
}

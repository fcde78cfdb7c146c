//! `kvdb get KEY`: the value at a key, whatever its type and whoever wrote it.

use std::io::Write;

use kvdb::{KeyType, Session, Ttl, redis};
use serde_json::{Map, Value, json};

use crate::connect::{Conn, query};
use crate::show::{Facts, Shown, described};
use crate::{Failure, Outcome};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The key.
    key: String,
    /// Print the stored bytes as they are (strings only).
    #[arg(long, conflicts_with = "json")]
    raw: bool,
    /// Print one JSON object (facts and value) instead of a header and pretty JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    conn: Conn,
}

pub(crate) fn run(args: Args) -> Outcome {
    let session = args.conn.session()?;
    let key = &args.key;
    let kind = session.key_type(key)?;
    if args.raw {
        if kind != KeyType::String {
            return Err(Failure(format!(
                "--raw shows a string's bytes; key {key:?} is a {}",
                type_name(&kind)
            )));
        }
        let bytes: Vec<u8> = query(&session, redis::cmd("GET").arg(key))?;
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes)?;
        return Ok(out.flush()?);
    }
    let mut shown = read(&session, key, &kind)?;
    shown.ttl = Some(match session.pttl(key)? {
        Ttl::Expires(d) => Some(d),
        _ => None,
    });
    shown.print(args.json)
}

fn type_name(kind: &KeyType) -> String {
    match kind {
        KeyType::None => "missing key".into(),
        KeyType::String => "string".into(),
        KeyType::List => "list".into(),
        KeyType::Set => "set".into(),
        KeyType::ZSet => "zset".into(),
        KeyType::Hash => "hash".into(),
        KeyType::Stream => "stream".into(),
        KeyType::Other(name) => name.clone(),
        other => format!("{other:?}"),
    }
}

/// Reads and describes the value at `key`, of type `kind`.
fn read(session: &Session, key: &str, kind: &KeyType) -> Result<Shown, Failure> {
    let what = |i: &dyn std::fmt::Display| format!("key {key:?}, {i}");
    let (redis_type, len, facts, value) = match kind {
        KeyType::None => return Err(Failure(format!("key {key:?} does not exist"))),
        KeyType::String => {
            let bytes: Vec<u8> = query(session, redis::cmd("GET").arg(key))?;
            let (facts, value) = described(&bytes, &format!("key {key:?}"))?;
            ("string", None, facts, value)
        }
        KeyType::Hash => {
            let pairs: Vec<(String, Vec<u8>)> = query(session, redis::cmd("HGETALL").arg(key))?;
            let mut facts = Facts::default();
            let mut map = Map::new();
            for (i, (field, bytes)) in pairs.iter().enumerate() {
                let (f, v) = described(bytes, &what(&format_args!("field {field:?}")))?;
                facts.merge(&f, i == 0);
                map.insert(field.clone(), v);
            }
            ("hash", Some(pairs.len()), facts, Value::Object(map))
        }
        KeyType::List | KeyType::Set => {
            let (cmd, name) = match kind {
                KeyType::List => (redis::cmd("LRANGE").arg(key).arg(0).arg(-1).clone(), "list"),
                _ => (redis::cmd("SMEMBERS").arg(key).clone(), "set"),
            };
            let mut items: Vec<Vec<u8>> = query(session, &cmd)?;
            if name == "set" {
                items.sort();
            }
            let mut facts = Facts::default();
            let mut values = Vec::with_capacity(items.len());
            for (i, bytes) in items.iter().enumerate() {
                let (f, v) = described(bytes, &what(&format_args!("element {i}")))?;
                facts.merge(&f, i == 0);
                values.push(v);
            }
            (name, Some(items.len()), facts, Value::Array(values))
        }
        KeyType::ZSet => {
            let cmd = redis::cmd("ZRANGE")
                .arg(key)
                .arg(0)
                .arg(-1)
                .arg("WITHSCORES")
                .clone();
            let items: Vec<(Vec<u8>, f64)> = query(session, &cmd)?;
            let mut facts = Facts::default();
            let mut values = Vec::with_capacity(items.len());
            for (i, (bytes, score)) in items.iter().enumerate() {
                let (f, v) = described(bytes, &what(&format_args!("member {i}")))?;
                facts.merge(&f, i == 0);
                values.push(json!({"member": v, "score": score}));
            }
            ("zset", Some(items.len()), facts, Value::Array(values))
        }
        other => {
            return Err(Failure(format!(
                "key {key:?} is a {}: kvdb reads strings, hashes, lists, sets and sorted sets",
                type_name(other)
            )));
        }
    };
    Ok(Shown {
        key: Some(key.to_owned()),
        redis_type,
        len,
        facts,
        ttl: None,
        value,
    })
}

//! `kvdb scan [PATTERN]`: every matching key with its type, format, codec, compression, tag
//! and size, or (`--stats`) counts and bytes per tag, codec and compression. Uses SCAN (never
//! KEYS), on a single server or every primary of a cluster.

use kvdb::{KeyType, ScanOptions, Session, redis};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;

use crate::connect::{Conn, query};
use crate::show::{Facts, size};
use crate::{Failure, Outcome};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A glob pattern, as SCAN MATCH takes it (default: every key).
    #[arg(default_value = "*")]
    pattern: String,
    /// Only values with this kvdb type tag or kvdb-py Python class.
    #[arg(long)]
    tag: Option<String>,
    /// Print counts and bytes per type, tag, codec and compression instead of the keys.
    #[arg(long)]
    stats: bool,
    /// One JSON object per key (or, with --stats, one for the totals).
    #[arg(long)]
    json: bool,
    /// Show the progress bar on stderr even when it is not a terminal.
    #[arg(long)]
    progress: bool,
    /// How many keys SCAN looks at per round trip (a hint to the server).
    #[arg(long, default_value_t = 500)]
    count: u64,
    #[command(flatten)]
    conn: Conn,
}

/// What the scan learnt about one key.
struct Entry {
    key: String,
    redis_type: String,
    /// For strings: what the value is; `Err` if its bytes are corrupt.
    facts: Option<Result<Facts, String>>,
}

impl Entry {
    fn tag(&self) -> Option<&str> {
        match &self.facts {
            Some(Ok(f)) => f.tag.as_deref().or(f.python_class.as_deref()),
            _ => None,
        }
    }
}

pub(crate) fn run(args: Args) -> Outcome {
    let session = args.conn.session()?;
    let total = session.dbsize().ok().filter(|n| *n > 0);
    let progress = crate::progress::bar(total, args.progress);
    let mut stats = Stats::default();
    let mut out = std::io::stdout().lock();
    let keys = session.scan(ScanOptions::new().pattern(&args.pattern).count(args.count))?;
    for key in keys {
        let key = key?;
        progress.inc(1);
        let entry = inspect(&session, key)?;
        if args.tag.is_some() && entry.tag() != args.tag.as_deref() {
            continue;
        }
        if args.stats {
            stats.add(&entry);
        } else if args.json {
            writeln!(out, "{}", entry_json(&entry))?;
        } else {
            writeln!(out, "{}", entry_line(&entry))?;
        }
    }
    crate::progress::done(&progress, args.progress);
    if args.stats {
        if args.json {
            writeln!(out, "{}", stats.json())?;
        } else {
            write!(out, "{}", stats.table())?;
        }
    }
    Ok(out.flush()?)
}

fn inspect(session: &Session, key: String) -> Result<Entry, Failure> {
    let kind = session.key_type(&key)?;
    let redis_type = match &kind {
        KeyType::None => "none".to_owned(),
        KeyType::String => "string".to_owned(),
        KeyType::List => "list".to_owned(),
        KeyType::Set => "set".to_owned(),
        KeyType::ZSet => "zset".to_owned(),
        KeyType::Hash => "hash".to_owned(),
        KeyType::Stream => "stream".to_owned(),
        KeyType::Other(name) => name.clone(),
        other => format!("{other:?}").to_lowercase(),
    };
    let facts = if kind == KeyType::String {
        // Deleted since SCAN saw it: nil.
        let bytes: Option<Vec<u8>> = query(session, redis::cmd("GET").arg(&key))?;
        bytes.map(|b| {
            kvdb::format::describe(&b)
                .map(|d| Facts::of(&d))
                .map_err(|e| e.to_string())
        })
    } else {
        None
    };
    Ok(Entry {
        key,
        redis_type,
        facts,
    })
}

fn entry_line(e: &Entry) -> String {
    let rest = match &e.facts {
        Some(Ok(f)) => format!(
            "{}\t{}\t{}\t{}\t{}",
            f.format,
            f.codec,
            f.compression,
            e.tag().unwrap_or("-"),
            f.stored
        ),
        Some(Err(why)) => format!("corrupt\t-\t-\t-\t-\t{why}"),
        None => "-\t-\t-\t-\t-".to_owned(),
    };
    format!("{}\t{}\t{rest}", e.key, e.redis_type)
}

fn entry_json(e: &Entry) -> Value {
    let mut v = json!({"key": e.key, "type": e.redis_type});
    match &e.facts {
        Some(Ok(f)) => {
            v["format"] = json!(f.format);
            v["codec"] = json!(f.codec);
            v["compression"] = json!(f.compression);
            v["tag"] = json!(e.tag());
            v["stored_bytes"] = json!(f.stored);
            v["decoded_bytes"] = json!(f.decoded);
        }
        Some(Err(why)) => {
            v["format"] = json!("corrupt");
            v["error"] = json!(why);
        }
        None => {}
    }
    v
}

/// Keys and bytes of one group.
#[derive(Default, Clone, Copy)]
struct Tally {
    keys: u64,
    stored: u64,
    decoded: u64,
}

impl Tally {
    fn add(&mut self, stored: usize, decoded: usize) {
        self.keys += 1;
        self.stored += stored as u64;
        self.decoded += decoded as u64;
    }

    /// Stored bytes per decoded byte (below 1: compression saves space).
    fn ratio(&self) -> Option<f64> {
        (self.decoded > 0).then(|| self.stored as f64 / self.decoded as f64)
    }

    fn json(&self) -> Value {
        json!({"keys": self.keys, "stored_bytes": self.stored, "decoded_bytes": self.decoded,
            "ratio": self.ratio()})
    }
}

#[derive(Default)]
struct Stats {
    by_type: BTreeMap<String, u64>,
    by_tag: BTreeMap<String, Tally>,
    by_codec: BTreeMap<String, Tally>,
    by_compression: BTreeMap<String, Tally>,
    values: Tally,
}

impl Stats {
    fn add(&mut self, e: &Entry) {
        *self.by_type.entry(e.redis_type.clone()).or_default() += 1;
        match &e.facts {
            Some(Ok(f)) => {
                let tag = e.tag().unwrap_or("-").to_owned();
                for (map, group) in [
                    (&mut self.by_tag, tag),
                    (&mut self.by_codec, f.codec.clone()),
                    (&mut self.by_compression, f.compression.clone()),
                ] {
                    map.entry(group).or_default().add(f.stored, f.decoded);
                }
                self.values.add(f.stored, f.decoded);
            }
            Some(Err(_)) => {
                self.by_tag.entry("(corrupt)".into()).or_default().add(0, 0);
            }
            None => {}
        }
    }

    fn json(&self) -> Value {
        let group = |m: &BTreeMap<String, Tally>| -> Value {
            m.iter().map(|(k, t)| (k.clone(), t.json())).collect()
        };
        json!({
            "keys": self.by_type.values().sum::<u64>(),
            "by_type": self.by_type,
            "by_tag": group(&self.by_tag),
            "by_codec": group(&self.by_codec),
            "by_compression": group(&self.by_compression),
            "strings": self.values.json(),
        })
    }

    fn table(&self) -> String {
        let mut s = String::new();
        let types: Vec<String> = self
            .by_type
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect();
        s += &format!(
            "{} keys ({})\n",
            self.by_type.values().sum::<u64>(),
            types.join(", ")
        );
        for (title, map) in [
            ("tag", &self.by_tag),
            ("codec", &self.by_codec),
            ("compression", &self.by_compression),
        ] {
            s += &format!(
                "\n{:<24} {:>8} {:>12} {:>12} {:>7}\n",
                title, "keys", "stored", "decoded", "ratio"
            );
            for (name, t) in map {
                s += &row(name, t);
            }
        }
        s += &format!("\n{}", row("all string values", &self.values));
        s
    }
}

fn row(name: &str, t: &Tally) -> String {
    let ratio = t.ratio().map_or("-".to_owned(), |r| format!("{r:.2}"));
    format!(
        "{:<24} {:>8} {:>12} {:>12} {:>7}\n",
        name,
        t.keys,
        size(t.stored as usize),
        size(t.decoded as usize),
        ratio
    )
}

//! `kvdb set KEY --json '{...}'`: writes a value as kvdb (or kvdb-py) would.

use std::time::Duration;

use clap::ValueEnum;
use kvdb::format::{CompressionOptions, Encoder, PyClass, PyKind, validate_tag};
use kvdb::{Compression, Format, Serializer, redis};
use serde_json::Value;

use crate::connect::{Conn, query};
use crate::show::{Shown, described};
use crate::{Failure, Outcome};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The key.
    key: String,
    /// The value, as JSON.
    #[arg(long = "json", value_name = "JSON")]
    value: String,
    /// Store it as a model with this type tag (kvdb), or Python class (kvdb-py).
    #[arg(long)]
    tag: Option<String>,
    /// The model's schema version (with --tag).
    #[arg(long, default_value_t = 1, requires = "tag")]
    schema_version: u32,
    /// The serializer for structured values (scalars stay plain).
    #[arg(long, value_enum, default_value_t = SerializerArg::Json)]
    serializer: SerializerArg,
    /// Compress the payload.
    #[arg(long, value_enum, default_value_t = CompressionArg::None)]
    compression: CompressionArg,
    /// The compression level (default: the algorithm's).
    #[arg(long, requires = "compression")]
    level: Option<i32>,
    /// Expire the key after this long: `90`, `90s`, `500ms`, `15m`, `2h`, `7d`.
    #[arg(long, value_parser = parse_duration)]
    ttl: Option<Duration>,
    /// Whose format to write.
    #[arg(long, value_enum, default_value_t = FormatArg::Kvdb)]
    format: FormatArg,
    #[command(flatten)]
    conn: Conn,
}

#[derive(Clone, Copy, ValueEnum)]
enum SerializerArg {
    Json,
    Cbor,
    Msgpack,
}

#[derive(Clone, Copy, ValueEnum)]
enum CompressionArg {
    None,
    Zstd,
    Lz4,
    Gzip,
    Zlib,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Kvdb,
    #[value(name = "kvdb-py")]
    KvdbPy,
}

pub(crate) fn run(args: Args) -> Outcome {
    let value: Value = serde_json::from_str(&args.value)
        .map_err(|e| Failure(format!("--json is not valid JSON: {e}")))?;
    let bytes = encode(&args, &value)?;
    let session = args.conn.session()?;
    let mut cmd = redis::cmd("SET");
    cmd.arg(&args.key).arg(&bytes);
    if let Some(ttl) = args.ttl {
        cmd.arg("PX").arg(ttl.as_millis().max(1) as u64);
    }
    query::<()>(&session, &cmd)?;
    let (facts, value) = described(&bytes, "the written value")?;
    let shown = Shown {
        key: Some(args.key.clone()),
        redis_type: "string",
        len: None,
        facts,
        ttl: Some(args.ttl),
        value,
    };
    println!("{}", shown.header());
    Ok(())
}

/// The stored bytes for `value`.
fn encode(args: &Args, value: &Value) -> Result<Vec<u8>, Failure> {
    let algorithm = match args.compression {
        CompressionArg::None => Compression::None,
        CompressionArg::Zstd => Compression::Zstd,
        CompressionArg::Lz4 => Compression::Lz4,
        CompressionArg::Gzip => Compression::Gzip,
        CompressionArg::Zlib => Compression::Zlib,
    };
    let mut compression = CompressionOptions {
        // Asked for: compress whatever the size.
        min_size: 0,
        ..CompressionOptions::new(algorithm)
    };
    if let Some(level) = args.level {
        compression.level = level;
    }
    compression
        .validate()
        .map_err(|e| Failure(format!("--compression/--level: {e}")))?;
    let serializer = match args.serializer {
        SerializerArg::Json => Serializer::Json,
        SerializerArg::Cbor => Serializer::Cbor,
        SerializerArg::Msgpack => Serializer::MsgPack,
    };
    let format = match args.format {
        FormatArg::Kvdb => Format::Native,
        FormatArg::KvdbPy => Format::KvdbPy,
    };
    let encoder = Encoder {
        format,
        ..Encoder::new(serializer)
    }
    .with_compression(compression);
    let mut out = Vec::new();
    match (&args.tag, format) {
        (Some(class), Format::KvdbPy) => {
            let class = PyClass {
                kind: PyKind::Pydantic,
                name: class,
            };
            encoder.encode_py_model(value, class, &mut out)?;
        }
        (Some(tag), _) => {
            validate_tag(tag).map_err(|e| Failure(format!("--tag: {e}")))?;
            encoder.encode_into(value, Some((tag, args.schema_version)), &mut out)?;
        }
        (None, _) => encoder.encode_into(value, None, &mut out)?,
    }
    Ok(out)
}

/// `90`, `90s`, `500ms`, `15m`, `2h`, `7d`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90, 90s, 500ms, 15m, 2h, 7d)"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}: use ms, s, m, h or d"
            ));
        }
    };
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a positive duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("5y").unwrap_err().contains("unit"));
        assert!(parse_duration("soon").is_err());
    }
}

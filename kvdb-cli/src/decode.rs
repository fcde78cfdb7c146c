//! `kvdb decode [FILE]`: stored bytes from a file or stdin, shown as `get` shows them.

use std::io::Read;
use std::path::PathBuf;

use crate::show::{Shown, described};
use crate::{Failure, Outcome};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// The file holding the stored bytes; `-` or nothing: stdin.
    file: Option<PathBuf>,
    /// The input is hex text (as `redis-cli --no-raw` or the kvdb-py vectors show bytes).
    #[arg(long)]
    hex: bool,
    /// Print one JSON object (facts and value) instead of a header and pretty JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> Outcome {
    let mut bytes = Vec::new();
    let source = match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            bytes = std::fs::read(path)
                .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
            path.display().to_string()
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut bytes)
                .map_err(|e| Failure(format!("cannot read stdin: {e}")))?;
            "stdin".to_owned()
        }
    };
    if args.hex {
        bytes = unhex(&bytes).map_err(|e| Failure(format!("{source}: {e}")))?;
    }
    let (facts, value) = described(&bytes, &source)?;
    Shown {
        key: None,
        redis_type: "string",
        len: None,
        facts,
        ttl: None,
        value,
    }
    .print(args.json)
}

/// Hex text (whitespace ignored) to bytes.
fn unhex(text: &[u8]) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
                .ok_or_else(|| {
                    format!(
                        "not hex at digit {}: {:?}",
                        2 * i,
                        String::from_utf8_lossy(pair)
                    )
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_input_ignores_whitespace_and_refuses_garbage() {
        assert_eq!(super::unhex(b"6b 76\n31").unwrap(), b"kv1");
        assert!(super::unhex(b"6b7").unwrap_err().contains("odd"));
        assert!(super::unhex(b"zz").unwrap_err().contains("not hex"));
    }
}

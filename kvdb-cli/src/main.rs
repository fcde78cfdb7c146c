//! `kvdb`: read, scan and write kvdb and kvdb-py values in Redis from the command line.
//!
//! Every value kvdb stores describes itself, so `kvdb get` shows any of them as JSON with
//! what wrote it; `kvdb decode` does the same for bytes from a file or stdin, without a
//! server. Errors are one line on stderr and a non-zero exit status; passwords never show.

mod connect;
mod decode;
mod get;
mod progress;
mod scan;
mod set;
mod show;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Read, scan and write kvdb and kvdb-py values in Redis.
#[derive(Parser)]
#[command(name = "kvdb", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the value at a key as JSON, with a header line saying what it is.
    Get(get::Args),
    /// List keys with their type, format, codec, compression, tag and size; or --stats.
    Scan(scan::Args),
    /// Write a JSON value in kvdb's format (or kvdb-py's), for fixtures and repairs.
    Set(set::Args),
    /// Show stored bytes read from a file or stdin, as `get` does (no server needed).
    Decode(decode::Args),
}

/// What a command failed with: a message for the user (one line).
#[derive(Debug)]
pub(crate) struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// A command's result.
pub(crate) type Outcome = Result<(), Failure>;

fn main() -> ExitCode {
    // A bug must still end in one line, not a panic message and a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "kvdb: internal error: {}",
            one_line(&what)
        );
    }));
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Get(args) => get::run(args),
        Command::Scan(args) => scan::run(args),
        Command::Set(args) => set::run(args),
        Command::Decode(args) => decode::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`kvdb scan | head`): not an error.
        Err(Failure(m)) if m.contains("Broken pipe") => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            let _ = writeln!(std::io::stderr(), "kvdb: {}", one_line(&message));
            ExitCode::FAILURE
        }
    }
}

/// `text` on one line.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

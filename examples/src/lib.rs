//! Shared by the examples: find a Redis server to talk to.
//!
//! 1. `KVDB_URL`, if set;
//! 2. else a server already answering on `127.0.0.1:6379`;
//! 3. else a throwaway `redis-server` started from `PATH` (the same code the test harness
//!    uses), stopped when the example ends;
//! 4. else the example exits with a message that says how to install or start Redis.

use std::time::Duration;

use kvdb::testing::{TestServer, answers_ping};

/// The server an example uses; keeps a throwaway server alive while it is in scope.
pub struct ExampleServer {
    /// The URL to connect to.
    pub url: String,
    started: Option<TestServer>,
}

impl ExampleServer {
    /// Whether the example started its own server.
    pub fn is_throwaway(&self) -> bool {
        self.started.is_some()
    }
}

impl Drop for ExampleServer {
    fn drop(&mut self) {
        if let Some(s) = &self.started {
            println!("Stopping the throwaway redis-server on port {}.", s.port());
        }
    }
}

/// Finds or starts a server, printing which; exits the process with a clear message if there
/// is none and none can be started.
pub fn server() -> ExampleServer {
    if let Ok(url) = std::env::var("KVDB_URL")
        && !url.is_empty()
    {
        println!("Using the server from KVDB_URL.");
        return ExampleServer { url, started: None };
    }
    if answers_ping(6379, Duration::from_millis(300)) {
        println!("Using the Redis server at redis://127.0.0.1:6379/0.");
        return ExampleServer {
            url: "redis://127.0.0.1:6379/0".into(),
            started: None,
        };
    }
    println!("Nothing answers at 127.0.0.1:6379; starting a throwaway redis-server...");
    match TestServer::start() {
        Ok(s) => {
            println!(
                "Started redis-server on port {} (it stops when this example ends).",
                s.port()
            );
            ExampleServer {
                url: s.url(),
                started: Some(s),
            }
        }
        Err(e) => {
            eprintln!("No Redis server to talk to: {e}.");
            eprintln!(
                "Start one with `redis-server` (or `docker run -p 6379:6379 redis`), or set KVDB_URL=redis://host:port/db."
            );
            std::process::exit(2);
        }
    }
}

/// Prints a step heading.
pub fn step(n: u32, title: &str) {
    println!("\n{n}. {title}");
}

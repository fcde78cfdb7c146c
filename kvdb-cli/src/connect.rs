//! The session the commands use: `--url`, or the environment variables every kvdb session
//! reads (`KVDB_URL`, `REDIS_URL`, `REDIS_HOST`, ...).

use std::time::Duration;

use kvdb::{KVDBClient, Session, SessionOptions, redis};

use crate::Failure;

/// Where to connect.
#[derive(clap::Args)]
pub(crate) struct Conn {
    /// The server: `redis://[user:password@]host:port/db`, `rediss://`, `redis+cluster://`,
    /// `redis+sentinel://`. Default: KVDB_URL, REDIS_URL or REDIS_HOST/PORT/DB/PASSWORD as for
    /// any kvdb session, else redis://localhost:6379/0.
    #[arg(long)]
    url: Option<String>,
    /// Seconds to wait for a connection or a reply.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
}

impl Conn {
    /// A session with these settings. Errors never show the password.
    pub(crate) fn session(&self) -> Result<Session, Failure> {
        let timeout = Duration::try_from_secs_f64(self.timeout).map_err(|_| {
            Failure(format!(
                "--timeout {}: not a duration in seconds",
                self.timeout
            ))
        })?;
        let mut options = SessionOptions::new("kvdb-cli")
            .client_name("kvdb-cli")
            .connect_timeout(timeout)
            .pool_timeout(timeout)
            .response_timeout(timeout)
            .pool_size(2);
        if let Some(url) = &self.url {
            options = options.url(url);
        }
        Ok(KVDBClient::get_session(options)?)
    }
}

/// Runs a command whose reply is read with `redis`'s conversions.
pub(crate) fn query<T: redis::FromRedisValue + Send>(
    session: &Session,
    cmd: &redis::Cmd,
) -> Result<T, Failure> {
    Ok(session.query::<T>(cmd)?)
}

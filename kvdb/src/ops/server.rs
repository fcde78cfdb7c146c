//! Server commands: liveness, information, size, and emptying a database.

use super::decode;
use crate::error::Result;
use crate::transport::{Command, Decoder};

fn ping() -> Result<Command<impl Decoder<()> + use<>>> {
    Ok(Command::new(
        redis::cmd("PING"),
        |reply| match decode::string(reply, "PING")?.as_str() {
            "PONG" => Ok(()),
            other => Err(crate::core::unexpected(
                "PING",
                &redis::Value::SimpleString(other.to_owned()),
            )),
        },
    ))
}

fn info(section: Option<&str>) -> Result<Command<impl Decoder<String> + use<>>> {
    let mut cmd = redis::cmd("INFO");
    if let Some(s) = section {
        cmd.arg(s);
    }
    Ok(Command::new(cmd, |reply| decode::string(reply, "INFO")))
}

fn dbsize() -> Result<Command<impl Decoder<u64> + use<>>> {
    Ok(Command::new(redis::cmd("DBSIZE"), |reply| {
        decode::count(reply, "DBSIZE")
    }))
}

fn flushdb() -> Result<Command<impl Decoder<()> + use<>>> {
    Ok(Command::new(redis::cmd("FLUSHDB"), |reply| {
        decode::ok(reply, "FLUSHDB")
    }))
}

session_methods! {
    /// Checks that the server answers (`PING`).
    fn ping() -> () = [pipe, read] run |_| ping();

    /// The server's `INFO` text, for one section (`"server"`, `"memory"`, `"keyspace"`, ...)
    /// or the default ones.
    fn info(section: Option<&str>) -> String = [pipe, read] run |_| info(section);

    /// How many keys the session's database holds (`DBSIZE`).
    fn dbsize() -> u64 = [pipe, read] run |_| dbsize();

    /// Deletes every key of the session's database (`FLUSHDB`), including keys of other
    /// sessions and programs using the same database. Never called implicitly by kvdb.
    fn flushdb() -> () = [pipe, idempotent] run |_| flushdb();
}

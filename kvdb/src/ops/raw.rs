//! The escape hatch: any command, its reply read with the `redis` crate's own conversions.

use redis::FromRedisValue;

use crate::error::{Error, Result};
use crate::transport::{Command, Decoder};

fn query<T: FromRedisValue + Send>(cmd: &redis::Cmd) -> Result<Command<impl Decoder<T> + use<T>>> {
    Ok(Command::new(cmd.clone(), |reply| {
        T::from_redis_value(reply).map_err(|e| Error::from(redis::RedisError::from(e)))
    }))
}

session_methods! {
    /// Runs any command and converts its reply with [`redis::FromRedisValue`] (no kvdb
    /// decoding: values written by a kvdb serializer come back as their stored bytes).
    /// The command's second argument is named in errors as the key. The `redis` crate is
    /// re-exported as [`kvdb::redis`](crate::redis).
    ///
    /// ```no_run
    /// # fn main() -> kvdb::Result<()> {
    /// # let session = kvdb::KVDBClient::get_session(kvdb::SessionOptions::new("doc"))?;
    /// use kvdb::redis;
    /// session.set("n", &42)?;
    /// let encoding: String = session.query(redis::cmd("OBJECT").arg("ENCODING").arg("n"))?;
    /// assert_eq!(encoding, "int");
    /// # Ok(()) }
    /// ```
    fn query[T](cmd: &redis::Cmd) -> T where [T: FromRedisValue + Send] = [pipe, once] run |_| query::<T>(cmd);
}

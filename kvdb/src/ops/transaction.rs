//! Optimistic transactions over several keys: `WATCH` the keys, read them, queue writes, and
//! `EXEC` the writes only if no watched key changed meanwhile; otherwise run the body again.
//!
//! The body is the caller's code, so the loop that calls it exists once for each transport
//! (sync and async); everything else, the reads, the queued writes, the `EXEC` and what its
//! reply means, is shared: the reads and writes are generated from the ops list
//! (`session_methods!`, entries marked `pipe`; `read` ones run at once, the others queue), and
//! [`Attempt`] holds the rest.

use std::time::Duration;

use super::batch::{Exec, Pipeline, PipelineResults};
use super::model_conv::{MAX_ATTEMPTS, backoff, conflict};
use crate::error::{Error, Result};
use crate::transport::{Command, Decoder};

/// The state a transaction keeps across attempts: its keys and how many races it lost.
struct Attempt {
    watch: Option<redis::Cmd>,
    first_key: Option<String>,
    lost: u32,
}

impl Attempt {
    fn new(keys: &[&str]) -> Self {
        let watch = (!keys.is_empty()).then(|| {
            let mut cmd = redis::cmd("WATCH");
            cmd.arg(keys);
            cmd
        });
        Attempt {
            watch,
            first_key: keys.first().map(|k| (*k).to_owned()),
            lost: 0,
        }
    }

    /// What `EXEC` answered (`None`: aborted): `Ok(None)` if committed; `Ok(Some(pause))` if
    /// a watched key changed and the body runs again after `pause`; `Err` after too many lost
    /// races. (A queued command that failed has already failed the `EXEC`'s decoding.)
    fn settle(&mut self, exec: Option<PipelineResults>) -> Result<Option<Duration>> {
        match exec {
            Some(_) => Ok(None),
            None => {
                self.lost += 1;
                if self.lost >= MAX_ATTEMPTS {
                    return Err(conflict(self.first_key.as_deref(), self.lost));
                }
                Ok(Some(backoff(self.lost)))
            }
        }
    }
}

/// A transaction in progress, handed to the body of
/// [`Session::transaction`](crate::Session::transaction).
///
/// Reads (`get`, `get_model`, `hget`, `exists`... every reading operation of [`Session`](crate::Session))
/// run at once on the transaction's connection and see the watched keys as they are; writes
/// (`set`, `set_model`, `incr_by`, `hset`... every other single-command operation) are queued
/// and run together in `MULTI`/`EXEC` when the body returns `Ok`, only if no watched key
/// changed since `WATCH`. Raw commands are queued with [`query`](Self::query).
#[must_use]
pub struct Transaction<'a> {
    pub(crate) queue: Pipeline<'a>,
    /// A pooled connection, borrowed from the session's pool for the transaction.
    conn: Box<dyn crate::transport::sync::Link + 'a>,
    /// Whether `WATCH` is in force on the connection (it goes back to the pool clean).
    watching: bool,
}

impl<'a> Transaction<'a> {
    pub(crate) fn read<O, F: Decoder<O>>(&mut self, op: Command<F>) -> Result<O> {
        crate::transport::sync::run_on_link(&mut *self.conn, op)
    }

    fn send(&mut self, cmd: &redis::Cmd) -> Result<()> {
        crate::transport::sync::run_on_link(&mut *self.conn, Command::new(cmd.clone(), |_| Ok(())))
    }

    /// Takes the queued writes, leaving an empty queue for the next attempt.
    fn take_queue(&mut self) -> Pipeline<'a> {
        let core = *self.queue.core();
        std::mem::replace(&mut self.queue, Pipeline::new(core))
    }

    /// Sends the queued writes in `MULTI`/`EXEC`: what `EXEC` answered (`None`: aborted), or
    /// `Some` of no results when nothing was queued.
    fn commit(&mut self) -> Result<Option<PipelineResults>> {
        match self.take_queue().into_exec()? {
            Exec::Send(exec) => {
                let out = crate::transport::sync::run_on_link(&mut *self.conn, exec);
                // EXEC ends the WATCH, whether it ran or not; a request refused before it was
                // sent (`CrossSlot`) did not, and `Drop` unwatches.
                if out.is_ok() {
                    self.watching = false;
                }
                out
            }
            Exec::Local(results) => {
                self.unwatch()?;
                Ok(Some(results))
            }
        }
    }

    fn unwatch(&mut self) -> Result<()> {
        if self.watching {
            self.watching = false;
            self.send(&redis::cmd("UNWATCH"))?;
        }
        Ok(())
    }
}

impl Drop for Transaction<'_> {
    fn drop(&mut self) {
        // The body panicked or a read failed: the connection goes back to the pool, so it must
        // not keep watching (best effort; a broken connection is dropped by the pool anyway).
        let _ = self.unwatch();
    }
}

impl std::fmt::Debug for Transaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl crate::Session {
    /// Runs `body` as an optimistic transaction over `keys`: `WATCH` the keys, run `body`
    /// (its reads see the keys as they are, its writes are queued), then `EXEC` the writes
    /// only if no watched key changed meanwhile. If one did, `body` runs again (after a short
    /// random pause), up to 1000 times, then [`Error::Conflict`]. When `body` returns `Err`,
    /// nothing is written and the error is returned.
    ///
    /// `E` is any error type kvdb's errors convert into (`From<kvdb::Error>`), so `?` works on
    /// the reads inside `body` and on the call: `kvdb::Error` itself, your application's error
    /// enum with a `#[from] kvdb::Error` variant, or `anyhow::Error`. A queued write that fails
    /// (e.g. `WRONGTYPE`) makes the call fail with that error; the others have run (Redis does
    /// not roll back). On a Cluster every key (watched and written) must be in one slot (use a
    /// hash tag), else [`Error::CrossSlot`]. `body` may run several times: keep side effects
    /// out of it. Model keys are [`key_of`](crate::model::key_of).
    ///
    /// ```no_run
    /// # use kvdb::KvModel;
    /// # use serde::{Deserialize, Serialize};
    /// use kvdb::model::key_of;
    ///
    /// #[derive(Serialize, Deserialize, KvModel)]
    /// #[kv(prefix = "stock")]
    /// struct Stock { #[kv(key)] sku: String, qty: u32 }
    ///
    /// # fn demo(session: &kvdb::Session) -> kvdb::Result<()> {
    /// // Move 5 from A to B, only if A has enough.
    /// let (a, b) = (key_of::<Stock>("A")?, key_of::<Stock>("B")?);
    /// let moved = session.transaction(&[&a, &b], |tx| {
    ///     let (Some(mut from), Some(mut to)) =
    ///         (tx.get_model::<Stock>("A")?, tx.get_model::<Stock>("B")?)
    ///     else {
    ///         return Ok(false);
    ///     };
    ///     if from.qty < 5 {
    ///         return Ok(false); // nothing is written
    ///     }
    ///     from.qty -= 5;
    ///     to.qty += 5;
    ///     tx.set_model(&from).set_model(&to);
    ///     Ok::<_, kvdb::Error>(true)
    /// })?;
    /// # Ok(()) }
    /// ```
    pub fn transaction<'a, R, E, F>(
        &'a self,
        keys: &[&str],
        mut body: F,
    ) -> std::result::Result<R, E>
    where
        F: FnMut(&mut Transaction<'a>) -> std::result::Result<R, E>,
        E: From<Error>,
    {
        // kvdb's own failures are the outer `Err`, the body's the inner one: the span tells
        // them apart.
        let run = || -> Result<std::result::Result<R, E>> {
            let mut attempt = Attempt::new(keys);
            let mut tx = Transaction {
                queue: Pipeline::new(*self.core()),
                conn: self.pool().sync.reserve()?,
                watching: false,
            };
            loop {
                if let Some(watch) = &attempt.watch {
                    tx.send(watch)?;
                    tx.watching = true;
                }
                let out = match body(&mut tx) {
                    Ok(out) => out,
                    Err(e) => {
                        let _ = tx.take_queue();
                        tx.unwatch()?;
                        return Ok(Err(e));
                    }
                };
                let exec = tx.commit()?;
                match attempt.settle(exec)? {
                    None => return Ok(Ok(out)),
                    Some(pause) => std::thread::sleep(pause),
                }
            }
        };
        let info = self.op_info("transaction");
        self.pool().sync.scoped(info, keys.len(), run)?
    }
}

/// An async transaction in progress, handed to the body of
/// [`AsyncSession::transaction`](crate::AsyncSession::transaction): the same reads (`async`)
/// and queued writes as [`Transaction`].
#[cfg(feature = "async")]
#[must_use]
pub struct AsyncTransaction<'a> {
    pub(crate) queue: Pipeline<'a>,
    conn: crate::transport::aio::Channel,
}

#[cfg(feature = "async")]
impl<'a> AsyncTransaction<'a> {
    pub(crate) async fn read<O, F: Decoder<O>>(&mut self, op: Command<F>) -> Result<O> {
        self.conn.run(op).await
    }

    async fn send(&mut self, cmd: &redis::Cmd) -> Result<()> {
        self.conn.run(Command::new(cmd.clone(), |_| Ok(()))).await
    }

    /// Sends the queued writes in `MULTI`/`EXEC`: what `EXEC` answered (`None`: aborted).
    async fn commit(&mut self) -> Result<Option<PipelineResults>> {
        let core = *self.queue.core();
        match std::mem::replace(&mut self.queue, Pipeline::new(core)).into_exec()? {
            Exec::Send(exec) => self.conn.run(exec).await,
            Exec::Local(results) => {
                self.send(&redis::cmd("UNWATCH")).await?;
                Ok(Some(results))
            }
        }
    }
}

#[cfg(feature = "async")]
impl std::fmt::Debug for AsyncTransaction<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncTransaction")
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

/// The future an async transaction's body returns: boxed, so that it may borrow the
/// transaction (write the body as `|tx| Box::pin(async move { ... })`).
#[cfg(feature = "async")]
pub type TxFuture<'t, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 't>>;

#[cfg(feature = "async")]
impl crate::AsyncSession {
    /// The async [`Session::transaction`](crate::Session::transaction), on a connection of
    /// its own. The body returns a boxed future ([`TxFuture`]) that may borrow `tx`: write it
    /// as `|tx| Box::pin(async move { ... })`. It may run several times, so it can capture
    /// only what it can use again (references, `Copy` values, or clones made inside).
    ///
    /// ```no_run
    /// # use kvdb::KvModel;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Serialize, Deserialize, KvModel)] #[kv(prefix = "stock")]
    /// # struct Stock { #[kv(key)] sku: String, qty: u32 }
    /// # async fn demo(session: &kvdb::AsyncSession) -> kvdb::Result<()> {
    /// use kvdb::model::key_of;
    /// let (a, b) = (key_of::<Stock>("A")?, key_of::<Stock>("B")?);
    /// let moved = session
    ///     .transaction(&[&a, &b], |tx| Box::pin(async move {
    ///         let (Some(mut from), Some(mut to)) =
    ///             (tx.get_model::<Stock>("A").await?, tx.get_model::<Stock>("B").await?)
    ///         else {
    ///             return Ok(false);
    ///         };
    ///         if from.qty < 5 {
    ///             return Ok(false);
    ///         }
    ///         from.qty -= 5;
    ///         to.qty += 5;
    ///         tx.set_model(&from).set_model(&to);
    ///         Ok::<_, kvdb::Error>(true)
    ///     }))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<'a, R, E, F>(
        &self,
        keys: &[&str],
        mut body: F,
    ) -> std::result::Result<R, E>
    where
        F: for<'t> FnMut(&'t mut AsyncTransaction<'a>) -> TxFuture<'t, std::result::Result<R, E>>,
        E: From<Error>,
    {
        let run = async {
            let mut attempt = Attempt::new(keys);
            let mut tx = AsyncTransaction {
                queue: Pipeline::new(*self.core()),
                conn: self.pool().aio.reserve().await?,
            };
            loop {
                if let Some(watch) = &attempt.watch {
                    tx.send(watch).await?;
                }
                // On `Err` the connection, with its WATCH, is simply closed.
                let out = match body(&mut tx).await {
                    Ok(out) => out,
                    Err(e) => return Ok(Err(e)),
                };
                let exec = tx.commit().await?;
                match attempt.settle(exec)? {
                    None => return Ok(Ok(out)),
                    Some(pause) => tokio::time::sleep(pause).await,
                }
            }
        };
        let info = self.op_info("transaction");
        self.pool().aio.scoped(info, keys.len(), run).await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lost_races_are_retried_with_a_short_pause_then_bounded() {
        let mut attempt = Attempt::new(&["a", "b"]);
        for lost in 1..MAX_ATTEMPTS {
            let pause = attempt
                .settle(None)
                .unwrap()
                .expect("a lost race runs the body again");
            assert!(
                pause <= Duration::from_millis(32),
                "pause {pause:?} after {lost} losses"
            );
        }
        match attempt.settle(None) {
            Err(Error::Conflict { key, attempts }) => {
                assert_eq!(attempts, MAX_ATTEMPTS);
                assert_eq!(key.key(), Some("a"), "names the first watched key");
            }
            other => panic!("expected a conflict after {MAX_ATTEMPTS} losses, got {other:?}"),
        }
    }

    #[test]
    fn a_committed_exec_ends_the_loop_and_no_keys_means_no_watch() {
        let mut attempt = Attempt::new(&[]);
        assert!(attempt.watch.is_none());
        assert!(
            attempt
                .settle(Some(PipelineResults::empty()))
                .unwrap()
                .is_none()
        );
        let watch = Attempt::new(&["x", "y"]).watch.unwrap();
        let args: Vec<Vec<u8>> = watch
            .args_iter()
            .map(|a| match a {
                redis::Arg::Simple(b) => b.to_vec(),
                _ => Vec::new(),
            })
            .collect();
        assert_eq!(args, [b"WATCH".to_vec(), b"x".to_vec(), b"y".to_vec()]);
    }
}

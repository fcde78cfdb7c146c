//! Async operations on a connection of their own, outside the shared multiplexed one: a
//! blocking command (whose wait must not hold the shared connection up) and a transaction's
//! reserved connection (its `WATCH` state lives on it), both opened by [`dedicated`].
//!
//! [`dedicated`]: AsyncPool::dedicated

use std::time::Duration;

use super::aio::AsyncPool;
use super::aio_shared::{Backend, Channel, Server};
#[cfg(feature = "cluster")]
use super::connect;
use super::observe::{self, OpInfo};
use super::{Blocking, Op};
use crate::error::{Error, Result};
use crate::retry::Safety;

impl AsyncPool {
    /// A new connection of its own, for WATCH transactions and blocking commands.
    pub(super) async fn dedicated(&self, response_timeout: Option<Duration>) -> Result<Channel> {
        match &self.backend {
            Backend::Server {
                primary: Server { target, .. },
                ..
            } => {
                let conn = self
                    .open(target, response_timeout)
                    .await
                    .map_err(|source| Error::Connect {
                        server: self.server.clone(),
                        source,
                    })?;
                Ok(Channel::Dedicated(conn))
            }
            #[cfg(feature = "cluster")]
            Backend::Cluster {
                client, primaries, ..
            } => Ok(Channel::Cluster {
                conn: client
                    .get_async_connection_with_config(connect::cluster_config(
                        &self.settings,
                        Some(response_timeout),
                    ))
                    .await?,
                batch: None,
                primaries: primaries.clone(),
            }),
        }
    }

    /// Runs a command that makes the server wait, on a connection of its own (so that the
    /// shared connection is not held up) whose response timeout allows for the wait.
    pub(crate) async fn blocking<O: Op>(
        &self,
        Blocking { op, wait }: Blocking<O>,
        info: OpInfo<'_>,
    ) -> Result<O::Output> {
        let timeout = Blocking { op: (), wait }.response_timeout(self.settings.response_timeout);
        let safety = info.safety();
        observe::aio_op(info, &self.server, op, |op| {
            self.request_on(op, safety, || self.dedicated(timeout))
        })
        .await
    }

    /// Runs a transaction (driven by the caller on a [`reserve`](Self::reserve)d connection)
    /// inside one span; the outer `Err` is kvdb's failure, the inner one the body's.
    pub(crate) async fn scoped<T, E>(
        &self,
        info: OpInfo<'_>,
        keys: usize,
        run: impl std::future::Future<Output = Result<std::result::Result<T, E>>>,
    ) -> Result<std::result::Result<T, E>> {
        observe::aio_scoped(info, &self.server, keys, run).await
    }

    /// A connection of its own, kept for several requests (a transaction's WATCH state lives
    /// on it); closed when dropped. Like a conversation's, only getting it is retried.
    pub(crate) async fn reserve(&self) -> Result<Channel> {
        self.retrying(Safety::Once, || {
            self.dedicated(self.settings.response_timeout)
        })
        .await
    }
}

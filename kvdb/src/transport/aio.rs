//! The async transport (feature `async`): one auto-reconnecting multiplexed connection
//! (`redis::aio::ConnectionManager`) per pool and per tokio runtime.
//!
//! A multiplexed connection is driven by a task on the runtime that created it; when that
//! runtime shuts down (every `#[tokio::test]` has its own), the connection dies with it. So the
//! pool keeps one connection per live runtime and forgets a runtime's connection when the
//! runtime is gone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use redis::Value;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};

use super::sync::check_connection;
use super::{Blocking, Conversation, Cursor, Op, Pages, Request, Step, finish, with_key};
use crate::error::{Error, Result};
use crate::settings::ConnectionSettings;

struct Entry {
    runtime: tokio::runtime::Id,
    alive: Arc<AtomicBool>,
    manager: ConnectionManager,
}

/// Sets `alive` to false when dropped, i.e. when its runtime drops the task holding it.
struct AliveGuard(Arc<AtomicBool>);

impl Drop for AliveGuard {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// The async side of a pool.
pub(crate) struct AsyncPool {
    client: redis::Client,
    settings: ConnectionSettings,
    entries: Mutex<Vec<Entry>>,
}

impl AsyncPool {
    /// Builds the pool without connecting.
    pub(crate) fn new(settings: &ConnectionSettings) -> Result<Self> {
        Ok(AsyncPool {
            client: crate::tls::client(settings)?,
            settings: settings.clone(),
            entries: Mutex::new(Vec::new()),
        })
    }

    /// The shared multiplexed connection for the current runtime (created lazily, no I/O).
    pub(crate) fn manager(&self) -> Result<ConnectionManager> {
        let handle = tokio::runtime::Handle::try_current().map_err(|_| Error::NoRuntime)?;
        let id = handle.id();
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|e| e.alive.load(Ordering::Acquire));
        if let Some(e) = entries.iter().find(|e| e.runtime == id) {
            return Ok(e.manager.clone());
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.settings.connect_timeout))
            .set_response_timeout(self.settings.response_timeout)
            .set_number_of_retries(2);
        let manager = ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        let alive = Arc::new(AtomicBool::new(true));
        let guard = AliveGuard(alive.clone());
        handle.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        });
        entries.push(Entry {
            runtime: id,
            alive,
            manager: manager.clone(),
        });
        Ok(manager)
    }

    /// A new connection of its own, for WATCH transactions and blocking commands.
    pub(crate) async fn dedicated(&self) -> Result<redis::aio::MultiplexedConnection> {
        self.dedicated_with_timeout(self.settings.response_timeout)
            .await
    }

    async fn dedicated_with_timeout(
        &self,
        response_timeout: Option<std::time::Duration>,
    ) -> Result<redis::aio::MultiplexedConnection> {
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.settings.connect_timeout))
            .set_response_timeout(response_timeout);
        Ok(self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await?)
    }

    /// A pub/sub connection subscribed to `channels` (subscriptions confirmed), as a stream
    /// of messages that ends when the connection is lost.
    pub(crate) async fn subscribe(&self, channels: &[String]) -> Result<redis::aio::PubSubStream> {
        let mut pubsub = self.client.get_async_pubsub().await?;
        pubsub.subscribe(channels).await?;
        Ok(pubsub.into_on_message())
    }

    /// Runs a command that makes the server wait, on a connection of its own (so that the
    /// shared connection is not held up) whose response timeout allows for the wait.
    pub(crate) async fn blocking<O: Op>(&self, blocking: Blocking<O>) -> Result<O::Output> {
        let timeout = blocking.response_timeout(self.settings.response_timeout);
        let mut conn = self.dedicated_with_timeout(timeout).await?;
        let mut op = blocking.op;
        let reply = send(&mut conn, &op.request()).await;
        let reply = finish(reply, &op.request())?;
        op.decode(reply)
            .map_err(|e| with_key(e, op.request().key()))
    }

    /// Reads a paged sequence as a stream; one round trip per page, as the stream is polled.
    pub(crate) fn pages<P>(
        &self,
        pages: P,
    ) -> impl futures_core::Stream<Item = Result<P::Item>> + Send + '_
    where
        P: Pages + Send + 'static,
        P::Item: Send,
        P::Page: Send,
        <P::Page as Op>::Output: Send,
    {
        futures_util::stream::unfold(Cursor::new(pages), move |mut cursor| async move {
            loop {
                if let Some(item) = cursor.pop() {
                    return Some((Ok(item), cursor));
                }
                let page = cursor.next_page()?;
                if let Some(e) = cursor.absorb(self.run(page).await) {
                    return Some((Err(e), cursor));
                }
            }
        })
    }

    /// Runs one round trip on the shared connection.
    pub(crate) async fn run<O: Op>(&self, mut op: O) -> Result<O::Output> {
        let mut conn = self.manager()?;
        let reply = send(&mut conn, &op.request()).await;
        let reply = finish(reply, &op.request())?;
        op.decode(reply)
            .map_err(|e| with_key(e, op.request().key()))
    }

    /// Runs a multi-step conversation, on a dedicated connection if it needs one.
    pub(crate) async fn converse<C: Conversation>(&self, conv: C) -> Result<C::Output> {
        if conv.needs_dedicated_connection() {
            let conn = self.dedicated().await?;
            drive(conn, conv).await
        } else {
            drive(self.manager()?, conv).await
        }
    }
}

async fn send<C: ConnectionLike>(conn: &mut C, request: &Request<'_>) -> redis::RedisResult<Value> {
    match request {
        Request::Cmd(cmd) => conn.req_packed_command(cmd).await,
        Request::Pipe(pipe) => pipe.query_async::<Value>(conn).await,
    }
}

async fn drive<C: ConnectionLike, V: Conversation>(mut conn: C, mut conv: V) -> Result<V::Output> {
    let mut reply = None;
    loop {
        match conv.step(reply.take())? {
            Step::Send(cmd) => {
                let r = conn.req_packed_command(&cmd).await;
                reply = Some(check_connection(r, || Request::Cmd(&cmd).key())?);
            }
            Step::SendPipe(pipe) => {
                let r = pipe.query_async::<Value>(&mut conn).await;
                reply = Some(check_connection(r, || None)?);
            }
            Step::Sleep(d) => tokio::time::sleep(d).await,
            Step::Done(out) => return Ok(out),
        }
    }
}

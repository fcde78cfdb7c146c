//! The async driver of a subscription: a pub/sub connection of its own (redis-rs's
//! `aio::PubSub`, split into the sink that sends `(P)(UN)SUBSCRIBE` and the stream of
//! messages) and a [`Subscriptions`] state that says what to do with it.
//!
//! The driver is polled: the one step in progress (connecting, sending a change, waiting
//! out the backoff) is a boxed future kept between polls, so dropping a `next()` future
//! loses nothing and the step resumes on the next poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use futures_core::Stream;
use redis::aio::{PubSubSink, PubSubStream};

use super::{Action, Backoff, Change, Kind, Out, Sent, Subscriptions, not_connected};
use crate::error::{Error, Result};
use crate::pool::Pool;
use crate::transport::aio::AsyncPool;
use crate::transport::aio_shared::{Backend, Server};

/// A step in progress and what it ends with.
type Work = Pin<Box<dyn Future<Output = Done> + Send>>;

enum Done {
    Connected(Result<redis::aio::PubSub>),
    Sent(Change, Sent),
    Pinged(Result<()>),
    Slept,
}

/// An async subscription that reconnects and resubscribes by itself.
pub(crate) struct AsyncSubscriber {
    pool: Arc<Pool>,
    state: Subscriptions,
    sink: Option<PubSubSink>,
    stream: Option<PubSubStream>,
    work: Option<Work>,
    /// Wakes `poll_next` when a health check is due while no message comes.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl AsyncSubscriber {
    /// Connects and subscribes to `channels` and `patterns`; returns once the server has
    /// confirmed every one of them.
    pub(crate) async fn open(
        pool: Arc<Pool>,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> Result<Self> {
        let state = Subscriptions::new(channels, patterns, Backoff::standard(), Instant::now());
        let mut sub = AsyncSubscriber {
            pool,
            state,
            sink: None,
            stream: None,
            work: None,
            timer: None,
        };
        // Until it is handed to the user, failures are the caller's error, not retried.
        while let Some(step) = sub.state.opening_step() {
            let work = match step {
                Action::Connect => sub.connect(),
                Action::Send(change) => sub.send(change),
                _ => break,
            };
            if let Some(e) = sub.absorb(work.await).or_else(|| sub.state.take_refusal()) {
                return Err(e);
            }
        }
        Ok(sub)
    }

    /// The state (wanted names).
    pub(crate) fn state(&self) -> &Subscriptions {
        &self.state
    }

    /// The state, to change its settings.
    pub(crate) fn state_mut(&mut self) -> &mut Subscriptions {
        &mut self.state
    }

    /// The next message or notice; reconnects as needed, never ends.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Out> {
        loop {
            if let Some(work) = self.work.as_mut() {
                let done = ready!(work.as_mut().poll(cx));
                self.work = None;
                self.absorb(done);
                continue;
            }
            match self.state.next_action(Instant::now()) {
                Action::Emit(out) => return Poll::Ready(out),
                Action::Connect => self.work = Some(self.connect()),
                Action::Send(change) => self.work = Some(self.send(change)),
                Action::Sleep(d) => {
                    self.work = Some(Box::pin(async move {
                        tokio::time::sleep(d).await;
                        Done::Slept
                    }))
                }
                Action::Ping { timeout } => self.work = Some(self.ping(timeout)),
                Action::Receive { until } => {
                    let Some(stream) = self.stream.as_mut() else {
                        self.state.lost(not_connected(), Instant::now());
                        continue;
                    };
                    match Pin::new(stream).poll_next(cx) {
                        Poll::Ready(Some(msg)) => self.state.received(msg, Instant::now()),
                        // The connection's task ended: the server closed it or it failed.
                        Poll::Ready(None) => {
                            self.state.lost(closed(), Instant::now());
                            self.drop_connection();
                        }
                        Poll::Pending => {
                            let Some(until) = until else {
                                return Poll::Pending;
                            };
                            let until = tokio::time::Instant::from_std(until);
                            let timer = self
                                .timer
                                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
                            if timer.deadline() != until {
                                timer.as_mut().reset(until);
                            }
                            // Due: the next action is the health check.
                            ready!(timer.as_mut().poll(cx));
                        }
                    }
                }
            }
        }
    }

    /// Subscribes to or unsubscribes from `names`; returns once the server has confirmed.
    /// While reconnecting, the change is kept (applied when the connection is back) and an
    /// error says so.
    pub(crate) async fn change(
        &mut self,
        kind: Kind,
        names: &[&str],
        subscribe: bool,
    ) -> Result<()> {
        self.state.clear_refusal();
        self.state.want(kind, names, subscribe);
        // A step in progress (a connection being opened, a change being sent) finishes
        // first; a backoff wait is not waited out.
        if let Some(work) = self.work.take() {
            match self.state.is_up() {
                true => {
                    let done = work.await;
                    self.absorb(done);
                }
                false => self.work = Some(work),
            }
        }
        while let Some(change) = self.state.pending_change() {
            let done = self.send(change).await;
            self.absorb(done);
        }
        self.state.change_result()
    }

    fn connect(&self) -> Work {
        let pool = self.pool.clone();
        Box::pin(async move { Done::Connected(pool.aio.open_pubsub().await) })
    }

    fn send(&self, change: Change) -> Work {
        let sink = self.sink.clone();
        let timeout = self.pool.settings.response_timeout;
        Box::pin(async move {
            let Some(mut sink) = sink else {
                return Done::Sent(change, Sent::Lost(not_connected()));
            };
            let names = &change.names;
            let send = async {
                match (change.kind, change.subscribe) {
                    (Kind::Channel, true) => sink.subscribe(names).await,
                    (Kind::Channel, false) => sink.unsubscribe(names).await,
                    (Kind::Pattern, true) => sink.psubscribe(names).await,
                    (Kind::Pattern, false) => sink.punsubscribe(names).await,
                }
            };
            let outcome = match with_timeout(timeout, send).await {
                Ok(()) => Sent::Confirmed,
                // The server answered (e.g. `NOPERM`): the connection is fine.
                Err(e) if e.code().is_some() => Sent::Refused(e.into()),
                Err(e) => Sent::Lost(e.into()),
            };
            Done::Sent(change, outcome)
        })
    }

    fn ping(&self, timeout: Duration) -> Work {
        let sink = self.sink.clone();
        Box::pin(async move {
            let Some(mut sink) = sink else {
                return Done::Pinged(Err(not_connected()));
            };
            let ping = async { sink.ping::<redis::Value>().await.map(drop) };
            Done::Pinged(match with_timeout(Some(timeout), ping).await {
                // An error reply is an answer too: the connection is alive.
                Err(e) if e.code().is_some() => Ok(()),
                answer => answer.map_err(Error::from),
            })
        })
    }

    /// Reports a finished step to the state; returns the error if the subscription is not
    /// started yet.
    fn absorb(&mut self, done: Done) -> Option<Error> {
        let now = Instant::now();
        let error = match done {
            Done::Connected(Ok(pubsub)) => {
                let (sink, stream) = pubsub.split();
                self.sink = Some(sink);
                self.stream = Some(stream);
                self.state.connected(now);
                None
            }
            Done::Connected(Err(e)) => self.state.connect_failed(e, now),
            Done::Sent(change, outcome) => self.state.sent(&change, outcome, now),
            Done::Pinged(answer) => {
                self.state.pinged(answer, now);
                None
            }
            Done::Slept => None,
        };
        if !self.state.is_up() {
            self.drop_connection();
        }
        error
    }

    fn drop_connection(&mut self) {
        self.sink = None;
        self.stream = None;
    }
}

/// `fut`, failing with a timeout error after `timeout` (`None`: no limit).
async fn with_timeout(
    timeout: Option<Duration>,
    fut: impl Future<Output = redis::RedisResult<()>>,
) -> redis::RedisResult<()> {
    match timeout {
        None => fut.await,
        Some(t) => match tokio::time::timeout(t, fut).await {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no answer from the server in time (subscription change or health check)",
            )
            .into()),
        },
    }
}

/// The error reported when the server closed a subscription's connection.
pub(crate) fn closed() -> Error {
    Error::from(redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "the server closed the subscription's connection",
    )))
}

/// Opening the connection a subscription runs on.
impl AsyncPool {
    /// A new pub/sub connection, with nothing subscribed yet (`transport::pubsub::aio`);
    /// fails after the connect timeout.
    pub(crate) async fn open_pubsub(&self) -> Result<redis::aio::PubSub> {
        match tokio::time::timeout(self.settings.connect_timeout, self.connect_pubsub()).await {
            Ok(r) => r,
            Err(_) => Err(Error::from(redis::RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "timed out connecting for a subscription",
            )))),
        }
    }

    async fn connect_pubsub(&self) -> Result<redis::aio::PubSub> {
        let pubsub = match &self.backend {
            Backend::Server {
                primary: Server { target, .. },
                ..
            } => target.client().await?.get_async_pubsub().await?,
            // A cluster broadcasts (non-sharded) pub/sub messages to every node: any one will do.
            #[cfg(feature = "cluster")]
            Backend::Cluster { .. } => {
                let mut last = None;
                let mut found = None;
                for info in crate::transport::connect::node_infos(&self.settings) {
                    match crate::transport::connect::node_client(info, &self.settings)?
                        .get_async_pubsub()
                        .await
                    {
                        Ok(p) => {
                            found = Some(p);
                            break;
                        }
                        Err(e) => last = Some(e),
                    }
                }
                match (found, last) {
                    (Some(p), _) => p,
                    (None, Some(e)) => return Err(e.into()),
                    (None, None) => {
                        return Err(Error::Unsupported("no cluster node is known".into()));
                    }
                }
            }
        };
        Ok(pubsub)
    }
}

//! The two faces of a subscription: [`Subscriber`] (blocking iterator) and [`Subscription`]
//! (async stream). Both are thin: the transport's driver does the work, these decode
//! payloads into the user's type.

use std::marker::PhantomData;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::pubsub::{Event, Subscribe, event};
use crate::core::Core;
use crate::error::Result;
use crate::transport::pubsub::Kind;
use crate::transport::pubsub::sync::SyncSubscriber;

/// The methods that change a live subscription, the same for both faces: `$($aw)*` is
/// nothing for the blocking one and `.await` for the async one.
macro_rules! change_methods {
    ([$($async:ident)?] [$($aw:tt)*]) => {
        /// Subscribes to more `channels`; returns once the server has confirmed them. While
        /// the subscription is reconnecting, fails with a connection error, and the channels
        /// are subscribed when it is back. A channel the server refuses (`NOPERM`) is an
        /// error, and is not added.
        pub $($async)? fn subscribe(&mut self, channels: &[&str]) -> Result<()> {
            self.driver.change(Kind::Channel, channels, true) $($aw)*
        }

        /// Stops receiving messages from `channels`; returns once the server has confirmed.
        pub $($async)? fn unsubscribe(&mut self, channels: &[&str]) -> Result<()> {
            self.driver.change(Kind::Channel, channels, false) $($aw)*
        }

        /// Subscribes to more `patterns` (see [`Session::psubscribe`](crate::Session::psubscribe));
        /// returns once the server has confirmed them.
        pub $($async)? fn psubscribe(&mut self, patterns: &[&str]) -> Result<()> {
            self.driver.change(Kind::Pattern, patterns, true) $($aw)*
        }

        /// Stops receiving messages matched by `patterns`; returns once the server has
        /// confirmed.
        pub $($async)? fn punsubscribe(&mut self, patterns: &[&str]) -> Result<()> {
            self.driver.change(Kind::Pattern, patterns, false) $($aw)*
        }

        /// How long a quiet connection may go before the subscription checks it with a
        /// `PING` (default 30 s); an answer that does not come within as long again counts as
        /// a lost connection ([`Event::Disconnected`], then a reconnection). This notices a
        /// connection that died without the server closing it: a dropped route, a proxy or
        /// load balancer that forgot it. `None` turns the check off.
        pub fn set_health_check(&mut self, every: Option<Duration>) {
            self.driver.state_mut().set_health_check(every);
        }

        /// The channels subscribed to (and resubscribed after a reconnection), sorted.
        pub fn channels(&self) -> Vec<String> {
            self.driver.state().wanted(Kind::Channel).map(str::to_owned).collect()
        }

        /// The patterns subscribed to, sorted.
        pub fn patterns(&self) -> Vec<String> {
            self.driver.state().wanted(Kind::Pattern).map(str::to_owned).collect()
        }
    };
}

/// A blocking subscription, from [`Session::subscribe`](crate::Session::subscribe) or
/// [`Session::psubscribe`](crate::Session::psubscribe): an iterator of [`Event`]s that never
/// ends.
///
/// It owns a connection of its own (outside the pool), closed when it is dropped. When the
/// connection is lost it reconnects and resubscribes by itself, and says so
/// ([`Event::Disconnected`], [`Event::Resubscribed`]). `next()` waits for ever;
/// [`next_timeout`](Self::next_timeout) waits at most a given time, and a quiet period is not
/// an error and loses nothing.
///
/// ```no_run
/// # fn demo(session: kvdb::Session) -> kvdb::Result<()> {
/// use std::time::Duration;
/// let mut sub = session.subscribe::<String>(&["news"])?;
/// sub.psubscribe(&["alerts:*"])?; // more, on the live subscription
/// loop {
///     match sub.next_timeout(Duration::from_secs(1)) {
///         Some(kvdb::Event::Message(m)) => println!("{}: {:?}", m.channel, m.payload),
///         Some(other) => eprintln!("{other:?}"),
///         None => { /* nothing this second: do other work */ }
///     }
/// }
/// # }
/// ```
pub struct Subscriber<T> {
    core: Core,
    driver: SyncSubscriber,
    _t: PhantomData<fn() -> T>,
}

impl<T> Subscribe<T> {
    /// Opens the blocking subscription.
    pub(crate) fn blocking(self, pool: std::sync::Arc<crate::pool::Pool>) -> Result<Subscriber<T>> {
        Ok(Subscriber {
            core: self.core,
            driver: SyncSubscriber::open(pool, self.channels, self.patterns)?,
            _t: PhantomData,
        })
    }

    /// Opens the async subscription.
    #[cfg(feature = "async")]
    pub(crate) async fn stream(
        self,
        pool: std::sync::Arc<crate::pool::Pool>,
    ) -> Result<Subscription<T>> {
        use crate::transport::pubsub::aio::AsyncSubscriber;
        Ok(Subscription {
            core: self.core,
            driver: AsyncSubscriber::open(pool, self.channels, self.patterns).await?,
            _t: PhantomData,
        })
    }
}

impl<T> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("channels", &self.channels())
            .field("patterns", &self.patterns())
            .finish_non_exhaustive()
    }
}

impl<T> Subscriber<T> {
    change_methods!([] []);
}

impl<T: DeserializeOwned> Subscriber<T> {
    /// The next event, waiting at most `timeout`; `None` if nothing came in that time (a
    /// quiet channel is not an error; nothing published afterwards is lost).
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Event<T>> {
        let out = self.driver.next(Some(Instant::now() + timeout))?;
        Some(event(&self.core, out))
    }
}

impl<T: DeserializeOwned> Iterator for Subscriber<T> {
    type Item = Event<T>;

    /// Waits for the next event; always `Some` (a subscription does not end).
    fn next(&mut self) -> Option<Event<T>> {
        let out = self.driver.next(None)?;
        Some(event(&self.core, out))
    }
}

/// An async subscription, from [`AsyncSession::subscribe`](crate::AsyncSession::subscribe)
/// or [`AsyncSession::psubscribe`](crate::AsyncSession::psubscribe): a stream of [`Event`]s
/// that never ends.
///
/// It owns a connection of its own, closed when it is dropped. When the connection is lost
/// it reconnects and resubscribes by itself, and says so ([`Event::Disconnected`],
/// [`Event::Resubscribed`]). Dropping a pending `next()` (in `tokio::select!`) loses
/// nothing. Channels and patterns can be changed between two `next()`s:
///
/// ```no_run
/// # async fn demo(session: kvdb::AsyncSession, mut more: tokio::sync::mpsc::Receiver<String>)
/// # -> kvdb::Result<()> {
/// use futures_util::StreamExt;
/// let mut sub = session.subscribe::<String>(&["news"]).await?;
/// loop {
///     tokio::select! {
///         Some(event) = sub.next() => println!("{event:?}"),
///         Some(channel) = more.recv() => sub.subscribe(&[&channel]).await?,
///     }
/// }
/// # }
/// ```
#[cfg(feature = "async")]
pub struct Subscription<T> {
    core: Core,
    driver: crate::transport::pubsub::aio::AsyncSubscriber,
    _t: PhantomData<fn() -> T>,
}

#[cfg(feature = "async")]
impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription")
            .field("channels", &self.channels())
            .field("patterns", &self.patterns())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "async")]
impl<T> Subscription<T> {
    change_methods!([async] [.await]);
}

#[cfg(feature = "async")]
impl<T: DeserializeOwned> Subscription<T> {
    /// The next event, waiting at most `timeout`; `None` if nothing came in that time (a
    /// quiet channel is not an error; nothing published afterwards is lost).
    pub async fn next_timeout(&mut self, timeout: Duration) -> Option<Event<T>> {
        let next = std::future::poll_fn(|cx| self.driver.poll_next(cx));
        let out = tokio::time::timeout(timeout, next).await.ok()?;
        Some(event(&self.core, out))
    }
}

#[cfg(feature = "async")]
impl<T: DeserializeOwned> futures_core::Stream for Subscription<T> {
    type Item = Event<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Event<T>>> {
        let this = &mut *self;
        this.driver
            .poll_next(cx)
            .map(|out| Some(event(&this.core, out)))
    }
}

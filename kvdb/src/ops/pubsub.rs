//! Pub/sub: typed messages, encoded with the publishing session's codec and decoded by their
//! own header, like stored values.

use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::decode;
use crate::core::Core;
use crate::error::Result;
use crate::transport::sync::PubSubConn;
use crate::transport::{Command, Decoder};

/// A message received on a subscription.
#[derive(Debug)]
#[non_exhaustive]
pub struct Message<T> {
    /// The channel it was published on.
    pub channel: String,
    /// The decoded payload, or why it could not be decoded as a `T` (the subscription goes
    /// on either way).
    pub payload: Result<T>,
}

fn message<T: DeserializeOwned>(core: &Core, msg: &redis::Msg) -> Message<T> {
    Message {
        channel: msg.get_channel_name().to_owned(),
        payload: core.decode(msg.get_payload_bytes()),
    }
}

/// What a `subscribe` call needs: the channels, and the codec limits to decode with.
pub(crate) struct Subscribe<T> {
    core: Core,
    channels: Vec<String>,
    _t: PhantomData<fn() -> T>,
}

fn subscribe<T>(core: &Core, channels: &[&str]) -> Result<Subscribe<T>> {
    Ok(Subscribe {
        core: *core,
        channels: channels.iter().map(|c| (*c).to_owned()).collect(),
        _t: PhantomData,
    })
}

impl<T> Subscribe<T> {
    pub(crate) fn channels(&self) -> &[String] {
        &self.channels
    }

    /// The blocking subscriber over a subscribed connection.
    pub(crate) fn blocking(self, conn: PubSubConn) -> Subscriber<T> {
        Subscriber {
            core: self.core,
            conn,
            _t: PhantomData,
        }
    }

    /// The stream over a subscribed async connection.
    #[cfg(feature = "async")]
    pub(crate) fn stream(self, stream: redis::aio::PubSubStream) -> Subscription<T> {
        Subscription {
            core: self.core,
            stream,
            _t: PhantomData,
        }
    }
}

/// A blocking subscription, from [`Session::subscribe`](crate::Session::subscribe): an
/// iterator that waits for each message.
///
/// It owns a connection of its own (outside the pool), closed when it is dropped. `next()`
/// waits for ever unless [`set_timeout`](Self::set_timeout) was called; a timeout or a lost
/// connection is an `Err` item.
pub struct Subscriber<T> {
    core: Core,
    conn: PubSubConn,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Subscriber<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber").finish_non_exhaustive()
    }
}

impl<T> Subscriber<T> {
    /// How long `next()` waits for a message before yielding a timeout error
    /// ([`Error::is_timeout`](crate::Error::is_timeout)); `None` (the default): for ever.
    pub fn set_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        self.conn.set_read_timeout(timeout)
    }
}

impl<T: DeserializeOwned> Iterator for Subscriber<T> {
    type Item = Result<Message<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(self.conn.next_message().map(|m| message(&self.core, &m)))
    }
}

/// An async subscription, from [`AsyncSession::subscribe`](crate::AsyncSession::subscribe):
/// a stream of messages that ends if the connection is lost.
///
/// It owns a connection of its own, closed when it is dropped.
#[cfg(feature = "async")]
pub struct Subscription<T> {
    core: Core,
    stream: redis::aio::PubSubStream,
    _t: PhantomData<fn() -> T>,
}

#[cfg(feature = "async")]
impl<T> std::fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").finish_non_exhaustive()
    }
}

#[cfg(feature = "async")]
impl<T: DeserializeOwned> futures_core::Stream for Subscription<T> {
    type Item = Message<T>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Message<T>>> {
        let core = self.core;
        std::pin::Pin::new(&mut self.stream)
            .poll_next(cx)
            .map(|m| m.map(|m| message(&core, &m)))
    }
}

fn publish<T: Serialize + ?Sized>(
    core: &Core,
    channel: &str,
    message: &T,
) -> Result<Command<impl Decoder<u64> + use<T>>> {
    let mut cmd = redis::cmd("PUBLISH");
    cmd.arg(channel);
    core.encode_arg(&mut cmd, message, None)
        .map_err(|e| e.at_key(channel))?;
    Ok(Command::new(cmd, |reply| decode::count(reply, "PUBLISH")))
}

session_methods! {
    /// Publishes `message` on `channel`, encoded with this session's codec; returns how many
    /// subscribers received it.
    fn publish[T](channel: &str, message: &T) -> u64 where [T: Serialize + ?Sized + Sync]
        = once run |core| publish(core, channel, message);

    /// Subscribes to `channels` on a connection of its own; returns once the server has
    /// confirmed every subscription, so nothing published after that is missed. Sync: a
    /// [`Subscriber`] iterator; async: a [`Subscription`] stream. Each message's payload is
    /// decoded as a `T` by its own header, whatever session published it.
    ///
    /// ```no_run
    /// # async fn demo(session: kvdb::AsyncSession) -> kvdb::Result<()> {
    /// use futures_util::StreamExt;
    /// let mut events = session.subscribe::<String>(&["events"]).await?;
    /// session.publish("events", "hello").await?;
    /// if let Some(msg) = events.next().await {
    ///     println!("{}: {}", msg.channel, msg.payload?);
    /// }
    /// # Ok(()) }
    /// ```
    fn subscribe[T](channels: &[&str]) -> T where [T: DeserializeOwned]
        = read subscribe |core| subscribe::<T>(core, channels);
}

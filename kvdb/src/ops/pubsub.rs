//! Pub/sub: typed messages, encoded with the publishing session's codec and decoded by their
//! own header, like stored values; subscriptions to channels and patterns that survive a
//! lost connection and say so ([`Event`]).
//!
//! The subscriber types are in `subscriber.rs`; the logic they run (resubscribing,
//! reconnecting with backoff) is the sans-I/O state in `transport/pubsub/`.

use std::marker::PhantomData;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::decode;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::transport::pubsub::Out;
use crate::transport::{Command, Decoder};

/// A message received on a subscription.
#[derive(Debug)]
#[non_exhaustive]
pub struct Message<T> {
    /// The channel it was published on.
    pub channel: String,
    /// The pattern it matched, for a pattern subscription
    /// ([`psubscribe`](crate::Session::psubscribe)); `None` for a channel subscription.
    pub pattern: Option<String>,
    /// The decoded payload, or why it could not be decoded as a `T` (the subscription goes
    /// on either way).
    pub payload: Result<T>,
}

/// What a subscription yields: a message, or news about its connection.
///
/// A subscription never ends and never fails on its own: when its connection is lost (the
/// server restarted or closed it, `CLIENT KILL`, a network reset, or a health-check `PING`
/// went unanswered: see `set_health_check`), it says so with
/// [`Disconnected`](Event::Disconnected), reconnects with a bounded backoff (at once, then
/// 100 ms doubling up to 5 s, jittered), subscribes every channel and pattern again, and says
/// so with [`Resubscribed`](Event::Resubscribed). Messages published between the two were
/// **not** received: Redis pub/sub does not keep them. If missing one matters, reload the
/// state the messages describe on `Resubscribed` (or use a Redis stream).
///
/// ```no_run
/// # fn demo(session: kvdb::Session) -> kvdb::Result<()> {
/// use kvdb::Event;
/// for event in session.subscribe::<String>(&["orders"])? {
///     match event {
///         Event::Message(m) => println!("{}: {}", m.channel, m.payload?),
///         Event::Disconnected { error, retry_in, .. } => {
///             eprintln!("subscription down ({error}), retrying in {retry_in:?}")
///         }
///         Event::Resubscribed { down_for, .. } => {
///             eprintln!("back after {down_for:?}: messages published meanwhile were missed")
///         }
///         _ => {}
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<T> {
    /// A message on a subscribed channel or pattern.
    Message(Message<T>),
    /// The connection is down: it was lost (`attempt` 0), or reconnection attempt number
    /// `attempt` failed. The next attempt is made after `retry_in`. Messages published from
    /// now until [`Resubscribed`](Event::Resubscribed) are not received.
    #[non_exhaustive]
    Disconnected {
        /// Why: the connection's error, or the failed attempt's
        /// ([`Error::is_connection_error`], or a refusal such as a revoked permission).
        error: Error,
        /// 0 when the connection was just lost; then the number of failed attempts.
        attempt: u32,
        /// The wait before the next attempt (at most 5 s).
        retry_in: Duration,
    },
    /// A new connection has every channel and pattern subscribed again. Messages published
    /// while the subscription was down were missed.
    #[non_exhaustive]
    Resubscribed {
        /// From the loss of the connection to now.
        down_for: Duration,
        /// The connection attempts it took (1: the first one succeeded).
        attempts: u32,
    },
}

impl<T> Event<T> {
    /// The message, if this event is one.
    pub fn into_message(self) -> Option<Message<T>> {
        match self {
            Event::Message(m) => Some(m),
            _ => None,
        }
    }
}

/// Turns what the transport hands out into the user's event, decoding a message's payload.
pub(crate) fn event<T: DeserializeOwned>(core: &Core, out: Out) -> Event<T> {
    match out {
        Out::Message(msg) => Event::Message(Message {
            channel: msg.get_channel_name().to_owned(),
            pattern: msg
                .from_pattern()
                .then(|| msg.get_pattern::<String>().ok())
                .flatten(),
            payload: core.decode(msg.get_payload_bytes()),
        }),
        Out::Disconnected {
            error,
            attempt,
            retry_in,
        } => Event::Disconnected {
            error,
            attempt,
            retry_in,
        },
        Out::Resubscribed { down_for, attempts } => Event::Resubscribed { down_for, attempts },
    }
}

/// What a `subscribe` or `psubscribe` call needs: the channels and patterns, and the codec
/// limits to decode with.
pub(crate) struct Subscribe<T> {
    pub(crate) core: Core,
    pub(crate) channels: Vec<String>,
    pub(crate) patterns: Vec<String>,
    _t: PhantomData<fn() -> T>,
}

fn subscribe<T>(core: &Core, channels: &[&str], patterns: &[&str]) -> Result<Subscribe<T>> {
    let owned = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
    Ok(Subscribe {
        core: *core,
        channels: owned(channels),
        patterns: owned(patterns),
        _t: PhantomData,
    })
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
    fn publish[T](channel: &str, message: &T) -> u64 where [T: Serialize + ?Sized] async [T: Sync]
        = [pipe, once] run |core| publish(core, channel, message);

    /// Subscribes to `channels` on a connection of its own; returns once the server has
    /// confirmed every subscription, so nothing published after that is missed. Sync: a
    /// [`Subscriber`](crate::Subscriber) iterator; async: a
    /// [`Subscription`](crate::Subscription) stream. Both yield [`Event`]s: each message's
    /// payload decoded as a `T` by its own header, whatever session published it, and news
    /// of a lost connection, which they re-establish by themselves. Channels and patterns can
    /// be added and removed on the live subscription.
    ///
    /// ```no_run
    /// # async fn demo(session: kvdb::AsyncSession) -> kvdb::Result<()> {
    /// use futures_util::StreamExt;
    /// let mut events = session.subscribe::<String>(&["events"]).await?;
    /// session.publish("events", "hello").await?;
    /// if let Some(kvdb::Event::Message(msg)) = events.next().await {
    ///     println!("{}: {}", msg.channel, msg.payload?);
    /// }
    /// # Ok(()) }
    /// ```
    fn subscribe[T](channels: &[&str]) -> T where [T: DeserializeOwned]
        = [read] subscribe |core| subscribe::<T>(core, channels, &[]);

    /// Subscribes to the channels matching `patterns` (glob-style: `orders:*`,
    /// `user:?:events`, `[ab]*`), as [`subscribe`](Self::subscribe) does to channels. Each
    /// [`Message`] names the channel it was published on and the pattern it matched.
    ///
    /// ```no_run
    /// # fn demo(session: kvdb::Session) -> kvdb::Result<()> {
    /// let mut orders = session.psubscribe::<u64>(&["orders:*"])?;
    /// session.publish("orders:eu", &42u64)?;
    /// if let Some(kvdb::Event::Message(m)) = orders.next() {
    ///     assert_eq!((m.channel.as_str(), m.pattern.as_deref()), ("orders:eu", Some("orders:*")));
    ///     assert_eq!(m.payload?, 42);
    /// }
    /// # Ok(()) }
    /// ```
    fn psubscribe[T](patterns: &[&str]) -> T where [T: DeserializeOwned]
        = [read] subscribe |core| subscribe::<T>(core, &[], patterns);
}

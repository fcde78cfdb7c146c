//! The blocking driver of a subscription: a connection of its own (outside the pool) and a
//! [`Subscriptions`] state that says what to do with it.
//!
//! Reading: redis-rs's `Connection::recv_response` counts a read that failed with an I/O
//! error other than end-of-file (a read timeout included) as a reply still owed, and silently
//! drops the next value it parses: after an idle wait that timed out, the first message
//! published would be lost. `PubSub::get_message` reads without that bookkeeping, and its
//! parser keeps a partly read value for the next call, so a timeout in the middle of a
//! message loses nothing either. Messages are therefore read through `PubSub`, and
//! `recv_response` is only used for confirmations, where a timeout drops the connection.

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Action, Backoff, Change, Kind, Out, Sent, Subscriptions, not_connected};
use crate::error::{Error, Result};
use crate::pool::Pool;

/// A blocking subscription that reconnects and resubscribes by itself.
pub(crate) struct SyncSubscriber {
    pool: Arc<Pool>,
    state: Subscriptions,
    conn: Option<redis::Connection>,
    /// The socket's read timeout now, to set it only when it changes.
    read_timeout: Option<Option<Duration>>,
}

impl SyncSubscriber {
    /// Connects and subscribes to `channels` and `patterns`; returns once the server has
    /// confirmed every one of them.
    pub(crate) fn open(
        pool: Arc<Pool>,
        channels: Vec<String>,
        patterns: Vec<String>,
    ) -> Result<Self> {
        let state = Subscriptions::new(channels, patterns, Backoff::standard(), Instant::now());
        let mut sub = SyncSubscriber {
            pool,
            state,
            conn: None,
            read_timeout: None,
        };
        // Until it is handed to the user, failures are the caller's error, not retried.
        while let Some(step) = sub.state.opening_step() {
            let error = match step {
                Action::Connect => sub.connect(),
                Action::Send(change) => sub.send(&change),
                _ => None,
            };
            if let Some(e) = error.or_else(|| sub.state.take_refusal()) {
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

    /// The next message or notice, waiting until `deadline` (`None`: for ever). Reconnects
    /// as needed; never fails.
    pub(crate) fn next(&mut self, deadline: Option<Instant>) -> Option<Out> {
        loop {
            let now = Instant::now();
            match self.state.next_action(now) {
                Action::Emit(out) => return Some(out),
                Action::Connect => {
                    self.connect();
                }
                Action::Send(change) => {
                    self.send(&change);
                }
                Action::Sleep(d) => match deadline {
                    Some(deadline) if now + d > deadline => {
                        std::thread::sleep(deadline.saturating_duration_since(now));
                        return None;
                    }
                    _ => std::thread::sleep(d),
                },
                Action::Receive { until } => {
                    if deadline.is_some_and(|d| d <= now) {
                        return None;
                    }
                    // Until the caller's deadline or the next health check, whichever is first.
                    let wake = match (deadline, until) {
                        (Some(d), Some(u)) => Some(d.min(u)),
                        (d, u) => d.or(u),
                    };
                    match self.receive(wake.map(|w| w.saturating_duration_since(now))) {
                        Ok(Some(msg)) => self.state.received(msg, Instant::now()),
                        Ok(None) => {}
                        Err(e) => {
                            self.conn = None;
                            self.state.lost(e, Instant::now());
                        }
                    }
                }
                Action::Ping { timeout } => {
                    // An error reply is an answer too: the connection is alive.
                    let answer = self
                        .request(&redis::cmd("PING"), 1, Some(timeout))
                        .map(drop)
                        .map_err(Error::from);
                    self.state.pinged(answer, Instant::now());
                    if !self.state.is_up() {
                        self.conn = None;
                    }
                }
            }
        }
    }

    /// Subscribes to or unsubscribes from `names`; returns once the server has confirmed.
    /// While reconnecting, the change is kept (applied when the connection is back) and an
    /// error says so.
    pub(crate) fn change(&mut self, kind: Kind, names: &[&str], subscribe: bool) -> Result<()> {
        self.state.clear_refusal();
        self.state.want(kind, names, subscribe);
        while let Some(change) = self.state.pending_change() {
            self.send(&change);
        }
        self.state.change_result()
    }

    /// Opens a connection; reports to the state. Returns the error if the subscription is not
    /// started yet.
    fn connect(&mut self) -> Option<Error> {
        match self.pool.sync.open_pubsub() {
            Ok(conn) => {
                self.conn = Some(conn);
                self.read_timeout = None;
                self.state.connected(Instant::now());
                None
            }
            Err(e) => self.state.connect_failed(e, Instant::now()),
        }
    }

    /// Sends `change` and reads its confirmations (keeping messages that arrive meanwhile);
    /// reports to the state. Returns the error if the subscription is not started yet.
    fn send(&mut self, change: &Change) -> Option<Error> {
        let timeout = self.pool.settings.response_timeout;
        let outcome = match self.request(&change.cmd(), change.names.len(), timeout) {
            Ok(Ok(())) => Sent::Confirmed,
            Ok(Err(refusal)) => Sent::Refused(refusal),
            Err(e) => Sent::Lost(e.into()),
        };
        let error = self.state.sent(change, outcome, Instant::now());
        if !self.state.is_up() {
            self.conn = None;
        }
        error
    }

    /// Sends `cmd` and reads its `replies` (keeping messages that arrive meanwhile), each
    /// within `timeout`. The inner `Err` is the server's error reply; the outer one, the
    /// connection's failure.
    fn request(
        &mut self,
        cmd: &redis::Cmd,
        replies: usize,
        timeout: Option<Duration>,
    ) -> redis::RedisResult<Result<()>> {
        self.set_read_timeout(timeout)?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(std::io::Error::from(std::io::ErrorKind::NotConnected).into());
        };
        conn.send_packed_command(&cmd.get_packed_command())?;
        let mut left = replies;
        while left > 0 {
            match conn.recv_response()? {
                redis::Value::ServerError(e) => {
                    return Ok(Err(Error::from(redis::RedisError::from(e))));
                }
                value => match redis::Msg::from_owned_value(value) {
                    Some(msg) => self.state.received(msg, Instant::now()),
                    None => left -= 1,
                },
            }
        }
        Ok(Ok(()))
    }

    /// Waits up to `wait` (`None`: for ever) for a message; `Ok(None)` when none came.
    fn receive(&mut self, wait: Option<Duration>) -> Result<Option<redis::Msg>> {
        // A zero read timeout is refused by the socket: wait at least a millisecond.
        self.set_read_timeout(wait.map(|w| w.max(Duration::from_millis(1))))?;
        let Some(conn) = self.conn.as_mut() else {
            return Err(not_connected());
        };
        // Not dropped: `PubSub`'s drop would unsubscribe from everything. It holds nothing
        // but the borrow and an empty queue (`get_message` only takes from it).
        let mut reader = ManuallyDrop::new(conn.as_pubsub());
        match reader.get_message() {
            Ok(msg) => Ok(Some(msg)),
            Err(e) if e.is_timeout() => Ok(None),
            // End of file, a reset, a protocol error: this connection is done.
            Err(e) => Err(e.into()),
        }
    }

    fn set_read_timeout(&mut self, t: Option<Duration>) -> redis::RedisResult<()> {
        if self.read_timeout != Some(t)
            && let Some(conn) = &self.conn
        {
            conn.set_read_timeout(t)?;
            self.read_timeout = Some(t);
        }
        Ok(())
    }
}

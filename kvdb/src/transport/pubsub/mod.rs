//! A subscription's state, without I/O: the channels and patterns the user wants, what the
//! current connection has confirmed, and when to reconnect after the connection is lost.
//!
//! The sync driver ([`sync::SyncSubscriber`]) and the async one ([`aio::AsyncSubscriber`])
//! ask [`Subscriptions::next_action`] what to do, do it, and report the outcome; neither
//! decides anything. So both resubscribe the same way, tell the user the same things, and
//! back off on the same schedule.
//!
//! The state is declarative: the drivers never replay a log of commands. Whatever is wanted
//! and not confirmed on the current connection is subscribed; whatever is confirmed and no
//! longer wanted is unsubscribed. A new connection has nothing confirmed, so resubscribing
//! after a reconnection is the same step as subscribing the first time.

#[cfg(feature = "async")]
pub(crate) mod aio;
mod backoff;
pub(crate) mod sync;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

pub(crate) use backoff::Backoff;

use crate::error::Error;

/// The default [`Subscriptions::set_health_check`]: a dead connection that the server never
/// closed (a dropped route, a proxy that forgot it) is noticed within twice this.
pub(crate) const HEALTH_CHECK: Duration = Duration::from_secs(30);

/// Channels (`SUBSCRIBE`) or patterns (`PSUBSCRIBE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Channel,
    Pattern,
}

impl Kind {
    fn index(self) -> usize {
        match self {
            Kind::Channel => 0,
            Kind::Pattern => 1,
        }
    }
}

/// A `(P)SUBSCRIBE` or `(P)UNSUBSCRIBE` to send; the server confirms each name once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Change {
    pub(crate) kind: Kind,
    pub(crate) subscribe: bool,
    pub(crate) names: Vec<String>,
}

impl Change {
    /// The command's name.
    pub(crate) fn command(&self) -> &'static str {
        match (self.kind, self.subscribe) {
            (Kind::Channel, true) => "SUBSCRIBE",
            (Kind::Channel, false) => "UNSUBSCRIBE",
            (Kind::Pattern, true) => "PSUBSCRIBE",
            (Kind::Pattern, false) => "PUNSUBSCRIBE",
        }
    }

    /// The command to send.
    pub(crate) fn cmd(&self) -> redis::Cmd {
        let mut cmd = redis::cmd(self.command());
        cmd.arg(&self.names);
        cmd
    }
}

/// What the user is told, in order with the messages.
#[derive(Debug)]
pub(crate) enum Out {
    /// A message received on the connection.
    Message(redis::Msg),
    /// The connection is down: lost (`attempt` 0) or a reconnection attempt failed.
    Disconnected {
        error: Error,
        attempt: u32,
        retry_in: Duration,
    },
    /// A new connection has every wanted channel and pattern subscribed again.
    Resubscribed { down_for: Duration, attempts: u32 },
}

/// What the driver does next.
#[derive(Debug)]
pub(crate) enum Action {
    /// Hand this to the user.
    Emit(Out),
    /// Open a new connection, then report [`connected`](Subscriptions::connected) or
    /// [`connect_failed`](Subscriptions::connect_failed).
    Connect,
    /// Send this change and wait for its confirmations, then report
    /// [`sent`](Subscriptions::sent).
    Send(Change),
    /// Wait this long (the backoff before the next attempt), then ask again.
    Sleep(Duration),
    /// Wait for the next message, until `until` at most (then ask again: a health check is
    /// due); report it with [`received`](Subscriptions::received), or the connection's loss
    /// with [`lost`](Subscriptions::lost).
    Receive { until: Option<Instant> },
    /// Nothing heard for a while: send `PING` and wait up to `timeout` for its answer, then
    /// report [`pinged`](Subscriptions::pinged).
    Ping { timeout: Duration },
}

/// How a sent change went.
#[derive(Debug)]
pub(crate) enum Sent {
    /// Every name was confirmed.
    Confirmed,
    /// The server answered with an error (e.g. `NOPERM` for a channel the user may not read).
    Refused(Error),
    /// The connection failed (or timed out) before every confirmation arrived.
    Lost(Error),
}

/// The connection's state.
#[derive(Debug)]
enum Link {
    /// A connection is open; `confirmed` is what it has subscribed.
    Up,
    /// No connection: the next attempt is due at `retry_at`. `since` is when the outage
    /// began.
    Down {
        since: Instant,
        failures: u32,
        retry_at: Instant,
    },
}

/// The state of one subscription.
#[derive(Debug)]
pub(crate) struct Subscriptions {
    /// Wanted, by [`Kind::index`].
    wanted: [BTreeSet<String>; 2],
    /// Confirmed on the current connection, by [`Kind::index`].
    confirmed: [BTreeSet<String>; 2],
    link: Link,
    backoff: Backoff,
    /// Messages and notices not handed out yet.
    outbox: VecDeque<Out>,
    /// After a reconnection, until every wanted name is confirmed: when the outage began and
    /// how many attempts failed. The `Resubscribed` notice then goes before any message of
    /// the new connection.
    resubscribing: Option<(Instant, u32)>,
    /// Send a `PING` after this long without hearing from the server, and count the
    /// connection as lost if the answer does not come within as long again.
    health_check: Option<Duration>,
    /// When the current connection last delivered anything.
    last_heard: Instant,
    /// Whether the subscription was handed to the user ([`start`](Self::start)): before,
    /// failures are the caller's error; after, they are reconnected from and told.
    started: bool,
    /// A change refused by the server since the driver last asked
    /// ([`take_refusal`](Self::take_refusal)).
    refusal: Option<Error>,
}

impl Subscriptions {
    /// Nothing connected yet; the first action is [`Action::Connect`].
    pub(crate) fn new(
        channels: Vec<String>,
        patterns: Vec<String>,
        backoff: Backoff,
        now: Instant,
    ) -> Self {
        Subscriptions {
            wanted: [
                channels.into_iter().collect(),
                patterns.into_iter().collect(),
            ],
            confirmed: Default::default(),
            link: Link::Down {
                since: now,
                failures: 0,
                retry_at: now,
            },
            backoff,
            outbox: VecDeque::new(),
            resubscribing: None,
            health_check: Some(HEALTH_CHECK),
            last_heard: now,
            started: false,
            refusal: None,
        }
    }

    /// While opening the subscription: connect, or send what is not confirmed yet; `None`
    /// once everything is confirmed, and the subscription is handed to the user (from then
    /// on, a lost connection is re-established). Messages that arrived meanwhile stay queued.
    pub(crate) fn opening_step(&mut self) -> Option<Action> {
        let step = match self.is_up() {
            false => Some(Action::Connect),
            true => self.pending_change().map(Action::Send),
        };
        if step.is_none() {
            self.started = true;
        }
        step
    }

    /// How a live change went, once the driver has sent what [`pending_change`] gave: the
    /// server's refusal, or a connection error while the subscription is reconnecting (the
    /// change is kept, and applied once it is back).
    ///
    /// [`pending_change`]: Self::pending_change
    pub(crate) fn change_result(&mut self) -> crate::error::Result<()> {
        if let Some(e) = self.refusal.take() {
            return Err(e);
        }
        match self.is_settled() {
            true => Ok(()),
            false => Err(not_connected()),
        }
    }

    /// The wanted names of one kind, sorted.
    pub(crate) fn wanted(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.wanted[kind.index()].iter().map(String::as_str)
    }

    /// Whether a connection is open.
    pub(crate) fn is_up(&self) -> bool {
        matches!(self.link, Link::Up)
    }

    /// Adds (`subscribe`) or removes names; the next actions send the difference.
    pub(crate) fn want(&mut self, kind: Kind, names: &[&str], subscribe: bool) {
        let wanted = &mut self.wanted[kind.index()];
        for name in names {
            if subscribe {
                wanted.insert((*name).to_owned());
            } else {
                wanted.remove(*name);
            }
        }
    }

    /// The change to send now, if connected and not settled (for a live change, which sends
    /// without handing anything out or receiving).
    pub(crate) fn pending_change(&self) -> Option<Change> {
        if self.is_up() { self.change() } else { None }
    }

    /// Whether every wanted name is confirmed and nothing else is.
    pub(crate) fn is_settled(&self) -> bool {
        self.is_up() && self.change().is_none()
    }

    /// The next change that brings the connection to what is wanted: subscriptions first.
    fn change(&self) -> Option<Change> {
        for subscribe in [true, false] {
            for kind in [Kind::Channel, Kind::Pattern] {
                let (wanted, confirmed) =
                    (&self.wanted[kind.index()], &self.confirmed[kind.index()]);
                let names: Vec<String> = if subscribe {
                    wanted.difference(confirmed).cloned().collect()
                } else {
                    confirmed.difference(wanted).cloned().collect()
                };
                if !names.is_empty() {
                    return Some(Change {
                        kind,
                        subscribe,
                        names,
                    });
                }
            }
        }
        None
    }

    /// What to do next. With a connection: send what is not confirmed yet (before handing out
    /// anything, so that `Resubscribed` precedes the new connection's messages), then hand out
    /// what is waiting, then receive. Without one: hand out what is waiting (the user hears of
    /// the loss before the first attempt), then reconnect when the backoff allows.
    pub(crate) fn next_action(&mut self, now: Instant) -> Action {
        match self.link {
            Link::Up => {
                if let Some(change) = self.change() {
                    return Action::Send(change);
                }
                if let Some((since, attempts)) = self.resubscribing.take() {
                    return Action::Emit(Out::Resubscribed {
                        down_for: now.saturating_duration_since(since),
                        attempts,
                    });
                }
                if let Some(out) = self.outbox.pop_front() {
                    return Action::Emit(out);
                }
                match self.health_check {
                    Some(every) if now >= self.last_heard + every => {
                        Action::Ping { timeout: every }
                    }
                    Some(every) => Action::Receive {
                        until: Some(self.last_heard + every),
                    },
                    None => Action::Receive { until: None },
                }
            }
            Link::Down { retry_at, .. } => match self.outbox.pop_front() {
                Some(out) => Action::Emit(out),
                None if now >= retry_at => Action::Connect,
                None => Action::Sleep(retry_at - now),
            },
        }
    }

    /// A new connection is open (nothing subscribed on it yet).
    pub(crate) fn connected(&mut self, now: Instant) {
        self.last_heard = now;
        if let Link::Down {
            since, failures, ..
        } = self.link
            && self.started
        {
            self.resubscribing = Some((since, failures + 1));
        }
        self.confirmed = Default::default();
        self.link = Link::Up;
    }

    /// Opening a connection failed: try again after the backoff. Before the first connection
    /// there is nobody to tell (the caller gets the error); afterwards the user is told.
    pub(crate) fn connect_failed(&mut self, error: Error, now: Instant) -> Option<Error> {
        let Link::Down {
            since, failures, ..
        } = self.link
        else {
            return self.lost(error, now);
        };
        let failures = failures + 1;
        let retry_in = self.backoff.delay(failures);
        self.link = Link::Down {
            since,
            failures,
            retry_at: now + retry_in,
        };
        if !self.started {
            return Some(error);
        }
        self.outbox.push_back(Out::Disconnected {
            error,
            attempt: failures,
            retry_in,
        });
        None
    }

    /// The connection is gone: the user is told, and the next attempt is due after the
    /// first delay of the backoff (at once by default: the server may well be up).
    /// Before the first connection, the error is handed back instead.
    pub(crate) fn lost(&mut self, error: Error, now: Instant) -> Option<Error> {
        let since = match (&self.link, self.resubscribing.take()) {
            // Lost again while resubscribing: the outage goes on.
            (Link::Up, Some((since, _))) => since,
            (Link::Up, None) => now,
            (Link::Down { since, .. }, _) => *since,
        };
        self.confirmed = Default::default();
        let retry_in = self.backoff.delay(0);
        self.link = Link::Down {
            since,
            failures: 0,
            retry_at: now + retry_in,
        };
        if !self.started {
            return Some(error);
        }
        self.outbox.push_back(Out::Disconnected {
            error,
            attempt: 0,
            retry_in,
        });
        None
    }

    /// How a change went. A refused change is taken out of what is wanted (so it is not
    /// retried on every reconnection) and kept for [`take_refusal`](Self::take_refusal),
    /// except while resubscribing, where it counts as a failed attempt (the user is told,
    /// and it is retried after the backoff: the permission may come back).
    /// Returns the error the caller gets if the subscription is not started yet.
    pub(crate) fn sent(&mut self, change: &Change, outcome: Sent, now: Instant) -> Option<Error> {
        match outcome {
            Sent::Confirmed => {
                self.last_heard = now;
                let confirmed = &mut self.confirmed[change.kind.index()];
                for name in &change.names {
                    if change.subscribe {
                        confirmed.insert(name.clone());
                    } else {
                        confirmed.remove(name);
                    }
                }
                None
            }
            Sent::Refused(error) if self.resubscribing.is_some() => {
                // `attempts` counts this attempt, which `connect_failed` adds again.
                let (since, attempts) = self.resubscribing.take().unwrap_or((now, 1));
                self.link = Link::Down {
                    since,
                    failures: attempts - 1,
                    retry_at: now,
                };
                self.confirmed = Default::default();
                self.connect_failed(error, now)
            }
            Sent::Refused(error) => {
                let wanted = &mut self.wanted[change.kind.index()];
                for name in &change.names {
                    if change.subscribe {
                        wanted.remove(name);
                    } else {
                        wanted.insert(name.clone());
                    }
                }
                self.refusal = Some(error);
                None
            }
            Sent::Lost(error) => self.lost(error, now),
        }
    }

    /// A message arrived.
    pub(crate) fn received(&mut self, msg: redis::Msg, now: Instant) {
        self.last_heard = now;
        self.outbox.push_back(Out::Message(msg));
    }

    /// How a health check went: answered, or not (the connection is lost).
    pub(crate) fn pinged(&mut self, answer: Result<(), Error>, now: Instant) {
        match answer {
            Ok(()) => self.last_heard = now,
            Err(e) => {
                self.lost(e, now);
            }
        }
    }

    /// Sets the health check: after `every` without hearing from the server, a `PING`, and
    /// the connection counts as lost if its answer does not come within `every` more;
    /// `None`: no health check.
    pub(crate) fn set_health_check(&mut self, every: Option<Duration>) {
        self.health_check = every.filter(|d| !d.is_zero());
    }

    /// The latest refused change's error, if any since the last call.
    pub(crate) fn take_refusal(&mut self) -> Option<Error> {
        self.refusal.take()
    }

    /// Forgets any refusal before a new change is requested.
    pub(crate) fn clear_refusal(&mut self) {
        self.refusal = None;
    }
}

/// The error a live change gets while the subscription is reconnecting.
pub(crate) fn not_connected() -> Error {
    Error::from(redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::NotConnected,
        "the subscription is reconnecting; the change is kept and applied once it is back",
    )))
}

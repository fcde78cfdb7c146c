#![allow(clippy::unwrap_used, clippy::panic)] // tests: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use redis::Value;

use super::*;

const FIRST: Duration = Duration::from_millis(100);
const MAX: Duration = Duration::from_secs(5);

fn state(channels: &[&str], patterns: &[&str], now: Instant) -> Subscriptions {
    let owned = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect();
    Subscriptions::new(
        owned(channels),
        owned(patterns),
        Backoff::seeded(FIRST, MAX, 7),
        now,
    )
}

fn msg(channel: &str, payload: &str) -> redis::Msg {
    let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
    redis::Msg::from_owned_value(Value::Array(vec![
        bulk("message"),
        bulk(channel),
        bulk(payload),
    ]))
    .unwrap()
}

fn error() -> Error {
    not_connected()
}

fn change(kind: Kind, subscribe: bool, names: &[&str]) -> Change {
    Change {
        kind,
        subscribe,
        names: names.iter().map(|n| (*n).to_owned()).collect(),
    }
}

/// Sends every pending change (as a driver would, all confirmed); returns what was sent.
fn settle(s: &mut Subscriptions, now: Instant) -> Vec<Change> {
    s.started = true;
    let mut sent = Vec::new();
    while let Some(c) = s.pending_change() {
        s.sent(&c, Sent::Confirmed, now);
        sent.push(c);
    }
    sent
}

#[test]
fn a_new_subscription_connects_then_subscribes_channels_and_patterns_without_a_notice() {
    let now = Instant::now();
    let mut s = state(&["b", "a"], &["p*"], now);
    assert!(matches!(s.next_action(now), Action::Connect));
    s.connected(now);
    let Action::Send(first) = s.next_action(now) else {
        panic!("expected a SUBSCRIBE")
    };
    assert_eq!(first, change(Kind::Channel, true, &["a", "b"]));
    assert_eq!(first.command(), "SUBSCRIBE");
    assert!(s.sent(&first, Sent::Confirmed, now).is_none());
    let Action::Send(second) = s.next_action(now) else {
        panic!("expected a PSUBSCRIBE")
    };
    assert_eq!(second.command(), "PSUBSCRIBE");
    s.sent(&second, Sent::Confirmed, now);
    assert!(s.is_settled());
    // The first connection is not a reconnection: no notice, just receive.
    assert!(matches!(s.next_action(now), Action::Receive { .. }));
}

#[test]
fn failures_before_the_first_connection_are_handed_back_not_emitted() {
    let now = Instant::now();
    let mut s = state(&["a"], &[], now);
    assert!(s.connect_failed(error(), now).is_some());
    let mut s = state(&["a"], &[], now);
    s.connected(now);
    let c = s.pending_change().unwrap();
    assert!(s.sent(&c, Sent::Lost(error()), now).is_some());
    assert!(!s.is_up());
    assert!(s.outbox.is_empty());
}

#[test]
fn a_lost_connection_is_told_retried_with_backoff_and_resubscribed_before_new_messages() {
    let t0 = Instant::now();
    let mut s = state(&["a", "b"], &["p*"], t0);
    s.connected(t0);
    settle(&mut s, t0);
    s.received(msg("a", "old"), t0);
    s.lost(error(), t0);
    // A message read before the loss still comes first, then the loss.
    assert!(matches!(s.next_action(t0), Action::Emit(Out::Message(_))));
    let Action::Emit(Out::Disconnected {
        attempt: 0,
        retry_in,
        ..
    }) = s.next_action(t0)
    else {
        panic!("expected Disconnected")
    };
    assert_eq!(retry_in, Duration::ZERO, "the first attempt is immediate");
    assert!(matches!(s.next_action(t0), Action::Connect));
    let mut now = t0;
    for attempt in 1..=3 {
        assert!(s.connect_failed(error(), now).is_none());
        let Action::Emit(Out::Disconnected {
            attempt: a,
            retry_in,
            ..
        }) = s.next_action(now)
        else {
            panic!("expected Disconnected")
        };
        assert_eq!(a, attempt);
        let full = FIRST * (1 << (attempt - 1));
        assert!(
            retry_in >= full / 2 && retry_in <= full,
            "attempt {attempt}: {retry_in:?}"
        );
        let Action::Sleep(d) = s.next_action(now) else {
            panic!("expected to wait out the backoff")
        };
        assert_eq!(d, retry_in);
        now += d;
        assert!(matches!(s.next_action(now), Action::Connect));
    }
    s.connected(now);
    // A message arriving while resubscribing waits behind the notice.
    let sent = settle(&mut s, now);
    assert_eq!(
        sent,
        vec![
            change(Kind::Channel, true, &["a", "b"]),
            change(Kind::Pattern, true, &["p*"])
        ]
    );
    s.received(msg("b", "new"), now);
    let later = now + Duration::from_millis(5);
    let Action::Emit(Out::Resubscribed { down_for, attempts }) = s.next_action(later) else {
        panic!("expected Resubscribed")
    };
    assert_eq!(attempts, 4);
    assert_eq!(down_for, later - t0);
    let Action::Emit(Out::Message(m)) = s.next_action(later) else {
        panic!("expected the new message")
    };
    assert_eq!(m.get_payload_bytes(), b"new");
    assert!(matches!(s.next_action(later), Action::Receive { .. }));
}

#[test]
fn the_backoff_is_bounded_by_its_cap() {
    let mut b = Backoff::seeded(FIRST, MAX, 99);
    assert_eq!(b.delay(0), Duration::ZERO);
    for failures in 1..200 {
        let d = b.delay(failures);
        assert!(d <= MAX, "{failures}: {d:?}");
        assert!(d >= FIRST / 2, "{failures}: {d:?}");
    }
    assert!(b.delay(u32::MAX) >= MAX / 2);
}

#[test]
fn live_changes_send_only_the_difference() {
    let now = Instant::now();
    let mut s = state(&["a"], &[], now);
    s.connected(now);
    settle(&mut s, now);
    s.want(Kind::Channel, &["a", "c"], true);
    s.want(Kind::Pattern, &["x*"], true);
    assert_eq!(
        settle(&mut s, now),
        vec![
            change(Kind::Channel, true, &["c"]),
            change(Kind::Pattern, true, &["x*"])
        ]
    );
    s.want(Kind::Channel, &["a"], false);
    s.want(Kind::Pattern, &["y*"], true);
    s.want(Kind::Pattern, &["y*"], false);
    assert_eq!(
        settle(&mut s, now),
        vec![change(Kind::Channel, false, &["a"])]
    );
    assert_eq!(s.wanted(Kind::Channel).collect::<Vec<_>>(), ["c"]);
    assert_eq!(s.wanted(Kind::Pattern).collect::<Vec<_>>(), ["x*"]);
}

#[test]
fn changes_made_while_down_are_applied_on_reconnection() {
    let now = Instant::now();
    let mut s = state(&["a"], &[], now);
    s.connected(now);
    settle(&mut s, now);
    s.lost(error(), now);
    s.want(Kind::Channel, &["a"], false);
    s.want(Kind::Channel, &["b"], true);
    assert!(s.pending_change().is_none(), "nothing is sent while down");
    s.connected(now);
    assert_eq!(
        settle(&mut s, now),
        vec![change(Kind::Channel, true, &["b"])]
    );
}

#[test]
fn a_refused_change_is_dropped_and_reported_but_a_refused_resubscription_is_retried() {
    let now = Instant::now();
    let mut s = state(&["a"], &[], now);
    s.connected(now);
    settle(&mut s, now);
    s.want(Kind::Channel, &["secret"], true);
    let c = s.pending_change().unwrap();
    assert!(s.sent(&c, Sent::Refused(error()), now).is_none());
    assert!(s.take_refusal().is_some());
    assert_eq!(s.wanted(Kind::Channel).collect::<Vec<_>>(), ["a"]);
    assert!(s.is_settled());

    // After a reconnection, a refusal is a failed attempt: told, retried, names kept.
    s.lost(error(), now);
    let _ = s.next_action(now);
    s.connected(now);
    let c = s.pending_change().unwrap();
    s.sent(&c, Sent::Refused(error()), now);
    assert!(!s.is_up());
    assert!(s.take_refusal().is_none());
    assert!(matches!(
        s.next_action(now),
        Action::Emit(Out::Disconnected { attempt: 1, .. })
    ));
    assert_eq!(s.wanted(Kind::Channel).collect::<Vec<_>>(), ["a"]);
}

#[test]
fn messages_arriving_while_opening_stay_queued_for_the_user() {
    let now = Instant::now();
    let mut s = state(&["a", "b"], &[], now);
    assert!(matches!(s.opening_step(), Some(Action::Connect)));
    s.connected(now);
    let Some(Action::Send(c)) = s.opening_step() else {
        panic!("expected a SUBSCRIBE")
    };
    // Published on `a` before the confirmation of `b` was read.
    s.received(msg("a", "early"), now);
    s.sent(&c, Sent::Confirmed, now);
    assert!(s.opening_step().is_none());
    assert!(s.started);
    let Action::Emit(Out::Message(m)) = s.next_action(now) else {
        panic!("expected the early message")
    };
    assert_eq!(m.get_payload_bytes(), b"early");
}

#[test]
fn a_quiet_connection_is_pinged_and_lost_if_the_answer_does_not_come() {
    let t0 = Instant::now();
    let every = Duration::from_millis(300);
    let mut s = state(&["a"], &[], t0);
    s.set_health_check(Some(every));
    s.connected(t0);
    settle(&mut s, t0);
    let Action::Receive { until } = s.next_action(t0) else {
        panic!("expected to receive")
    };
    assert_eq!(until, Some(t0 + every));
    // A message puts the check off.
    let t1 = t0 + every / 2;
    s.received(msg("a", "x"), t1);
    let _ = s.next_action(t1);
    assert!(matches!(
        s.next_action(t1),
        Action::Receive { until: Some(u) } if u == t1 + every
    ));
    // Quiet for `every`: a PING, whose timeout is `every`.
    let t2 = t1 + every;
    let Action::Ping { timeout } = s.next_action(t2) else {
        panic!("expected a health check")
    };
    assert_eq!(timeout, every);
    s.pinged(Ok(()), t2);
    assert!(matches!(s.next_action(t2), Action::Receive { .. }));
    // Not answered: lost, told, reconnected.
    let t3 = t2 + every;
    assert!(matches!(s.next_action(t3), Action::Ping { .. }));
    s.pinged(Err(error()), t3 + every);
    assert!(!s.is_up());
    assert!(matches!(
        s.next_action(t3),
        Action::Emit(Out::Disconnected { attempt: 0, .. })
    ));
    // Off: wait for ever.
    s.set_health_check(None);
    s.connected(t3);
    settle(&mut s, t3);
    let _ = s.next_action(t3); // Resubscribed
    assert!(matches!(
        s.next_action(t3 + Duration::from_secs(3600)),
        Action::Receive { until: None }
    ));
}

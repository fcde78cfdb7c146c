//! Pub/sub: typed messages published by one session and received by a subscriber of another,
//! async (stream) and sync (iterator).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::time::Duration;

use futures_util::StreamExt;
use kvdb::{Error, Serializer};
use kvdb_tests::{options, session};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Event {
    id: u32,
    kind: String,
}

fn event(id: u32) -> Event {
    Event {
        id,
        kind: format!("kind-{id}"),
    }
}

async fn next(events: &mut kvdb::Subscription<Event>) -> kvdb::Message<Event> {
    tokio::time::timeout(Duration::from_secs(5), events.next())
        .await
        .expect("a message within 5 s")
        .expect("a subscription does not end")
        .into_message()
        .expect("a message, not news of the connection")
}

#[tokio::test]
async fn async_subscriber_receives_typed_messages_from_other_sessions() {
    let (json, p) = session(options("pub-json").serializer(Serializer::Json));
    let (cbor, _) = session(options("pub-cbor").serializer(Serializer::Cbor));
    let (sub, _) = session(options("sub"));
    let (a, b) = (format!("{p}:a"), format!("{p}:b"));
    let mut events = sub.aio().subscribe::<Event>(&[&a, &b]).await.unwrap();
    // Each message is decoded by its own header, whatever the publisher's serializer.
    assert_eq!(json.aio().publish(&a, &event(1)).await.unwrap(), 1);
    assert_eq!(cbor.aio().publish(&b, &event(2)).await.unwrap(), 1);
    assert_eq!(
        json.aio()
            .publish(&format!("{p}:other"), &event(3))
            .await
            .unwrap(),
        0
    );
    json.aio().publish(&a, "not an event").await.unwrap();
    json.aio().publish(&b, &event(4)).await.unwrap();

    let m = next(&mut events).await;
    assert_eq!(
        (m.channel.as_str(), m.payload.unwrap()),
        (a.as_str(), event(1))
    );
    let m = next(&mut events).await;
    assert_eq!(
        (m.channel.as_str(), m.payload.unwrap()),
        (b.as_str(), event(2))
    );
    // A payload that is not an Event: an error in that message, and the stream goes on.
    let m = next(&mut events).await;
    assert_eq!(m.channel, a);
    assert!(
        matches!(m.payload, Err(Error::Decode { .. })),
        "{:?}",
        m.payload
    );
    let m = next(&mut events).await;
    assert_eq!(m.payload.unwrap(), event(4));
    // Dropping the subscription closes its connection: nobody receives any more.
    drop(events);
    let mut gone = 1;
    for _ in 0..50 {
        gone = json.aio().publish(&a, &event(5)).await.unwrap();
        if gone == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(gone, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_published_from_concurrent_tasks_all_arrive() {
    let (s, p) = session(options("pub-many").serializer(Serializer::MsgPack));
    let ch = format!("{p}:ch");
    let mut events = s.aio().subscribe::<Event>(&[&ch]).await.unwrap();
    let mut tasks = Vec::new();
    for id in 0..20 {
        let (s, ch) = (s.aio(), ch.clone());
        tasks.push(tokio::spawn(async move {
            s.publish(&ch, &event(id)).await.unwrap()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 1);
    }
    let mut ids = Vec::new();
    for _ in 0..20 {
        let m = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .unwrap()
            .unwrap()
            .into_message()
            .unwrap();
        ids.push(m.payload.unwrap().id);
    }
    ids.sort();
    assert_eq!(ids, (0..20).collect::<Vec<_>>());
}

#[test]
fn sync_subscriber_iterates_typed_messages() {
    let (publisher, p) = session(options("pub").serializer(Serializer::Json));
    let ch = format!("{p}:ch");
    let sub = publisher.subscribe::<Event>(&[&ch]).unwrap();
    // A subscriber can be handed to a thread of its own.
    let listener = std::thread::spawn(move || {
        sub.take(2)
            .map(|e| e.into_message().unwrap().payload.unwrap())
            .collect::<Vec<Event>>()
    });
    assert_eq!(publisher.publish(&ch, &event(1)).unwrap(), 1);
    publisher.publish(&ch, &event(2)).unwrap();
    assert_eq!(listener.join().unwrap(), vec![event(1), event(2)]);
}

/// The next message within 5 s, sync or async (`$next` is the `next_timeout` call).
macro_rules! message {
    ($next:expr) => {
        match $next {
            Some(kvdb::Event::Message(m)) => m,
            other => panic!("expected a message within 5 s, got {other:?}"),
        }
    };
}

// A quiet period is not an error, and the message published after a wait that timed out is
// the next one received (redis-rs's `recv_response` used to drop it). Several timed-out
// waits in a row, then two messages: both arrive, in order.
kvdb_tests::dual_test!(
    quiet_periods_are_not_errors_and_lose_nothing,
    [Json],
    |s, p| {
        let ch = format!("{p}:quiet");
        let mut sub = w!(s.subscribe::<u32>(&[&ch])).unwrap();
        let started = std::time::Instant::now();
        assert!(w!(sub.next_timeout(Duration::from_secs(3))).is_none());
        assert!(
            started.elapsed() >= Duration::from_secs(3),
            "waited the whole 3 s"
        );
        for _ in 0..5 {
            assert!(w!(sub.next_timeout(Duration::from_millis(20))).is_none());
        }
        assert_eq!(w!(s.publish(&ch, &1u32)).unwrap(), 1);
        assert_eq!(w!(s.publish(&ch, &2u32)).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(
            m.payload.unwrap(),
            1,
            "the first message after the timeouts"
        );
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(m.payload.unwrap(), 2);
    }
);

kvdb_tests::dual_test!(
    pattern_subscriptions_name_the_channel_and_the_pattern,
    [Json, MsgPack],
    |s, p| {
        let pattern = format!("{p}:orders:*");
        let mut sub = w!(s.psubscribe::<u32>(&[&pattern])).unwrap();
        assert_eq!(sub.patterns(), vec![pattern.clone()]);
        assert!(sub.channels().is_empty());
        assert_eq!(w!(s.publish(&format!("{p}:orders:eu"), &7u32)).unwrap(), 1);
        assert_eq!(w!(s.publish(&format!("{p}:other"), &8u32)).unwrap(), 0);
        assert_eq!(w!(s.publish(&format!("{p}:orders:us"), &9u32)).unwrap(), 1);
        for (channel, n) in [("eu", 7), ("us", 9)] {
            let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
            assert_eq!(m.channel, format!("{p}:orders:{channel}"));
            assert_eq!(m.pattern.as_deref(), Some(pattern.as_str()));
            assert_eq!(m.payload.unwrap(), n);
        }
    }
);

kvdb_tests::dual_test!(
    channels_and_patterns_change_on_a_live_subscription,
    [Json],
    |s, p| {
        let (a, b, c) = (format!("{p}:a"), format!("{p}:b"), format!("{p}:c"));
        let pattern = format!("{p}:pat:*");
        let mut sub = w!(s.subscribe::<String>(&[&a])).unwrap();
        w!(sub.subscribe(&[&b, &c])).unwrap();
        w!(sub.psubscribe(&[&pattern])).unwrap();
        assert_eq!(sub.channels(), vec![a.clone(), b.clone(), c.clone()]);
        // Each change is confirmed when the call returns: publishing right after reaches it.
        for ch in [&a, &b, &c] {
            assert_eq!(w!(s.publish(ch, ch.as_str())).unwrap(), 1, "{ch}");
        }
        let pch = format!("{p}:pat:x");
        assert_eq!(w!(s.publish(&pch, "via pattern")).unwrap(), 1);
        for want in [&a, &b, &c] {
            let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
            assert_eq!((&m.channel, m.payload.unwrap()), (want, want.clone()));
        }
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(
            (m.channel.as_str(), m.pattern.as_deref()),
            (pch.as_str(), Some(pattern.as_str()))
        );

        w!(sub.unsubscribe(&[&a, &c])).unwrap();
        w!(sub.punsubscribe(&[&pattern])).unwrap();
        assert_eq!(sub.channels(), vec![b.clone()]);
        assert!(sub.patterns().is_empty());
        assert_eq!(w!(s.publish(&a, "gone")).unwrap(), 0);
        assert_eq!(w!(s.publish(&pch, "gone")).unwrap(), 0);
        assert_eq!(w!(s.publish(&b, "still")).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(
            (m.channel, m.payload.unwrap()),
            (b.clone(), "still".to_owned())
        );

        // Everything removed, then added back: the subscription goes on.
        w!(sub.unsubscribe(&[&b])).unwrap();
        assert!(w!(sub.next_timeout(Duration::from_millis(100))).is_none());
        w!(sub.subscribe(&[&a])).unwrap();
        assert_eq!(w!(s.publish(&a, "back")).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(m.payload.unwrap(), "back");
    }
);

/// The same kind of session (sync or async) on the test server, speaking RESP3.
trait Resp3: Sized {
    fn resp3(&self) -> Self;
}

impl Resp3 for kvdb::Session {
    fn resp3(&self) -> Self {
        session(options("resp3").protocol(kvdb::Protocol::Resp3)).0
    }
}

impl Resp3 for kvdb::AsyncSession {
    fn resp3(&self) -> Self {
        self.blocking().resp3().aio()
    }
}

// RESP3 sessions: messages and confirmations come as push frames, and a PING in subscribed
// mode is answered with a plain PONG; the same subscriptions and health checks work.
kvdb_tests::dual_test!(resp3_subscriptions_work_alike, [Json], |s, p| {
    let r = s.resp3();
    let s = &r;
    let (ch, pattern, pch) = (
        format!("{p}:ch"),
        format!("{p}:pat:*"),
        format!("{p}:pat:x"),
    );
    let mut sub = w!(s.subscribe::<u32>(&[&ch])).unwrap();
    w!(sub.psubscribe(&[&pattern])).unwrap();
    sub.set_health_check(Some(Duration::from_millis(250)));
    // Several checks, all answered: nothing to report.
    assert!(w!(sub.next_timeout(Duration::from_millis(800))).is_none());
    assert_eq!(w!(s.publish(&ch, &1u32)).unwrap(), 1);
    assert_eq!(w!(s.publish(&pch, &2u32)).unwrap(), 1);
    let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
    assert_eq!(
        (m.channel.as_str(), m.pattern, m.payload.unwrap()),
        (ch.as_str(), None, 1)
    );
    let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
    assert_eq!(
        (m.pattern.as_deref(), m.payload.unwrap()),
        (Some(pattern.as_str()), 2)
    );
    w!(sub.unsubscribe(&[&ch])).unwrap();
    assert_eq!(w!(s.publish(&ch, &3u32)).unwrap(), 0);
});

// A subscription to nothing is an empty input like any other: no invalid `SUBSCRIBE` is sent,
// waiting on it is a quiet period, and channels added later work.
kvdb_tests::dual_test!(
    a_subscription_to_nothing_is_quiet_until_given_channels,
    [Json],
    |s, p| {
        let mut sub = w!(s.subscribe::<u32>(&[])).unwrap();
        assert!(sub.channels().is_empty());
        assert!(w!(sub.next_timeout(Duration::from_millis(200))).is_none());
        let mut psub = w!(s.psubscribe::<u32>(&[])).unwrap();
        assert!(w!(psub.next_timeout(Duration::from_millis(200))).is_none());
        let ch = format!("{p}:later");
        w!(sub.subscribe(&[&ch])).unwrap();
        assert_eq!(w!(s.publish(&ch, &5u32)).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(m.payload.unwrap(), 5);
    }
);

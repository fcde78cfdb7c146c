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
        .expect("the subscription is open")
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
    sub.set_timeout(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(publisher.publish(&ch, &event(1)).unwrap(), 1);
    publisher.publish(&ch, &event(2)).unwrap();
    let got: Vec<Event> = sub.take(2).map(|m| m.unwrap().payload.unwrap()).collect();
    assert_eq!(got, vec![event(1), event(2)]);
}

#[test]
fn sync_subscriber_times_out_with_a_typed_error() {
    let (s, p) = session(options("pub"));
    let mut sub = s.subscribe::<String>(&[&format!("{p}:quiet")]).unwrap();
    sub.set_timeout(Some(Duration::from_millis(100))).unwrap();
    let e = sub.next().expect("an item").unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
}

//! Smoke test: the shortest path through a real server, sync and async.

use kvdb::Serializer;
use kvdb_tests::{options, session};
use serde::{Deserialize, Serialize};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i32,
    y: i32,
}

#[test]
fn set_then_get_round_trips() {
    let (s, p) = session(options("smoke").serializer(Serializer::Json));
    let key = format!("{p}:point");
    s.set(&key, &Point { x: 1, y: -2 }).unwrap();
    assert_eq!(s.get::<Point>(&key).unwrap(), Some(Point { x: 1, y: -2 }));
    assert_eq!(s.get::<Point>(&format!("{p}:missing")).unwrap(), None);
}

#[tokio::test]
async fn async_set_then_get_round_trips() {
    let (s, p) = session(options("smoke").serializer(Serializer::Json));
    let key = format!("{p}:n");
    s.aio().set(&key, &41).await.unwrap();
    assert_eq!(s.aio().get::<i64>(&key).await.unwrap(), Some(41));
}

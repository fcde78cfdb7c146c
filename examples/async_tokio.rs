//! A tour of the async API: `cargo run -p kvdb-examples --example async_tokio`.
//!
//! `Session::aio()` gives the async twin of a session: the same methods, `async`, sharing one
//! multiplexed connection between every task of the runtime. This example runs concurrent
//! tokio tasks against it: counters, a work queue with BLPOP, a lock, pub/sub, SCAN as a
//! stream, a typed pipeline and a Lua script. Every key it writes starts with
//! `kvdb:async-tour:<pid>` and is deleted at the end.

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use kvdb::{AsyncSession, KVDBClient, ScanOptions, Script, Serializer, SessionOptions};
use kvdb_examples::{server, step};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u32,
    item: String,
    quantity: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Shipped {
    order: u32,
    by: String,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = server();
    let prefix = format!("kvdb:async-tour:{}", std::process::id());
    let session = KVDBClient::get_session(
        SessionOptions::new("async-tour")
            .url(&server.url)
            .serializer(Serializer::Json),
    )?;
    let db = session.aio();

    step(1, "The async twin: same methods, .await");
    db.ping().await?;
    let key = format!("{prefix}:order:1");
    let order = Order {
        id: 1,
        item: "teapot".into(),
        quantity: 2,
    };
    db.set(&key, &order).await?;
    let back: Option<Order> = db.get(&key).await?;
    println!("   stored and read back {back:?}");

    step(2, "50 concurrent tasks, one multiplexed connection");
    let counter = format!("{prefix}:visits");
    let start = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (db, counter) = (db.clone(), counter.clone());
            tokio::spawn(async move { db.incr(&counter).await })
        })
        .collect();
    for t in tasks {
        t.await??;
    }
    let total: Option<i64> = db.get(&counter).await?;
    println!(
        "   50 INCRs from 50 tasks -> {total:?} in {:?}",
        start.elapsed()
    );

    step(3, "A work queue: producers RPUSH, workers BLPOP");
    let queue = format!("{prefix}:queue");
    let workers: Vec<_> = (0..2)
        .map(|w| tokio::spawn(worker(db.clone(), queue.clone(), format!("worker-{w}"))))
        .collect();
    for id in 10..16 {
        let order = Order {
            id,
            item: format!("item-{id}"),
            quantity: id % 3 + 1,
        };
        db.rpush(&queue, &[order]).await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut done = 0;
    for w in workers {
        done += w.await??;
    }
    println!("   the workers handled {done} orders, then timed out waiting for more");

    step(4, "A distributed lock: tasks take turns");
    let lock = format!("{prefix}:lock:inventory");
    let tasks: Vec<_> = (0..3)
        .map(|n| {
            let (db, lock) = (db.clone(), lock.clone());
            tokio::spawn(async move {
                let guard = db.lock(&lock, Duration::from_secs(5)).await?;
                println!("   task {n} holds the lock");
                tokio::time::sleep(Duration::from_millis(50)).await;
                println!("   task {n} releases it");
                guard.release().await
            })
        })
        .collect();
    for t in tasks {
        t.await??;
    }

    step(5, "Pub/sub: typed messages to a subscriber task");
    let channel = format!("{prefix}:shipped");
    let mut events = db.subscribe::<Shipped>(&[&channel]).await?;
    let listener = tokio::spawn(async move {
        let mut got = Vec::new();
        while got.len() < 3 {
            match events.next_timeout(Duration::from_secs(5)).await {
                Some(kvdb::Event::Message(msg)) => got.push(msg.payload?),
                // The connection was lost or is back: kvdb resubscribes by itself.
                Some(other) => println!("   {other:?}"),
                None => break,
            }
        }
        Ok::<_, kvdb::Error>(got)
    });
    for order in 10..13 {
        let receivers = db
            .publish(
                &channel,
                &Shipped {
                    order,
                    by: "courier".into(),
                },
            )
            .await?;
        println!("   published order {order} to {receivers} subscriber(s)");
    }
    for s in listener.await?? {
        println!("   received {s:?}");
    }

    step(6, "SCAN as a stream");
    let found = keys_under(&db, &prefix).await?;
    println!("   {} keys under {prefix}: {found:?}", found.len());

    step(7, "A typed pipeline, atomic (MULTI/EXEC)");
    let mut p = db.pipeline().atomic();
    let stock = format!("{prefix}:stock");
    let set = p.hset(&stock, "teapot", &10);
    let left = p.hincr_by(&stock, "teapot", -2);
    let order = p.get::<Order>(&key);
    let mut results = db.execute(p).await?;
    results.take(set)?;
    println!(
        "   teapots left: {}, order: {:?}",
        results.take(left)?,
        results.take(order)?
    );

    step(
        8,
        "A Lua script (EVALSHA, EVAL if the server does not have it yet)",
    );
    let reserve = Script::new(
        "local left = redis.call('HINCRBY', KEYS[1], 'teapot', -ARGV[1])
         if left < 0 then redis.call('HINCRBY', KEYS[1], 'teapot', ARGV[1]); return false end
         return left",
    );
    let ok: Option<i64> = db.eval_script(reserve.call().key(&stock).arg(&3)).await?;
    let too_many: Option<i64> = db.eval_script(reserve.call().key(&stock).arg(&100)).await?;
    println!("   reserve 3 -> {ok:?} left; reserve 100 -> {too_many:?} (refused)");

    step(9, "Clean up");
    let found = keys_under(&db, &prefix).await?;
    let removed = db
        .delete(&found.iter().map(String::as_str).collect::<Vec<_>>())
        .await?;
    println!("   deleted {removed} keys");
    Ok(())
}

/// Every key under `prefix`, sorted, read a page at a time.
async fn keys_under(db: &AsyncSession, prefix: &str) -> kvdb::Result<Vec<String>> {
    let keys = db.scan(ScanOptions::new().pattern(format!("{prefix}:*")).count(100))?;
    let mut keys = std::pin::pin!(keys);
    let mut found = Vec::new();
    while let Some(k) = keys.next().await {
        found.push(k?);
    }
    found.sort();
    Ok(found)
}

/// Takes orders from the queue until none arrives for 300 ms; returns how many it handled.
async fn worker(db: AsyncSession, queue: String, name: String) -> kvdb::Result<u32> {
    let mut handled = 0;
    while let Some((_, order)) = db
        .blpop::<Order>(&[&queue], Duration::from_millis(300))
        .await?
    {
        println!(
            "   {name} ships order {} ({} x {})",
            order.id, order.quantity, order.item
        );
        handled += 1;
    }
    Ok(handled)
}

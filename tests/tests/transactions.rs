//! Multi-key optimistic transactions and refusable updates, sync and async: what they
//! write, what they refuse to write, and that concurrent writers lose nothing.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use kvdb::model::key_of;
use kvdb::{Error, KvModel};
use kvdb_tests::dual_test;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "tx.Stock", prefix = "tx:stock")]
struct Stock {
    #[kv(key)]
    sku: String,
    qty: u32,
}

fn stock(sku: &str, qty: u32) -> Stock {
    Stock {
        sku: sku.into(),
        qty,
    }
}

/// A fresh JSON session (models need a serializer) and a key prefix.
fn session(what: &str) -> (kvdb::Session, String) {
    kvdb_tests::session(kvdb_tests::options(what).serializer(kvdb::Serializer::Json))
}

/// An application's error: its own refusals, and kvdb's failures.
#[derive(Debug)]
enum OrderError {
    OutOfStock { left: u32 },
    Store(Error),
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::OutOfStock { left } => write!(f, "only {left} left"),
            OrderError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl From<Error> for OrderError {
    fn from(e: Error) -> Self {
        OrderError::Store(e)
    }
}

/// Moves `n` from `from` to `to` if `from` has enough; whether it did.
fn move_stock(s: &kvdb::Session, from: &str, to: &str, n: u32) -> Result<bool, Error> {
    let keys = [key_of::<Stock>(from)?, key_of::<Stock>(to)?];
    s.transaction(&[&keys[0], &keys[1]], |tx| {
        let (Some(mut a), Some(mut b)) = (tx.get_model::<Stock>(from)?, tx.get_model::<Stock>(to)?)
        else {
            return Ok(false);
        };
        if a.qty < n {
            return Ok(false);
        }
        a.qty -= n;
        b.qty += n;
        tx.set_model(&a).set_model(&b);
        Ok(true)
    })
}

async fn move_stock_async(
    s: &kvdb::AsyncSession,
    from: &str,
    to: &str,
    n: u32,
) -> Result<bool, Error> {
    let keys = [key_of::<Stock>(from)?, key_of::<Stock>(to)?];
    s.transaction(&[&keys[0], &keys[1]], |tx| {
        Box::pin(async move {
            let (Some(mut a), Some(mut b)) = (
                tx.get_model::<Stock>(from).await?,
                tx.get_model::<Stock>(to).await?,
            ) else {
                return Ok(false);
            };
            if a.qty < n {
                return Ok(false);
            }
            a.qty -= n;
            b.qty += n;
            tx.set_model(&a).set_model(&b);
            Ok(true)
        })
    })
    .await
}

#[test]
fn transaction_moves_stock_only_if_enough() {
    let (s, p) = session("tx-move");
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    s.set_models(&[stock(&a, 7), stock(&b, 0)]).unwrap();
    assert!(move_stock(&s, &a, &b, 5).unwrap());
    assert_eq!(s.get_model::<Stock>(&a).unwrap(), Some(stock(&a, 2)));
    assert_eq!(s.get_model::<Stock>(&b).unwrap(), Some(stock(&b, 5)));
    // Not enough left: nothing is written.
    assert!(!move_stock(&s, &a, &b, 5).unwrap());
    assert_eq!(s.get_model::<Stock>(&a).unwrap(), Some(stock(&a, 2)));
    assert_eq!(s.get_model::<Stock>(&b).unwrap(), Some(stock(&b, 5)));
    // The pooled connection went back clean: a later atomic pipeline is not aborted by a
    // leftover WATCH.
    s.set_model(&stock(&a, 1)).unwrap();
    let mut pipe = s.pipeline().atomic();
    let set = pipe.set_model(&stock(&b, 9));
    s.execute(pipe).unwrap().take(set).unwrap();
    assert_eq!(s.get_model::<Stock>(&b).unwrap(), Some(stock(&b, 9)));
}

#[tokio::test]
async fn async_transaction_moves_stock_only_if_enough() {
    let (s, p) = session("tx-move-aio");
    let s = s.aio();
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    s.set_models(&[stock(&a, 7), stock(&b, 0)]).await.unwrap();
    assert!(move_stock_async(&s, &a, &b, 5).await.unwrap());
    assert_eq!(s.get_model::<Stock>(&a).await.unwrap(), Some(stock(&a, 2)));
    assert_eq!(s.get_model::<Stock>(&b).await.unwrap(), Some(stock(&b, 5)));
    assert!(!move_stock_async(&s, &a, &b, 5).await.unwrap());
    assert_eq!(s.get_model::<Stock>(&a).await.unwrap(), Some(stock(&a, 2)));
    assert_eq!(s.get_model::<Stock>(&b).await.unwrap(), Some(stock(&b, 5)));
}

#[test]
fn a_refusing_body_writes_nothing_and_returns_its_error() {
    let (s, p) = session("tx-refuse");
    let (a, n) = (format!("{p}-a"), format!("{p}:n"));
    s.set_model(&stock(&a, 3)).unwrap();
    let key = key_of::<Stock>(&a).unwrap();
    let err = s
        .transaction(&[&key], |tx| {
            let st = tx.get_model::<Stock>(&a)?.unwrap();
            // Queued, then refused: must not be written.
            tx.incr(&n).set_model(&stock(&a, 0));
            Err::<(), _>(OrderError::OutOfStock { left: st.qty })
        })
        .unwrap_err();
    assert!(matches!(err, OrderError::OutOfStock { left: 3 }), "{err}");
    assert_eq!(s.get_model::<Stock>(&a).unwrap(), Some(stock(&a, 3)));
    assert_eq!(s.get::<i64>(&n).unwrap(), None);
}

#[tokio::test]
async fn async_refusing_body_writes_nothing_and_returns_its_error() {
    let (s, p) = session("tx-refuse-aio");
    let s = s.aio();
    let (a, n) = (format!("{p}-a"), format!("{p}:n"));
    s.set_model(&stock(&a, 3)).await.unwrap();
    let key = key_of::<Stock>(&a).unwrap();
    let (a_ref, n_ref) = (&a, &n);
    let err = s
        .transaction(&[&key], |tx| {
            Box::pin(async move {
                let st = tx.get_model::<Stock>(a_ref).await?.unwrap();
                tx.incr(n_ref).set_model(&stock(a_ref, 0));
                Err::<(), _>(OrderError::OutOfStock { left: st.qty })
            })
        })
        .await
        .unwrap_err();
    assert!(matches!(err, OrderError::OutOfStock { left: 3 }), "{err}");
    assert_eq!(s.get_model::<Stock>(&a).await.unwrap(), Some(stock(&a, 3)));
    assert_eq!(s.get::<i64>(&n).await.unwrap(), None);
}

#[test]
fn a_conflict_runs_the_body_again() {
    let (s, p) = session("tx-conflict");
    let k = format!("{p}:n");
    s.set(&k, &0).unwrap();
    let runs = AtomicU32::new(0);
    let out = s
        .transaction(&[&k], |tx| {
            let n: i64 = tx.get(&k)?.unwrap();
            let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
            if run <= 3 {
                // Another client writes the watched key before EXEC: this attempt is lost.
                s.set(&k, &(n + 100)).unwrap();
            }
            tx.set(&k, &(n + 1));
            Ok::<_, Error>(n + 1)
        })
        .unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        4,
        "three lost races, then a commit"
    );
    assert_eq!(out, 301);
    assert_eq!(s.get::<i64>(&k).unwrap(), Some(301));
}

#[tokio::test]
async fn async_conflict_runs_the_body_again() {
    let (s, p) = session("tx-conflict-aio");
    let s = s.aio();
    let k = format!("{p}:n");
    s.set(&k, &0).await.unwrap();
    let runs = AtomicU32::new(0);
    let (s_ref, k_ref, runs_ref) = (&s, &k, &runs);
    let out = s
        .transaction(&[&k], |tx| {
            Box::pin(async move {
                let n: i64 = tx.get(k_ref).await?.unwrap();
                let run = runs_ref.fetch_add(1, Ordering::SeqCst) + 1;
                if run <= 3 {
                    s_ref.set(k_ref, &(n + 100)).await.unwrap();
                }
                tx.set(k_ref, &(n + 1));
                Ok::<_, Error>(n + 1)
            })
        })
        .await
        .unwrap();
    assert_eq!(
        runs.load(Ordering::SeqCst),
        4,
        "three lost races, then a commit"
    );
    assert_eq!(out, 301);
    assert_eq!(s.get::<i64>(&k).await.unwrap(), Some(301));
}

#[test]
fn a_failed_queued_write_fails_the_transaction() {
    let (s, p) = session("tx-wrongtype");
    let (h, n) = (format!("{p}:h"), format!("{p}:n"));
    s.hset(&h, "f", &1).unwrap();
    let err = s
        .transaction(&[&h], |tx| {
            tx.incr(&n).incr(&h);
            Ok::<_, Error>(())
        })
        .unwrap_err();
    assert_eq!(err.key(), Some(h.as_str()), "{err}");
    assert!(err.to_string().contains("WRONGTYPE"), "{err}");
    // Redis does not roll back: the other write ran.
    assert_eq!(s.get::<i64>(&n).unwrap(), Some(1));
}

#[test]
fn no_keys_is_a_plain_multi_exec_and_nothing_queued_sends_no_exec() {
    let (s, p) = session("tx-nokeys");
    let k = format!("{p}:n");
    let v = s
        .transaction(&[], |tx| {
            tx.incr_by(&k, 2).incr_by(&k, 3);
            Ok::<_, Error>("done")
        })
        .unwrap();
    assert_eq!(v, "done");
    assert_eq!(s.get::<i64>(&k).unwrap(), Some(5));
    let read = s.transaction(&[&k], |tx| tx.get::<i64>(&k)).unwrap();
    assert_eq!(read, Some(5));
}

/// `threads` writers each add 1 to a counter `per` times in transactions that read, wait a
/// little (so they race), and write: the counter ends at `threads * per`, and the bodies ran
/// more often than that (conflicts were retried, not lost).
#[test]
fn concurrent_transactions_from_threads_lose_nothing() {
    let (s, p) = session("tx-threads");
    let (a, b) = (format!("{p}-a"), format!("{p}-b"));
    s.set_models(&[stock(&a, 1000), stock(&b, 1000)]).unwrap();
    let (threads, per) = (8, 25);
    let runs = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (s, a, b, runs) = (s.clone(), a.clone(), b.clone(), runs.clone());
            std::thread::spawn(move || {
                let keys = [key_of::<Stock>(&a).unwrap(), key_of::<Stock>(&b).unwrap()];
                for i in 0..per {
                    let (from, to) = if (t + i) % 2 == 0 { (&a, &b) } else { (&b, &a) };
                    s.transaction(&[&keys[0], &keys[1]], |tx| {
                        runs.fetch_add(1, Ordering::Relaxed);
                        let mut x = tx.get_model::<Stock>(from)?.unwrap();
                        let mut y = tx.get_model::<Stock>(to)?.unwrap();
                        std::thread::sleep(Duration::from_millis(1));
                        x.qty -= 1;
                        y.qty += 1;
                        tx.set_model(&x).set_model(&y);
                        tx.incr(&format!("{}:moves", x.sku));
                        Ok::<_, Error>(())
                    })
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let total = s.get_model::<Stock>(&a).unwrap().unwrap().qty
        + s.get_model::<Stock>(&b).unwrap().unwrap().qty;
    assert_eq!(total, 2000, "stock is only moved, never lost or made");
    let moves = s.get::<u32>(&format!("{a}:moves")).unwrap().unwrap_or(0)
        + s.get::<u32>(&format!("{b}:moves")).unwrap().unwrap_or(0);
    assert_eq!(
        moves,
        threads * per,
        "every transaction committed exactly once"
    );
    let runs = runs.load(Ordering::Relaxed);
    eprintln!("threads: {runs} body runs for {} commits", threads * per);
    assert!(runs > threads * per, "conflicts were retried: {runs} runs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_transactions_from_tasks_lose_nothing() {
    let (s, p) = session("tx-tasks");
    let s = s.aio();
    let k = format!("{p}:counter");
    s.set(&k, &0).await.unwrap();
    let (tasks, per) = (8u32, 25u32);
    let runs = Arc::new(AtomicU32::new(0));
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let (s, k, runs) = (s.clone(), k.clone(), runs.clone());
            tokio::spawn(async move {
                for _ in 0..per {
                    let (k, runs) = (&k, &runs);
                    s.transaction(&[k], |tx| {
                        Box::pin(async move {
                            runs.fetch_add(1, Ordering::Relaxed);
                            let n: u32 = tx.get(k).await?.unwrap();
                            tokio::time::sleep(Duration::from_millis(1)).await;
                            tx.set(k, &(n + 1));
                            Ok::<_, Error>(())
                        })
                    })
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(
        s.get::<u32>(&k).await.unwrap(),
        Some(tasks * per),
        "no increment lost"
    );
    let runs = runs.load(Ordering::Relaxed);
    eprintln!("tasks: {runs} body runs for {} commits", tasks * per);
    assert!(runs > tasks * per, "conflicts were retried: {runs} runs");
}

dual_test!(
    try_update_model_refuses_without_writing,
    [Json, MsgPack],
    |s, p| {
        let sku = format!("{p}-sku");
        w!(s.set_model(&stock(&sku, 2))).unwrap();
        // Refused: the caller's own error, nothing written.
        let err = w!(s.try_update_model::<Stock, _, OrderError>(&sku, |st| {
            if st.qty < 3 {
                return Err(OrderError::OutOfStock { left: st.qty });
            }
            st.qty -= 3;
            Ok(())
        }))
        .unwrap_err();
        assert!(matches!(err, OrderError::OutOfStock { left: 2 }), "{err}");
        assert_eq!(
            w!(s.get_model::<Stock>(&sku)).unwrap(),
            Some(stock(&sku, 2))
        );
        // Accepted: stored and returned.
        let done = w!(s.try_update_model::<Stock, _, OrderError>(&sku, |st| {
            st.qty -= 1;
            Ok(())
        }))
        .unwrap();
        assert_eq!(done, Some(stock(&sku, 1)));
        assert_eq!(
            w!(s.get_model::<Stock>(&sku)).unwrap(),
            Some(stock(&sku, 1))
        );
        // kvdb's own failures come back in the caller's error type.
        w!(s.set(&key_of::<Stock>(&sku).unwrap(), "not a stock")).unwrap();
        let err = w!(s.try_update_model::<Stock, _, OrderError>(&sku, |_| Ok(()))).unwrap_err();
        assert!(
            matches!(&err, OrderError::Store(e) if e.key().is_some()),
            "{err}"
        );
        // Missing: None, the change never runs.
        let missing = w!(
            s.try_update_model::<Stock, _, Error>(&format!("{p}-none"), |_| {
                panic!("no model, no change")
            })
        )
        .unwrap();
        assert_eq!(missing, None);
    }
);

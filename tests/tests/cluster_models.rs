//! Models and multi-key work on a Redis Cluster (a 3-primary cluster started for this test
//! binary): 1,000 models over all slots, `scan_models` and `scan` walking every primary, a
//! hash-tagged model family in one slot, transactions in one slot and refused across slots.
#![allow(clippy::unwrap_used)]

use futures_util::StreamExt;
use kvdb::{Error, ScanOptions, key_slot};

#[path = "support/test_cluster.rs"]
mod test_cluster;
use test_cluster::{Item, Line, session};

kvdb_tests::dual_test!(models_across_all_slots, with(session), |s, p| {
    let base = 10_000 + 10_000 * (p.rsplit('-').next().unwrap().parse::<u64>().unwrap() % 1000);
    let items: Vec<Item> = (0..1000)
        .map(|i| Item {
            id: base + i,
            name: format!("item {i}"),
        })
        .collect();
    w!(s.set_models(&items)).unwrap();
    // Reversed, with gaps: results come back in the caller's order.
    let mut ids: Vec<u64> = items.iter().map(|i| i.id).rev().collect();
    ids.insert(500, 1);
    let got = w!(s.get_models::<Item>(&ids)).unwrap();
    assert_eq!(got.len(), 1001);
    assert_eq!(got[500], None);
    let mut want: Vec<Option<Item>> = items.iter().cloned().rev().map(Some).collect();
    want.insert(500, None);
    assert_eq!(got, want);
    let slots: std::collections::HashSet<u16> = items
        .iter()
        .map(|i| key_slot(kvdb::model::model_key(i).unwrap()))
        .collect();
    assert!(slots.len() > 900, "1000 models over {} slots", slots.len());
    // update_model's WATCH/MULTI/EXEC is on one key: one slot.
    let up = w!(s.update_model::<Item, _>(&items[7].id, |i| i.name.push('!'))).unwrap();
    assert_eq!(up.unwrap().name, "item 7!");
});

#[test]
fn scan_and_scan_models_walk_every_primary() {
    let (s, p) = session("scan");
    let base = 50_000_000;
    let items: Vec<Item> = (0..300)
        .map(|i| Item {
            id: base + i,
            name: p.clone(),
        })
        .collect();
    s.set_models(&items).unwrap();
    let mut found: Vec<u64> = s
        .scan_models::<Item>()
        .unwrap()
        .map(Result::unwrap)
        .filter(|i| i.name == p)
        .map(|i| i.id)
        .collect();
    found.sort_unstable();
    found.dedup();
    assert_eq!(found, items.iter().map(|i| i.id).collect::<Vec<_>>());
    for i in 0..50 {
        s.set(&format!("{p}:scan:{i}"), &i).unwrap();
    }
    let mut keys: Vec<String> = s
        .scan(ScanOptions::new().pattern(format!("{p}:scan:*")).count(20))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 50);
}

#[tokio::test]
async fn async_scan_models_and_scan_stream() {
    let (s, p) = session("ascan");
    let s = s.aio();
    let base = 60_000_000;
    let items: Vec<Item> = (0..200)
        .map(|i| Item {
            id: base + i,
            name: p.clone(),
        })
        .collect();
    s.set_models(&items).await.unwrap();
    let mut found: Vec<u64> = s
        .scan_models::<Item>()
        .unwrap()
        .map(Result::unwrap)
        .filter(|i| std::future::ready(i.name == p))
        .map(|i| i.id)
        .collect()
        .await;
    found.sort_unstable();
    found.dedup();
    assert_eq!(found.len(), 200);
    for i in 0..30 {
        s.set(&format!("{p}:scan:{i}"), &i).await.unwrap();
    }
    let stream = s
        .scan(ScanOptions::new().pattern(format!("{p}:scan:*")))
        .unwrap();
    let mut keys: Vec<String> = stream.map(Result::unwrap).collect().await;
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 30);
}

#[test]
fn hash_tagged_model_family_stays_in_one_slot() {
    let (s, p) = session("tagged");
    let lines: Vec<Line> = (0..20)
        .map(|n| Line {
            order: p.clone(),
            n,
            sku: format!("sku-{n}"),
        })
        .collect();
    s.set_models(&lines).unwrap();
    let mut slots = std::collections::HashSet::new();
    for line in &lines {
        let key = kvdb::model::model_key(line).unwrap();
        let server_slot: i64 = s
            .query(kvdb::redis::cmd("CLUSTER").arg("KEYSLOT").arg(&key))
            .unwrap();
        assert_eq!(server_slot, i64::from(key_slot(&key)));
        slots.insert(server_slot);
    }
    assert_eq!(slots.len(), 1, "the whole order is in one slot");
    // So an atomic pipeline over the family runs.
    let mut tx = s.pipeline().atomic();
    for line in &lines[..3] {
        let _ = tx.delete(&[kvdb::model::model_key(line).unwrap().as_str()]);
    }
    s.execute(tx).unwrap();
    let keys: Vec<(String, u32)> = lines.iter().map(|l| (l.order.clone(), l.n)).collect();
    let got = s.get_models::<Line>(&keys).unwrap();
    assert!(got[..3].iter().all(Option::is_none));
    assert!(got[3..].iter().all(Option::is_some));
}

/// A transaction over one order's lines (one hash tag, one slot) commits on the cluster; over
/// keys in several slots it is refused before anything is sent.
#[test]
fn transactions_in_one_slot_commit_and_across_slots_are_refused() {
    let (s, p) = session("cl-tx");
    let lines = [
        Line {
            order: p.clone(),
            n: 1,
            sku: "a".into(),
        },
        Line {
            order: p.clone(),
            n: 2,
            sku: "b".into(),
        },
    ];
    s.set_models(&lines).unwrap();
    let keys: Vec<String> = lines
        .iter()
        .map(|l| kvdb::model::model_key(l).unwrap())
        .collect();
    let swapped = s
        .transaction(&[&keys[0], &keys[1]], |tx| {
            let mut one = tx.get_model::<Line>(&(p.as_str(), 1))?.unwrap();
            let mut two = tx.get_model::<Line>(&(p.as_str(), 2))?.unwrap();
            std::mem::swap(&mut one.sku, &mut two.sku);
            tx.set_model(&one).set_model(&two);
            Ok::<_, Error>(true)
        })
        .unwrap();
    assert!(swapped);
    assert_eq!(
        s.get_model::<Line>(&(p.as_str(), 1)).unwrap().unwrap().sku,
        "b"
    );
    assert_eq!(
        s.get_model::<Line>(&(p.as_str(), 2)).unwrap().unwrap().sku,
        "a"
    );

    let (a, b) = (format!("{p}:a"), format!("{p}:b"));
    assert_ne!(key_slot(&a), key_slot(&b), "the test needs two slots");
    let err = s
        .transaction(&[&a, &b], |tx| {
            tx.set(&a, &1);
            Ok::<_, Error>(())
        })
        .unwrap_err();
    assert!(matches!(err, Error::CrossSlot { .. }), "{err:?}");
    assert_eq!(s.get::<i32>(&a).unwrap(), None, "nothing was written");
}

#[tokio::test]
async fn async_transactions_across_slots_are_refused() {
    let (s, p) = session("cl-tx-aio");
    let s = s.aio();
    let (a, b) = (format!("{p}:a"), format!("{p}:b"));
    assert_ne!(key_slot(&a), key_slot(&b), "the test needs two slots");
    let err = s
        .transaction(&[&a, &b], |_tx| Box::pin(async move { Ok::<_, Error>(()) }))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CrossSlot { .. }), "{err:?}");
    // One slot: fine.
    let (c, d) = (format!("{{{p}}}:c"), format!("{{{p}}}:d"));
    let (c_ref, d_ref) = (&c, &d);
    s.transaction(&[&c, &d], |tx| {
        Box::pin(async move {
            let n: Option<i64> = tx.get(c_ref).await?;
            tx.set(c_ref, &(n.unwrap_or(0) + 1)).set(d_ref, &1);
            Ok::<_, Error>(())
        })
    })
    .await
    .unwrap();
    assert_eq!(s.get::<i64>(&c).await.unwrap(), Some(1));
}

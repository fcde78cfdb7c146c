//! A cluster primary killed under load: 3 primaries with one replica each (loopback, no
//! persistence). Tasks (async) then threads (sync) write and read models whose keys all live
//! on the primary about to die; the primary is killed; its replica is promoted once the other
//! primaries agree it failed. The test measures how long after the promotion operations
//! succeed again, and checks that every write acknowledged to the caller can be read back.
//! The numbers are printed (`--nocapture`) and recorded in docs/scaling.md.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kvdb::testing::TestCluster;
use kvdb::{KVDBClient, KvModel, Serializer, Session, SessionOptions, key_slot};
use kvdb_tests::unique;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "fo.Event", prefix = "fo:events")]
struct Event {
    #[kv(key)]
    id: u64,
    worker: u32,
}

/// How the load went around one killed primary.
#[derive(Default)]
struct Log {
    /// Ids whose `set_model` returned `Ok`, and when.
    acknowledged: Vec<(u64, Instant)>,
    /// When each operation ended, and whether it succeeded.
    ops: Vec<(Instant, bool)>,
}

impl Log {
    /// Notes a `set_model` (acknowledged at `acked`, or failed) and whether the `get_model`
    /// after it found the model.
    fn record(&mut self, id: u64, acked: Option<Instant>, read: bool) {
        if let Some(at) = acked {
            self.acknowledged.push((id, at));
        }
        self.ops.push((Instant::now(), acked.is_some() && read));
    }

    /// The first success after `since`, and the failures after `since` before it.
    fn first_success_after(&self, since: Instant) -> Option<(Instant, usize)> {
        let mut ops: Vec<&(Instant, bool)> = self.ops.iter().filter(|(t, _)| *t >= since).collect();
        ops.sort_by_key(|(t, _)| *t);
        let failures = ops.iter().take_while(|(_, ok)| !ok).count();
        ops.get(failures).map(|(t, _)| (*t, failures))
    }
}

/// Ids (from `from`) whose model keys are in the slots of the `shard`-th primary of a
/// 3-primary `TestCluster` (it splits the slots evenly, in order).
fn ids_on_shard(shard: u16, from: u64, count: usize) -> Vec<u64> {
    let per = kvdb::SLOT_COUNT / 3;
    let range = shard * per..if shard == 2 {
        kvdb::SLOT_COUNT
    } else {
        (shard + 1) * per
    };
    (from..)
        .filter(|id| {
            let key = kvdb::model::model_key(&Event { id: *id, worker: 0 }).unwrap();
            range.contains(&key_slot(&key))
        })
        .take(count)
        .collect()
}

/// Worker `worker`'s share of `ids` (one in eight).
fn share(ids: &[u64], worker: u32) -> Vec<u64> {
    ids.iter()
        .copied()
        .skip(worker as usize)
        .step_by(8)
        .collect()
}

/// Polls `port` until `ROLE` says master; returns when.
fn wait_promoted(port: u16, limit: Duration) -> Instant {
    let client = kvdb::redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let mut conn = client.get_connection().unwrap();
    let deadline = Instant::now() + limit;
    loop {
        let role: Vec<kvdb::redis::Value> = kvdb::redis::cmd("ROLE").query(&mut conn).unwrap();
        if matches!(&role[0], kvdb::redis::Value::BulkString(b) if b == b"master") {
            return Instant::now();
        }
        assert!(
            Instant::now() < deadline,
            "the replica on {port} was not promoted"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn session(cluster: &TestCluster) -> Session {
    KVDBClient::get_session(
        SessionOptions::new(unique("failover"))
            .url(cluster.url())
            .serializer(Serializer::Json)
            .connect_timeout(Duration::from_secs(1))
            .response_timeout(Duration::from_secs(5)),
    )
    .unwrap()
}

/// Kills primary `shard` while `load` runs, and reports and checks the recovery.
fn kill_and_measure(
    what: &str,
    cluster: &mut TestCluster,
    shard: usize,
    log: &Mutex<Log>,
    stop: &AtomicBool,
    mut read_back: impl FnMut(&[u64]) -> Vec<Option<Event>>,
) {
    // Let the load run a moment, then kill the primary.
    std::thread::sleep(Duration::from_millis(500));
    let replica = cluster.replica_ports()[shard];
    let killed = Instant::now();
    cluster.kill_primary(shard);
    // The process is gone (reaped) from here on; until then it may still answer.
    let dead = Instant::now();
    let promoted = wait_promoted(replica, Duration::from_secs(30));
    // Leave the load running until it has recovered for a while.
    let deadline = Instant::now() + Duration::from_secs(30);
    let recovered = loop {
        std::thread::sleep(Duration::from_millis(50));
        let log = log.lock().unwrap();
        if let Some((first, failures)) = log.first_success_after(promoted.max(killed))
            && first.elapsed() > Duration::from_millis(500)
        {
            break (first, failures);
        }
        assert!(
            Instant::now() < deadline,
            "{what}: no operation succeeded after the failover"
        );
    };
    stop.store(true, Ordering::Release);
    std::thread::sleep(Duration::from_millis(200));
    let (first, failures) = recovered;
    let log = log.lock().unwrap();
    let after_kill = log.ops.iter().filter(|(t, _)| *t >= killed).count();
    println!(
        "{what}: primary killed; replica promoted {:?} later; first success {:?} after the \
         promotion ({:?} after the kill), {failures} failed operations in between, \
         {after_kill} operations since the kill, {} writes acknowledged",
        promoted - killed,
        first.saturating_duration_since(promoted),
        first - killed,
        log.acknowledged.len(),
    );
    // The target is 2 s after the promotion; the bound asserted is looser, for a
    // loaded CI machine.
    assert!(
        first.saturating_duration_since(promoted) < Duration::from_secs(5),
        "{what}: operations recovered {:?} after the promotion",
        first.saturating_duration_since(promoted)
    );
    let acknowledged = log.acknowledged.clone();
    drop(log);
    let ids: Vec<u64> = acknowledged.iter().map(|(id, _)| *id).collect();
    let got = read_back(&ids);
    // Redis replicates asynchronously: a write the old primary acknowledged in the instant
    // before it died may not have reached the replica (Redis Cluster documents this). Such a
    // loss is allowed only for writes acknowledged from `WINDOW` before the kill until the
    // process was gone; every write acknowledged before that window, or after the process
    // was gone (by the new primary), must be there.
    const WINDOW: Duration = Duration::from_millis(50);
    let mut in_window = 0;
    let mut lost = Vec::new();
    for ((id, at), got) in acknowledged.iter().zip(&got) {
        if got.is_some() {
            continue;
        }
        if *at + WINDOW >= killed && *at <= dead {
            in_window += 1;
        } else if *at < killed {
            lost.push(format!(
                "{id} (acknowledged {:?} before the kill)",
                killed - *at
            ));
        } else {
            lost.push(format!(
                "{id} (acknowledged {:?} after the kill)",
                *at - killed
            ));
        }
    }
    println!(
        "{what}: {} acknowledged writes read back; {in_window} acknowledged between {WINDOW:?} \
         before the kill and the process's end ({:?} after the kill) were not replicated",
        acknowledged.len() - in_window - lost.len(),
        dead - killed,
    );
    assert!(
        lost.is_empty(),
        "{what}: acknowledged writes lost: {lost:?}"
    );
}

#[test]
fn a_killed_primary_is_replaced_quickly_and_no_acknowledged_write_is_lost() {
    let mut cluster = TestCluster::start(3, 1).unwrap();

    // Async: 8 tasks on one session's multiplexed cluster connection, keys on primary 0.
    let s = session(&cluster);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let ids = ids_on_shard(0, 0, 20_000);
    for worker in 0..8u32 {
        let (s, log, stop) = (s.aio(), log.clone(), stop.clone());
        let ids = share(&ids, worker);
        rt.spawn(async move {
            for id in ids {
                if stop.load(Ordering::Acquire) {
                    break;
                }
                let acked = s
                    .set_model(&Event { id, worker })
                    .await
                    .ok()
                    .map(|()| Instant::now());
                let read =
                    acked.is_some() && matches!(s.get_model::<Event>(&id).await, Ok(Some(_)));
                log.lock().unwrap().record(id, acked, read);
            }
        });
    }
    kill_and_measure("async", &mut cluster, 0, &log, &stop, |ids| {
        rt.block_on(s.aio().get_models::<Event>(ids)).unwrap()
    });
    drop(rt);

    // Sync: 8 threads sharing one session's pool, keys on primary 1.
    cluster.wait_ok(Duration::from_secs(30)).unwrap();
    let s = session(&cluster);
    let log = Arc::new(Mutex::new(Log::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let ids = ids_on_shard(1, 100_000, 20_000);
    let threads: Vec<_> = (0..8u32)
        .map(|worker| {
            let (s, log, stop) = (s.clone(), log.clone(), stop.clone());
            let ids = share(&ids, worker);
            std::thread::spawn(move || {
                for id in ids {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let acked = s
                        .set_model(&Event { id, worker })
                        .ok()
                        .map(|()| Instant::now());
                    let read = acked.is_some() && matches!(s.get_model::<Event>(&id), Ok(Some(_)));
                    log.lock().unwrap().record(id, acked, read);
                }
            })
        })
        .collect();
    kill_and_measure("sync", &mut cluster, 1, &log, &stop, |ids| {
        s.get_models::<Event>(ids).unwrap()
    });
    for t in threads {
        t.join().unwrap();
    }
}

//! Concurrency: `update_model` raced by threads and tokio tasks at once, and a bounded soak of
//! mixed typed operations whose final state is checked against a model of what it must be.
//!
//! The soak runs for `KVDB_SOAK_SECS` seconds (default 10, at most 600) or `KVDB_SOAK_MAX_OPS`
//! operations per worker (default 1 000 000), whichever comes first. Its duration bounds the
//! work; every assertion is about correctness.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kvdb::{AsyncSession, Compression, KvModel, Serializer, Session};
use kvdb_tests::{options, session, unique};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "soak.Counter", prefix = "soak:counters")]
struct Counter {
    #[kv(key)]
    name: String,
    hits: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "soak.Item", key = "soak:items:{run}:{owner}:{id}")]
struct Item {
    run: String,
    owner: u32,
    id: u32,
    data: String,
    n: u64,
}

/// A structured value for the plain string keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Rec {
    worker: u32,
    op: u64,
    text: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn update_model_from_threads_and_tasks_at_once_loses_nothing() {
    const THREADS: u64 = 4;
    const TASKS: u64 = 8;
    const EACH: u64 = 40;
    let (s, _) = session(options("mixed").serializer(Serializer::Json));
    let name = unique("mixed-hits");
    s.set_model(&Counter {
        name: name.clone(),
        hits: 0,
    })
    .unwrap();
    let rt = runtime();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (s, name) = (s.aio(), name.clone());
            rt.spawn(async move {
                for _ in 0..EACH {
                    s.update_model::<Counter, _>(&name, |c| c.hits += 1)
                        .await
                        .unwrap()
                        .unwrap();
                }
            })
        })
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..EACH {
                    s.update_model::<Counter, _>(&name, |c| c.hits += 1)
                        .unwrap()
                        .unwrap();
                }
            });
        }
    });
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let hits = s.get_model::<Counter>(&name).unwrap().unwrap().hits;
    println!("mixed update_model: {THREADS} threads + {TASKS} tasks x {EACH} = {hits}");
    assert_eq!(hits, (THREADS + TASKS) * EACH);
}

/// What the soak's workers share: the sessions, the run's key prefix, the counts.
struct Soak {
    sessions: [Session; 2],
    prefix: String,
    until: Instant,
    max_ops: u64,
    counts: [AtomicU64; OPS.len()],
}

const OPS: [&str; 9] = [
    "set",
    "get",
    "delete",
    "incr",
    "hset",
    "lpush",
    "set_model",
    "update_model(own)",
    "update_model(shared)",
];
/// String keys per worker.
const SLOTS: u64 = 16;
/// Models per worker.
const ITEMS: u32 = 8;

/// What one worker expects to find once everyone is done.
#[derive(Default)]
struct Expected {
    strings: BTreeMap<u64, Rec>,
    hash: HashMap<String, u64>,
    list: Vec<u64>,
    items: BTreeMap<u32, Item>,
    own_incr: i64,
    shared_incr: u64,
    shared_updates: u64,
}

/// A small deterministic generator (xorshift64*), seeded per worker.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// One operation of the plan; the same plan is run by threads (sync) and tasks (async).
enum Op {
    Set(u64, Rec),
    Get(u64),
    Delete(u64),
    Incr,
    Hset(String, u64),
    Lpush(u64),
    SetModel(Item),
    UpdateOwn(u32),
    UpdateShared,
}

impl Op {
    fn index(&self) -> usize {
        match self {
            Op::Set(..) => 0,
            Op::Get(_) => 1,
            Op::Delete(_) => 2,
            Op::Incr => 3,
            Op::Hset(..) => 4,
            Op::Lpush(_) => 5,
            Op::SetModel(_) => 6,
            Op::UpdateOwn(_) => 7,
            Op::UpdateShared => 8,
        }
    }
}

/// What an operation answered, to be checked against the worker's expected state.
enum Answer {
    None,
    Got(Option<Rec>),
    Deleted(bool),
    Counted(i64),
    Updated(Option<Item>),
}

struct Keys {
    prefix: String,
    worker: u32,
}

impl Keys {
    fn slot(&self, slot: u64) -> String {
        format!("{}:w{}:s{slot}", self.prefix, self.worker)
    }
    fn own_counter(&self) -> String {
        format!("{}:w{}:n", self.prefix, self.worker)
    }
    fn shared_counter(&self) -> String {
        format!("{}:shared:n", self.prefix)
    }
    fn hash(&self) -> String {
        format!("{}:w{}:h", self.prefix, self.worker)
    }
    fn list(&self) -> String {
        format!("{}:w{}:l", self.prefix, self.worker)
    }
    fn shared_model(&self) -> String {
        format!("{}:shared", self.prefix)
    }
    fn item(&self, id: u32) -> (String, u32, u32) {
        (self.prefix.clone(), self.worker, id)
    }
}

fn plan(rng: &mut Rng, keys: &Keys, i: u64) -> Op {
    let r = rng.next();
    let slot = (r >> 8) % SLOTS;
    match r % 16 {
        0..=3 => Op::Set(
            slot,
            Rec {
                worker: keys.worker,
                op: i,
                text: format!("value {i} of worker {}", keys.worker),
            },
        ),
        4..=6 => Op::Get(slot),
        7 => Op::Delete(slot),
        8 | 9 => Op::Incr,
        10 => Op::Hset(format!("f{}", slot % 5), i),
        11 => Op::Lpush(i),
        12 => Op::SetModel(Item {
            run: keys.prefix.clone(),
            owner: keys.worker,
            id: (slot as u32) % ITEMS,
            data: "x".repeat((r >> 20) as usize % 600),
            n: 0,
        }),
        13 => Op::UpdateOwn((slot as u32) % ITEMS),
        _ => Op::UpdateShared,
    }
}

/// Applies an acknowledged operation and its answer to the expected state; panics (with the
/// worker and op) if the answer contradicts it.
fn apply(exp: &mut Expected, op: Op, answer: Answer, who: &str) {
    match (op, answer) {
        (Op::Set(slot, rec), Answer::None) => {
            exp.strings.insert(slot, rec);
        }
        (Op::Get(slot), Answer::Got(got)) => {
            assert_eq!(
                got.as_ref(),
                exp.strings.get(&slot),
                "{who}: get slot {slot}"
            )
        }
        (Op::Delete(slot), Answer::Deleted(existed)) => assert_eq!(
            existed,
            exp.strings.remove(&slot).is_some(),
            "{who}: delete slot {slot}"
        ),
        (Op::Incr, Answer::Counted(n)) => {
            exp.own_incr += 2;
            exp.shared_incr += 1;
            assert_eq!(n, exp.own_incr, "{who}: own counter");
        }
        (Op::Hset(field, v), Answer::None) => {
            exp.hash.insert(field, v);
        }
        (Op::Lpush(v), Answer::Counted(len)) => {
            exp.list.insert(0, v);
            assert_eq!(len as usize, exp.list.len(), "{who}: list length");
        }
        (Op::SetModel(item), Answer::None) => {
            exp.items.insert(item.id, item);
        }
        (Op::UpdateOwn(id), Answer::Updated(got)) => {
            let want = exp.items.get_mut(&id).map(|it| {
                it.n += 1;
                it.clone()
            });
            assert_eq!(got, want, "{who}: update item {id}");
        }
        (Op::UpdateShared, Answer::None) => exp.shared_updates += 1,
        _ => panic!("{who}: an answer of the wrong kind"),
    }
}

fn run_sync(s: &Session, keys: &Keys, op: &Op) -> kvdb::Result<Answer> {
    Ok(match op {
        Op::Set(slot, rec) => s.set(&keys.slot(*slot), rec).map(|()| Answer::None)?,
        Op::Get(slot) => Answer::Got(s.get(&keys.slot(*slot))?),
        Op::Delete(slot) => Answer::Deleted(s.remove(&keys.slot(*slot))?),
        Op::Incr => {
            s.incr(&keys.shared_counter())?;
            Answer::Counted(s.incr_by(&keys.own_counter(), 2)?)
        }
        Op::Hset(f, v) => s.hset(&keys.hash(), f, v).map(|_| Answer::None)?,
        Op::Lpush(v) => Answer::Counted(s.lpush(&keys.list(), &[*v])? as i64),
        Op::SetModel(item) => s.set_model(item).map(|()| Answer::None)?,
        Op::UpdateOwn(id) => {
            Answer::Updated(s.update_model::<Item, _>(&keys.item(*id), |it| it.n += 1)?)
        }
        Op::UpdateShared => {
            let c = s.update_model::<Counter, _>(&keys.shared_model(), |c| c.hits += 1)?;
            assert!(c.is_some(), "the shared counter exists");
            Answer::None
        }
    })
}

async fn run_async(s: &AsyncSession, keys: &Keys, op: &Op) -> kvdb::Result<Answer> {
    Ok(match op {
        Op::Set(slot, rec) => s.set(&keys.slot(*slot), rec).await.map(|()| Answer::None)?,
        Op::Get(slot) => Answer::Got(s.get(&keys.slot(*slot)).await?),
        Op::Delete(slot) => Answer::Deleted(s.remove(&keys.slot(*slot)).await?),
        Op::Incr => {
            s.incr(&keys.shared_counter()).await?;
            Answer::Counted(s.incr_by(&keys.own_counter(), 2).await?)
        }
        Op::Hset(f, v) => s.hset(&keys.hash(), f, v).await.map(|_| Answer::None)?,
        Op::Lpush(v) => Answer::Counted(s.lpush(&keys.list(), &[*v]).await? as i64),
        Op::SetModel(item) => s.set_model(item).await.map(|()| Answer::None)?,
        Op::UpdateOwn(id) => Answer::Updated(
            s.update_model::<Item, _>(&keys.item(*id), |it| it.n += 1)
                .await?,
        ),
        Op::UpdateShared => {
            let c = s
                .update_model::<Counter, _>(&keys.shared_model(), |c| c.hits += 1)
                .await?;
            assert!(c.is_some(), "the shared counter exists");
            Answer::None
        }
    })
}

impl Soak {
    fn go_on(&self, i: u64) -> bool {
        i < self.max_ops && Instant::now() < self.until
    }
    fn keys(&self, worker: u32) -> Keys {
        Keys {
            prefix: self.prefix.clone(),
            worker,
        }
    }
}

fn sync_worker(soak: &Soak, worker: u32) -> Expected {
    let keys = soak.keys(worker);
    let (mut rng, mut exp) = (Rng(0x9e37_79b9 + u64::from(worker)), Expected::default());
    let mut i = 0;
    while soak.go_on(i) {
        let op = plan(&mut rng, &keys, i);
        let s = &soak.sessions[(i % 2) as usize];
        let answer = run_sync(s, &keys, &op)
            .unwrap_or_else(|e| panic!("thread {worker}, op {i} ({}): {e}", OPS[op.index()]));
        soak.counts[op.index()].fetch_add(1, Ordering::Relaxed);
        apply(&mut exp, op, answer, &format!("thread {worker}, op {i}"));
        i += 1;
    }
    exp
}

async fn async_worker(soak: Arc<Soak>, worker: u32) -> Expected {
    let keys = soak.keys(worker);
    let (mut rng, mut exp) = (Rng(0x9e37_79b9 + u64::from(worker)), Expected::default());
    let sessions = [soak.sessions[0].aio(), soak.sessions[1].aio()];
    let mut i = 0;
    while soak.go_on(i) {
        let op = plan(&mut rng, &keys, i);
        let answer = run_async(&sessions[(i % 2) as usize], &keys, &op)
            .await
            .unwrap_or_else(|e| panic!("task {worker}, op {i} ({}): {e}", OPS[op.index()]));
        soak.counts[op.index()].fetch_add(1, Ordering::Relaxed);
        apply(&mut exp, op, answer, &format!("task {worker}, op {i}"));
        i += 1;
    }
    exp
}

fn env_u64(name: &str, default: u64, max: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .min(max)
}

/// Checks one worker's keys against what it expects.
fn verify(s: &Session, keys: &Keys, exp: &Expected) {
    let who = format!("worker {}", keys.worker);
    for slot in 0..SLOTS {
        let got: Option<Rec> = s.get(&keys.slot(slot)).unwrap();
        assert_eq!(got.as_ref(), exp.strings.get(&slot), "{who}: slot {slot}");
    }
    let hash: HashMap<String, u64> = s.hgetall(&keys.hash()).unwrap();
    assert_eq!(hash, exp.hash, "{who}: hash");
    let list: Vec<u64> = s.lrange(&keys.list(), 0, -1).unwrap();
    assert_eq!(list, exp.list, "{who}: list");
    for id in 0..ITEMS {
        let got = s.get_model::<Item>(&keys.item(id)).unwrap();
        assert_eq!(got.as_ref(), exp.items.get(&id), "{who}: item {id}");
    }
    let own: Option<i64> = s.get(&keys.own_counter()).unwrap();
    assert_eq!(own.unwrap_or(0), exp.own_incr, "{who}: own counter");
}

#[test]
fn soak_of_mixed_operations_from_threads_and_tasks_matches_the_expected_state() {
    const THREADS: u32 = 4;
    const TASKS: u32 = 8;
    let secs = env_u64("KVDB_SOAK_SECS", 10, 600);
    let max_ops = env_u64("KVDB_SOAK_MAX_OPS", 1_000_000, u64::MAX);
    let json = session(options("soak-json").serializer(Serializer::Json)).0;
    let packed = session(
        options("soak-msgpack-zstd")
            .serializer(Serializer::MsgPack)
            .compression(Compression::Zstd)
            .compression_min_size(64)
            .pool_size(THREADS),
    )
    .0;
    let soak = Arc::new(Soak {
        sessions: [json, packed],
        prefix: unique("soak"),
        until: Instant::now() + Duration::from_secs(secs),
        max_ops,
        counts: Default::default(),
    });
    let shared = Keys {
        prefix: soak.prefix.clone(),
        worker: u32::MAX,
    };
    soak.sessions[0]
        .set_model(&Counter {
            name: shared.shared_model(),
            hits: 0,
        })
        .unwrap();
    let started = Instant::now();
    let rt = runtime();
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| rt.spawn(async_worker(soak.clone(), THREADS + t)))
        .collect();
    let mut expected: Vec<(u32, Expected)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|w| {
                let soak = &*soak;
                scope.spawn(move || (w, sync_worker(soak, w)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    rt.block_on(async {
        for (t, task) in tasks.into_iter().enumerate() {
            expected.push((THREADS + t as u32, task.await.unwrap()));
        }
    });
    let elapsed = started.elapsed();

    let s = &soak.sessions[0];
    for (worker, exp) in &expected {
        verify(s, &soak.keys(*worker), exp);
    }
    let shared_incr: u64 = expected.iter().map(|(_, e)| e.shared_incr).sum();
    let shared_updates: u64 = expected.iter().map(|(_, e)| e.shared_updates).sum();
    let counter: Option<u64> = s.get(&shared.shared_counter()).unwrap();
    let hits = s
        .get_model::<Counter>(&shared.shared_model())
        .unwrap()
        .unwrap()
        .hits;
    let counts: Vec<u64> = soak
        .counts
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    let total: u64 = counts.iter().sum();
    println!(
        "soak: {THREADS} threads + {TASKS} tasks, {:.1} s, {total} operations acknowledged, \
         0 errors, 0 lost",
        elapsed.as_secs_f64()
    );
    for (name, n) in OPS.iter().zip(&counts) {
        println!("soak:   {name:<22} {n}");
    }
    println!("soak:   shared INCR {shared_incr}, shared update_model {shared_updates}");
    assert_eq!(counter.unwrap_or(0), shared_incr, "shared INCR counter");
    assert_eq!(hits, shared_updates, "shared update_model counter");
    assert!(
        counts.iter().all(|&n| n > 0),
        "every kind of operation ran: {counts:?}"
    );
}

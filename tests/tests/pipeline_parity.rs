//! Every operation a pipeline has (the entries of the ops list marked `pipe`, as
//! `kvdb::testing::pipelined_ops` lists them) behaves in a pipeline exactly as on the session:
//! the same result (or the same error) and the same data left in Redis, sync and async.
//!
//! The list of cases below must name every pipelined operation: a new operation in the ops
//! list fails `every_pipelined_op_has_a_case` until it gets a case here.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use std::collections::BTreeSet;
use std::time::Duration;

use kvdb::redis;
use kvdb::{KvModel, SetOptions};
use kvdb_tests::{Item, item};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KvModel)]
#[kv(tag = "parity.Thing", prefix = "parity")]
struct Thing {
    #[kv(key)]
    id: String,
    n: u32,
}

/// The same data under a prefix: what each case starts from.
fn seed(s: &kvdb::Session, p: &str) {
    let k = |name: &str| format!("{p}:{name}");
    s.set(&k("str"), &item("a", 1)).unwrap();
    s.set(&k("n"), &5).unwrap();
    s.set(&k("f"), &1.5).unwrap();
    s.set_ex(&k("ttl"), "t", Duration::from_secs(100)).unwrap();
    s.rpush(&k("list"), &[item("a", 1), item("b", 2)]).unwrap();
    s.hset(&k("hash"), "f", &item("h", 3)).unwrap();
    s.hset(&k("hash"), "count", &3).unwrap();
    s.hset_struct(&k("point"), &Point { x: 1, y: 2 }).unwrap();
    s.sadd(&k("set"), &["a", "b"]).unwrap();
    s.zadd_multiple(&k("z"), &[("a", 1.0), ("b", 2.0)]).unwrap();
    s.set_model(&Thing { id: k("m"), n: 1 }).unwrap();
}

/// Everything stored under a prefix, as text with the prefix replaced by `P`.
fn snapshot(s: &kvdb::Session, p: &str) -> String {
    let mut keys: Vec<String> = s.keys(&format!("*{p}*")).unwrap();
    keys.sort();
    let mut out = String::new();
    for key in keys {
        let ty: String = s.query(redis::cmd("TYPE").arg(&key)).unwrap();
        let value: redis::Value = match ty.as_str() {
            "string" => s.query(redis::cmd("GET").arg(&key)).unwrap(),
            "list" => s
                .query(redis::cmd("LRANGE").arg(&key).arg(0).arg(-1))
                .unwrap(),
            "hash" => s.query(redis::cmd("HGETALL").arg(&key)).unwrap(),
            "set" => s.query(redis::cmd("SORT").arg(&key).arg("ALPHA")).unwrap(),
            "zset" => s
                .query(
                    redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES"),
                )
                .unwrap(),
            other => panic!("unexpected type {other} at {key}"),
        };
        let pttl: i64 = s.query(redis::cmd("PTTL").arg(&key)).unwrap();
        let value = format!("{value:?}");
        out.push_str(&format!("{key} {ty} expires={} {value}\n", pttl > 0));
    }
    out.replace(p, "P")
}

/// One case: the call written once, run on the session (`A`) and queued in a pipeline (`B`).
macro_rules! cases {
    ($($name:ident => |$x:ident, $k:ident| $call:expr $(, map $map:expr)? ;)*) => {
        const COVERED: &[&str] = &[$(stringify!($name)),*];

        fn run_sync(s: &kvdb::Session, p: &str) {
            $(
                let (pa, pb) = (format!("{p}-{}-A", stringify!($name)), format!("{p}-{}-B", stringify!($name)));
                seed(s, &pa);
                seed(s, &pb);
                let a = {
                    let $k = |name: &str| format!("{pa}:{name}");
                    let $x = s;
                    $call
                };
                let b = {
                    let $k = |name: &str| format!("{pb}:{name}");
                    let mut pipe = s.pipeline().keep_errors();
                    let handle = {
                        let $x = &mut pipe;
                        $call
                    };
                    s.execute(pipe).unwrap().take(handle)
                };
                compare(stringify!($name), "sync", &pa, &pb, a $(.map($map))?, b $(.map($map))?);
                let (sa, sb) = (snapshot(s, &pa), snapshot(s, &pb));
                assert!(sa.lines().count() >= 7, "{}: the snapshot sees the data: {sa}", stringify!($name));
                assert_eq!(sa, sb, "{}: data left (sync)", stringify!($name));
            )*
        }

        async fn run_async(s: &kvdb::AsyncSession, p: &str) {
            $(
                let (pa, pb) = (format!("{p}-{}-A", stringify!($name)), format!("{p}-{}-B", stringify!($name)));
                seed(&s.blocking(), &pa);
                seed(&s.blocking(), &pb);
                let a = {
                    let $k = |name: &str| format!("{pa}:{name}");
                    let $x = s;
                    $call.await
                };
                let b = {
                    let $k = |name: &str| format!("{pb}:{name}");
                    let mut pipe = s.pipeline().keep_errors();
                    let handle = {
                        let $x = &mut pipe;
                        $call
                    };
                    s.execute(pipe).await.unwrap().take(handle)
                };
                compare(stringify!($name), "async", &pa, &pb, a $(.map($map))?, b $(.map($map))?);
                let (sa, sb) = (snapshot(&s.blocking(), &pa), snapshot(&s.blocking(), &pb));
                assert!(sa.lines().count() >= 7, "{}: the snapshot sees the data: {sa}", stringify!($name));
                assert_eq!(sa, sb, "{}: data left (async)", stringify!($name));
            )*
        }
    };
}

/// The session's and the pipeline's results agree (values, or errors naming their own key).
fn compare<T: std::fmt::Debug>(
    name: &str,
    mode: &str,
    pa: &str,
    pb: &str,
    a: kvdb::Result<T>,
    b: kvdb::Result<T>,
) {
    let a = format!("{a:?}").replace(pa, "P");
    let b = format!("{b:?}").replace(pb, "P");
    assert_eq!(a, b, "{name} ({mode}): session result vs pipeline result");
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

cases! {
    get => |x, k| x.get::<Item>(&k("str"));
    set => |x, k| x.set(&k("new"), &item("n", 9));
    set_ex => |x, k| x.set_ex(&k("new"), &item("n", 9), Duration::from_secs(50));
    set_with => |x, k| x.set_with(&k("str"), &item("nx", 0), SetOptions::new().nx());
    set_get => |x, k| x.set_get(&k("str"), &item("b", 2), SetOptions::new());
    get_del => |x, k| x.get_del::<Item>(&k("str"));
    mget => |x, k| x.mget::<Item>(&[&k("str"), &k("missing")]);
    mset => |x, k| x.mset(&[(&k("m1"), 1), (&k("m2"), 2)]);
    incr => |x, k| x.incr(&k("n"));
    incr_by => |x, k| x.incr_by(&k("n"), 10);
    decr => |x, k| x.decr(&k("n"));
    decr_by => |x, k| x.decr_by(&k("n"), 10);
    incr_by_float => |x, k| x.incr_by_float(&k("f"), 0.25);
    delete => |x, k| x.delete(&[&k("str"), &k("n"), &k("missing")]);
    exists => |x, k| x.exists(&k("str"));
    contains_key => |x, k| x.contains_key(&k("missing"));
    remove => |x, k| x.remove(&k("list"));
    expire => |x, k| x.expire(&k("str"), Duration::from_secs(60));
    pexpire => |x, k| x.pexpire(&k("str"), Duration::from_millis(60_500));
    expire_at => |x, k| x.expire_at(&k("str"), std::time::SystemTime::now() + Duration::from_secs(3600));
    ttl => |x, k| x.ttl(&k("ttl")), map |t| t.remaining().is_some_and(|d| d <= Duration::from_secs(100));
    pttl => |x, k| x.pttl(&k("str"));
    persist => |x, k| x.persist(&k("ttl"));
    rename => |x, k| x.rename(&k("str"), &k("renamed"));
    key_type => |x, k| x.key_type(&k("z"));
    keys => |x, k| x.keys(&k("l*")), map sorted;
    hset => |x, k| x.hset(&k("hash"), "g", &item("g", 4));
    hset_multiple => |x, k| x.hset_multiple(&k("hash"), &[("a", 1), ("b", 2)]);
    hset_struct => |x, k| x.hset_struct(&k("point2"), &Point { x: 3, y: 4 });
    hget => |x, k| x.hget::<Item>(&k("hash"), "f");
    hmget => |x, k| x.hmget::<i64>(&k("hash"), &["count", "nope"]);
    hgetall => |x, k| x.hgetall::<serde_json::Value>(&k("hash")), map |m| m.into_iter().collect::<std::collections::BTreeMap<_, _>>();
    hgetall_struct => |x, k| x.hgetall_struct::<Point>(&k("point"));
    hdel => |x, k| x.hdel(&k("hash"), &["f", "nope"]);
    hexists => |x, k| x.hexists(&k("hash"), "count");
    hkeys => |x, k| x.hkeys(&k("hash")), map sorted;
    hlen => |x, k| x.hlen(&k("hash"));
    hincr_by => |x, k| x.hincr_by(&k("hash"), "count", 4);
    lpush => |x, k| x.lpush(&k("list"), &[item("c", 3)]);
    rpush => |x, k| x.rpush(&k("list"), &[item("d", 4), item("e", 5)]);
    lpop => |x, k| x.lpop::<Item>(&k("list"));
    rpop => |x, k| x.rpop::<Item>(&k("list"));
    lrange => |x, k| x.lrange::<Item>(&k("list"), 0, -1);
    llen => |x, k| x.llen(&k("list"));
    sadd => |x, k| x.sadd(&k("set"), &["c", "a"]);
    srem => |x, k| x.srem(&k("set"), &["a", "z"]);
    smembers => |x, k| x.smembers::<String>(&k("set")), map sorted;
    sismember => |x, k| x.sismember(&k("set"), "b");
    scard => |x, k| x.scard(&k("set"));
    zadd => |x, k| x.zadd(&k("z"), "c", 0.5);
    zadd_multiple => |x, k| x.zadd_multiple(&k("z"), &[("d", 3.0), ("a", 9.0)]);
    zrem => |x, k| x.zrem(&k("z"), &["a"]);
    zscore => |x, k| x.zscore(&k("z"), "b");
    zrange => |x, k| x.zrange::<String>(&k("z"), 0, -1);
    zrange_with_scores => |x, k| x.zrange_with_scores::<String>(&k("z"), 0, -1);
    zrangebyscore => |x, k| x.zrangebyscore::<String>(&k("z"), 1.5, f64::INFINITY);
    zcard => |x, k| x.zcard(&k("z"));
    zincr_by => |x, k| x.zincr_by(&k("z"), "a", 2.5);
    publish => |x, k| x.publish(&k("channel"), &item("msg", 1));
    query => |x, k| x.query::<String>(redis::cmd("TYPE").arg(k("list")));
    ping => |x, _k| x.ping();
    info => |x, _k| x.info(Some("server")), map |i| i.contains("redis_version");
    dbsize => |x, _k| x.dbsize(), map |n| n > 0;
    set_model => |x, k| x.set_model(&Thing { id: k("m2"), n: 2 });
    set_model_ex => |x, k| x.set_model_ex(&Thing { id: k("m"), n: 3 }, Duration::from_secs(30));
    get_model => |x, k| x.get_model::<Thing>(&k("m"));
    delete_model => |x, k| x.delete_model::<Thing>(&k("m"));
    exists_model => |x, k| x.exists_model::<Thing>(&k("missing"));
    get_any => |x, k| x.get_any(&kvdb::model::key_of::<Thing>(&k("m")).unwrap()), map |m| m.and_then(|m| m.downcast::<Thing>().ok());
    // Errors agree too: a command on a key of the wrong type fails alike, naming the key.
    hlen_wrong_type => |x, k| x.hlen(&k("str"));
}

/// The cases that stand for another operation (an error path of it), not listed by the ops.
const EXTRA: &[&str] = &["hlen_wrong_type"];

/// `flushdb` cannot be compared in place (it empties the whole database, other cases'
/// data included): it runs last, once each way, and must leave the database empty.
const LAST: &str = "flushdb";

#[test]
fn every_pipelined_op_has_a_case() {
    let listed: BTreeSet<&str> = kvdb::testing::pipelined_ops()
        .iter()
        .map(|op| op.name)
        .collect();
    assert!(
        listed.len() > 60,
        "the ops list names {} pipelined ops",
        listed.len()
    );
    let covered: BTreeSet<&str> = COVERED.iter().copied().chain([LAST]).collect();
    let missing: Vec<&&str> = listed.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "pipelined ops without a parity case: {missing:?}"
    );
    let unknown: Vec<&&str> = covered
        .difference(&listed)
        .filter(|name| !EXTRA.contains(name))
        .collect();
    assert!(
        unknown.is_empty(),
        "parity cases for ops that are not pipelined: {unknown:?}"
    );
}

/// One test for both ways, so that nothing else in this binary runs meanwhile (`flushdb`).
#[test]
fn every_pipelined_op_matches_the_session() {
    let (session, p) =
        kvdb_tests::session(kvdb_tests::options("parity").serializer(kvdb::Serializer::Json));
    run_sync(&session, &p);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run_async(&session.aio(), &p));

    // flushdb: both ways empty the database.
    session.set(&format!("{p}:x"), &1).unwrap();
    session.flushdb().unwrap();
    assert_eq!(session.dbsize().unwrap(), 0);
    session.set(&format!("{p}:x"), &1).unwrap();
    let mut pipe = session.pipeline();
    let h = pipe.flushdb();
    session.execute(pipe).unwrap().take(h).unwrap();
    assert_eq!(session.dbsize().unwrap(), 0);
    rt.block_on(async {
        let aio = session.aio();
        aio.set(&format!("{p}:x"), &1).await.unwrap();
        let mut pipe = aio.pipeline();
        let h = pipe.flushdb();
        aio.execute(pipe).await.unwrap().take(h).unwrap();
        assert_eq!(aio.dbsize().await.unwrap(), 0);
    });
}

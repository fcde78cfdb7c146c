//! Redis Cluster sessions while the cluster changes, each test on a cluster of its own: a
//! manual failover, and a slot moved to another node under kvdb's per-node batches.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use kvdb::testing::TestCluster;
use kvdb::{KVDBClient, Serializer, SessionOptions, key_slot};
use kvdb_tests::unique;

#[path = "support/test_cluster.rs"]
mod test_cluster;
use test_cluster::Item;

/// A manual failover (`CLUSTER FAILOVER` on a replica): the same sessions keep working.
#[test]
fn sessions_follow_a_failover() {
    let cluster = TestCluster::start(3, 1).unwrap();
    let session = KVDBClient::get_session(
        SessionOptions::new(unique("failover"))
            .url(cluster.url())
            .serializer(Serializer::Json)
            // A request caught on the demoted node may wait for its reply until this runs out.
            .response_timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let items: Vec<Item> = (0..200)
        .map(|i| Item {
            id: i,
            name: "before".into(),
        })
        .collect();
    session.set_models(&items).unwrap();
    rt.block_on(session.aio().set("k", &1)).unwrap();
    // Promote the replica of the first primary.
    let replica = cluster.replica_ports()[0];
    let client = kvdb::redis::Client::open(format!("redis://127.0.0.1:{replica}/")).unwrap();
    let mut conn = client.get_connection().unwrap();
    kvdb::redis::cmd("CLUSTER")
        .arg("FAILOVER")
        .exec(&mut conn)
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let role: Vec<kvdb::redis::Value> = kvdb::redis::cmd("ROLE").query(&mut conn).unwrap();
        if matches!(&role[0], kvdb::redis::Value::BulkString(b) if b == b"master") {
            break;
        }
        assert!(Instant::now() < deadline, "the replica was not promoted");
        std::thread::sleep(Duration::from_millis(10));
    }
    let promoted = Instant::now();
    // The async connection first: how soon after the promotion does it write again?
    let deadline = promoted + Duration::from_secs(15);
    loop {
        match rt.block_on(session.aio().set("k", &2)) {
            Ok(()) => break,
            Err(e) if Instant::now() < deadline => {
                eprintln!("async set after the manual failover: {e}");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("async set after the manual failover: {e}"),
        }
    }
    println!(
        "manual failover: async writes again {:?} after the promotion",
        promoted.elapsed()
    );
    cluster.wait_ok(Duration::from_secs(20)).unwrap();
    // The same session, sync and async: a failed first try is allowed while the cluster
    // settles (a redirection the client follows), but it must recover quickly.
    let ids: Vec<u64> = (0..200).collect();
    let retry = |what: &str, mut f: Box<dyn FnMut() -> kvdb::Result<()> + '_>| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match f() {
                Ok(()) => return,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("{what} after failover: {e}");
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("{what} after failover: {e}"),
            }
        }
    };
    retry(
        "get_models",
        Box::new(|| {
            let got = session.get_models::<Item>(&ids)?;
            assert!(got.iter().all(Option::is_some));
            Ok(())
        }),
    );
    retry(
        "set_models",
        Box::new(|| {
            let after: Vec<Item> = (0..200)
                .map(|i| Item {
                    id: i,
                    name: "after".into(),
                })
                .collect();
            session.set_models(&after)
        }),
    );
    retry(
        "async",
        Box::new(|| {
            rt.block_on(async {
                session.aio().incr("k").await?;
                let got = session.aio().get_models::<Item>(&ids).await?;
                assert!(got.iter().all(|i| i.as_ref().unwrap().name == "after"));
                Ok(())
            })
        }),
    );
}

/// Batches go one pipeline per node by a slot table kvdb keeps; after a slot moves to another
/// node, the old node answers `MOVED` and the command is sent again where it now lives: the
/// results stay right, sync and async, and the next batch uses a fresh table.
#[test]
fn batches_follow_a_slot_moved_to_another_node() {
    let cluster = TestCluster::start(3, 0).unwrap();
    let session = KVDBClient::get_session(
        SessionOptions::new(unique("moved"))
            .url(cluster.url())
            .serializer(Serializer::Json),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let items: Vec<Item> = (0..300)
        .map(|i| Item {
            id: i,
            name: format!("item {i}"),
        })
        .collect();
    let ids: Vec<u64> = items.iter().map(|i| i.id).collect();
    let want: Vec<Option<Item>> = items.iter().cloned().map(Some).collect();
    session.set_models(&items).unwrap();
    // The async side reads its slot table now.
    assert_eq!(
        rt.block_on(session.aio().get_models::<Item>(&ids)).unwrap(),
        want
    );

    let conn = |port: u16| {
        kvdb::redis::Client::open(format!("redis://127.0.0.1:{port}/"))
            .unwrap()
            .get_connection()
            .unwrap()
    };
    let cmd = |c: &mut kvdb::redis::Connection, args: &[&str]| -> kvdb::redis::Value {
        let mut cmd = kvdb::redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(c).unwrap()
    };
    let slot = key_slot(kvdb::model::model_key(&items[0]).unwrap());
    let ports = cluster.primary_ports();
    let owner = *ports
        .iter()
        .find(|&&p| {
            let n: i64 = kvdb::redis::cmd("CLUSTER")
                .arg("COUNTKEYSINSLOT")
                .arg(slot)
                .query(&mut conn(p))
                .unwrap();
            n > 0
        })
        .unwrap();
    let target = *ports.iter().find(|&&p| p != owner).unwrap();
    let id_of = |p: u16| -> String {
        kvdb::redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut conn(p))
            .unwrap()
    };
    let (from_id, to_id, s) = (id_of(owner), id_of(target), slot.to_string());
    cmd(
        &mut conn(target),
        &["CLUSTER", "SETSLOT", &s, "IMPORTING", &from_id],
    );
    cmd(
        &mut conn(owner),
        &["CLUSTER", "SETSLOT", &s, "MIGRATING", &to_id],
    );
    let keys: Vec<String> = kvdb::redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(1000)
        .query(&mut conn(owner))
        .unwrap();
    assert!(!keys.is_empty());
    let mut migrate = kvdb::redis::cmd("MIGRATE");
    migrate
        .arg("127.0.0.1")
        .arg(target)
        .arg("")
        .arg(0)
        .arg(5000)
        .arg("KEYS")
        .arg(&keys);
    let _: kvdb::redis::Value = migrate.query(&mut conn(owner)).unwrap();
    // The new owner first, then the old one, then the rest (as `redis-cli --cluster` does);
    // then wait until every node redirects the key to the new owner.
    let mut order = vec![target, owner];
    order.extend(ports.iter().filter(|&&p| p != target && p != owner));
    for &p in &order {
        cmd(&mut conn(p), &["CLUSTER", "SETSLOT", &s, "NODE", &to_id]);
    }
    let moved = format!("{slot} 127.0.0.1:{target}");
    let settled = || {
        order[1..].iter().all(|&p| {
            let r: Result<kvdb::redis::Value, _> =
                kvdb::redis::cmd("GET").arg(&keys[0]).query(&mut conn(p));
            matches!(r, Err(e) if e.to_string().contains(&moved))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !settled() {
        assert!(Instant::now() < deadline, "the slot move did not settle");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The async side's table still sends the slot to the old owner, which redirects it.
    assert_eq!(
        rt.block_on(session.aio().get_models::<Item>(&ids)).unwrap(),
        want
    );
    assert_eq!(
        rt.block_on(session.aio().get_models::<Item>(&ids)).unwrap(),
        want
    );
    assert_eq!(session.get_models::<Item>(&ids).unwrap(), want);
}

//! Faults: each test starts its own redis-server and breaks it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kvdb::testing::TestServer;
use kvdb::{Error, KVDBClient, Serializer, Session, SessionOptions};
use kvdb_tests::unique;

/// Persistence on, so that a killed server comes back with what it acknowledged.
const DURABLE: [&str; 4] = ["--appendonly", "yes", "--appendfsync", "always"];

fn session(server: &TestServer, f: impl FnOnce(SessionOptions) -> SessionOptions) -> Session {
    let o = SessionOptions::new(unique("fault"))
        .url(server.url())
        .serializer(Serializer::Json)
        .connect_timeout(Duration::from_millis(300))
        .response_timeout(Duration::from_secs(1))
        .pool_timeout(Duration::from_secs(1));
    KVDBClient::get_session(f(o)).expect("valid options")
}

/// A plain connection to `server`, for commands the test itself sends.
fn admin(server: &TestServer) -> redis::Connection {
    kvdb_tests::admin(&server.url())
}

/// Makes the server hold every client's commands for `ms` milliseconds (a slow server).
fn pause(admin: &mut redis::Connection, ms: u64) {
    redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("ALL")
        .exec(admin)
        .expect("CLIENT PAUSE");
}

#[derive(Default)]
struct Tally {
    attempted: AtomicU64,
    acknowledged: AtomicU64,
    failed: AtomicU64,
}

#[test]
fn a_server_restart_loses_no_acknowledged_write_and_sessions_recover() {
    let mut server = TestServer::start_with_args(&DURABLE).unwrap();
    let s = session(&server, |o| o);
    let tally = Arc::new(Tally::default());
    let acked = Arc::new(std::sync::Mutex::new(Vec::<u64>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    // Two writers, sync and async, each writing its own keys in order until told to stop.
    let sync_writer = {
        let (s, tally, acked, stop) = (s.clone(), tally.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                tally.attempted.fetch_add(1, Ordering::Relaxed);
                let started = Instant::now();
                match s.set(&format!("sync:{i}"), &i) {
                    Ok(()) => {
                        tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                        acked.lock().unwrap().push(i);
                    }
                    Err(e) => {
                        assert!(
                            e.is_connection_error(),
                            "a failed write must be a connection error: {e}"
                        );
                        assert!(
                            started.elapsed() < Duration::from_secs(5),
                            "no hang past the timeouts"
                        );
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
                i += 1;
            }
        })
    };
    let async_writer = {
        let (s, tally, acked, stop) = (s.clone(), tally.clone(), acked.clone(), stop.clone());
        rt.spawn(async move {
            let mut i = 1_000_000u64;
            while !stop.load(Ordering::Relaxed) {
                tally.attempted.fetch_add(1, Ordering::Relaxed);
                match tokio::time::timeout(
                    Duration::from_secs(5),
                    s.aio().set(&format!("async:{i}"), &i),
                )
                .await
                {
                    Ok(Ok(())) => {
                        tally.acknowledged.fetch_add(1, Ordering::Relaxed);
                        acked.lock().unwrap().push(i);
                    }
                    Ok(Err(e)) => {
                        assert!(
                            e.is_connection_error(),
                            "a failed async write must be a connection error: {e}"
                        );
                        tally.failed.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => panic!("an async write hung for 5 s"),
                }
                i += 1;
            }
        })
    };

    std::thread::sleep(Duration::from_millis(300));
    let before = tally.acknowledged.load(Ordering::Relaxed);
    server.kill();
    std::thread::sleep(Duration::from_millis(500));
    let failed_during_outage = tally.failed.load(Ordering::Relaxed);
    server.restart(&DURABLE).unwrap();
    // Recovery: both writers make progress again without recreating the session.
    let deadline = Instant::now() + Duration::from_secs(10);
    let resumed = tally.acknowledged.load(Ordering::Relaxed);
    while tally.acknowledged.load(Ordering::Relaxed) < resumed + 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Relaxed);
    sync_writer.join().unwrap();
    rt.block_on(async_writer).unwrap();

    let acked = acked.lock().unwrap().clone();
    let mut lost = 0;
    for i in &acked {
        let key = if *i >= 1_000_000 {
            format!("async:{i}")
        } else {
            format!("sync:{i}")
        };
        if s.get::<u64>(&key).unwrap() != Some(*i) {
            lost += 1;
        }
    }
    let attempted = tally.attempted.load(Ordering::Relaxed);
    let failed = tally.failed.load(Ordering::Relaxed);
    println!(
        "restart: attempted {attempted}, acknowledged {}, failed {failed}, lost {lost} \
         (acknowledged before the kill: {before})",
        acked.len()
    );
    assert!(before > 0, "writes went through before the kill");
    assert!(
        failed_during_outage > 0,
        "writes during the outage failed rather than hung"
    );
    assert!(
        acked.len() as u64 > before + 200,
        "writes resumed after the restart"
    );
    assert_eq!(lost, 0, "no acknowledged write is lost");
}

#[test]
fn an_unreachable_server_fails_fast_naming_host_and_port() {
    let port = kvdb::testing::free_port().unwrap();
    let s = KVDBClient::get_session(
        SessionOptions::new(unique("unreachable"))
            .url(format!("redis://admin:hunter2@127.0.0.1:{port}/0"))
            .connect_timeout(Duration::from_millis(300))
            .pool_timeout(Duration::from_millis(600)),
    )
    .expect("get_session is lazy and succeeds");
    let started = Instant::now();
    let err = s.get::<String>("k").unwrap_err();
    let sync_took = started.elapsed();
    let msg = err.to_string();
    assert!(err.is_connection_error(), "{msg}");
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(
        !msg.contains("hunter2") && !format!("{err:?}").contains("hunter2"),
        "{msg}"
    );
    // Not a speed target: a check that it gives up instead of retrying for ever
    // (docs/reliability.md: a refused port is retried until the pool timeout, 600 ms here).
    assert!(sync_took < Duration::from_secs(5), "{sync_took:?}");
    println!("unreachable: sync gave up after {sync_took:?} (pool timeout 600 ms)");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let err = rt
        .block_on(async { s.aio().get::<String>("k").await })
        .unwrap_err();
    let async_took = started.elapsed();
    assert!(err.is_connection_error(), "{err}");
    assert!(!err.to_string().contains("hunter2"));
    assert!(async_took < Duration::from_secs(5), "{async_took:?}");
    println!("unreachable: async gave up after {async_took:?}");
}

#[test]
fn a_slow_server_times_out_and_the_pool_is_fine_afterwards() {
    let server = TestServer::start().unwrap();
    let s = session(&server, |o| {
        o.response_timeout(Duration::from_millis(300)).pool_size(2)
    });
    s.set("k", &1).unwrap();
    let mut admin = admin(&server);
    pause(&mut admin, 1500);
    let err = s.get::<i32>("k").unwrap_err();
    assert!(err.is_timeout(), "expected a timeout: {err}");
    std::thread::sleep(Duration::from_millis(1600));
    // Every pooled connection gives right answers afterwards: none answers a stale reply.
    for i in 0..20 {
        s.set("k", &i).unwrap();
        assert_eq!(s.get::<i32>("k").unwrap(), Some(i));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        s.aio().set("k", &5).await.unwrap();
        pause(&mut admin, 1500);
        let err = s.aio().get::<i32>("k").await.unwrap_err();
        assert!(err.is_timeout(), "expected an async timeout: {err}");
        tokio::time::sleep(Duration::from_millis(1600)).await;
        for i in 0..20 {
            s.aio().set("k", &i).await.unwrap();
            assert_eq!(s.aio().get::<i32>("k").await.unwrap(), Some(i));
        }
    });
}

#[test]
fn a_connection_that_timed_out_is_replaced_not_reused() {
    let server = TestServer::start().unwrap();
    let s = session(&server, |o| {
        o.response_timeout(Duration::from_millis(300)).pool_size(1)
    });
    let id = |s: &Session| s.query::<i64>(redis::cmd("CLIENT").arg("ID")).unwrap();
    let first = id(&s);
    assert_eq!(id(&s), first, "one pooled connection, reused");
    let mut admin = admin(&server);
    pause(&mut admin, 800);
    assert!(s.get::<i32>("k").unwrap_err().is_timeout());
    std::thread::sleep(Duration::from_millis(900));
    // Its late reply may still be on the wire: the connection is dropped, a new one serves.
    assert_ne!(id(&s), first);
}

#[test]
fn pool_exhaustion_waits_then_fails_clearly_without_deadlock() {
    let server = TestServer::start().unwrap();
    let s = session(&server, |o| {
        o.pool_size(2)
            .pool_timeout(Duration::from_millis(300))
            .response_timeout(Duration::from_secs(5))
    });
    s.set("k", &1).unwrap();
    let mut admin = admin(&server);
    // Pause the server so that the two pooled connections stay busy.
    pause(&mut admin, 1000);
    let results: Vec<Result<Option<i32>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..6).map(|_| scope.spawn(|| s.get::<i32>("k"))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|r| matches!(r, Ok(Some(1)))).count();
    let exhausted: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(
        ok, 2,
        "the two pooled connections answer after the pause: {results:?}"
    );
    assert_eq!(exhausted.len(), 4, "{results:?}");
    for e in exhausted {
        assert!(matches!(e, Error::Pool { .. }), "{e:?}");
        assert!(
            e.to_string().contains("busy") || e.to_string().contains("timed out"),
            "{e}"
        );
    }
    // Afterwards the pool serves everyone again; nothing was reset.
    for i in 0..10 {
        s.set("k", &i).unwrap();
        assert_eq!(s.get::<i32>("k").unwrap(), Some(i));
    }
}

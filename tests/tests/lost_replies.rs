//! Replies lost after their command ran: a proxy in front of the server drops a reply and
//! closes the connection, so the client never hears of it. Reads, idempotent writes,
//! read-only scripts, map reads and `SCAN` pages are sent again; `INCR`, `LPUSH` and a script
//! that may write are not. Each test starts its own redis-server, and checks sync and async
//! sessions alike. See `docs/reliability.md` for the table these tests back.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kvdb::testing::TestServer;
use kvdb::{KVDBClient, Serializer, Session};
use kvdb_tests::options_on;

fn session_on(url: &str) -> Session {
    KVDBClient::get_session(options_on(url, "lost-reply").serializer(Serializer::Json))
        .expect("valid options")
}

fn rt() -> tokio::runtime::Runtime {
    kvdb_tests::rt_threads(2)
}

/// A TCP proxy in front of a server that, once armed, drops the next reply it gets from the
/// server and closes the client's connection instead: the command ran, the client never
/// hears of it.
struct ReplyDropper {
    port: u16,
    armed: Arc<AtomicBool>,
}

impl ReplyDropper {
    fn start(upstream: u16) -> ReplyDropper {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(AtomicBool::new(false));
        let flag = armed.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let (mut c_in, mut s_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c_in, &mut s_out);
                    let _ = s_out.shutdown(Shutdown::Write);
                });
                let flag = flag.clone();
                let (mut s_in, mut c_out) = (server, client);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16 * 1024];
                    loop {
                        match s_in.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if flag.swap(false, Ordering::AcqRel) {
                                    break;
                                }
                                if c_out.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = c_out.shutdown(Shutdown::Both);
                    let _ = s_in.shutdown(Shutdown::Both);
                });
            }
        });
        ReplyDropper { port, armed }
    }

    fn arm(&self) {
        self.armed.store(true, Ordering::Release);
    }
}

#[test]
fn incr_and_lpush_whose_reply_was_lost_are_not_sent_again() {
    let server = TestServer::start().unwrap();
    let proxy = ReplyDropper::start(server.port());
    let s = session_on(&format!("redis://127.0.0.1:{}/0", proxy.port));
    let a = s.aio();
    let rt = rt();
    let mut admin = kvdb_tests::admin(&server.url());
    let count = |admin: &mut redis::Connection, cmd: &str, key: &str| -> i64 {
        redis::cmd(cmd).arg(key).query(admin).unwrap()
    };
    // Connections open and idle first, so that the armed proxy drops the command's reply.
    s.ping().unwrap();
    rt.block_on(a.ping()).unwrap();

    proxy.arm();
    let e = s.incr("counter").unwrap_err();
    assert!(
        e.is_connection_error(),
        "sync INCR reports the lost reply: {e}"
    );
    assert_eq!(count(&mut admin, "GET", "counter"), 1, "sync INCR ran once");
    s.ping().unwrap();
    proxy.arm();
    let e = s.lpush("list", &["x"]).unwrap_err();
    assert!(
        e.is_connection_error(),
        "sync LPUSH reports the lost reply: {e}"
    );
    assert_eq!(count(&mut admin, "LLEN", "list"), 1, "sync LPUSH ran once");

    rt.block_on(a.ping()).unwrap();
    proxy.arm();
    let e = rt.block_on(a.incr("counter")).unwrap_err();
    assert!(
        e.is_connection_error(),
        "async INCR reports the lost reply: {e}"
    );
    assert_eq!(
        count(&mut admin, "GET", "counter"),
        2,
        "async INCR ran once"
    );
    rt.block_on(a.ping()).unwrap();
    proxy.arm();
    let e = rt.block_on(a.lpush("list", &["x"])).unwrap_err();
    assert!(
        e.is_connection_error(),
        "async LPUSH reports the lost reply: {e}"
    );
    assert_eq!(count(&mut admin, "LLEN", "list"), 2, "async LPUSH ran once");

    // The same loss on a read or an idempotent write is invisible: it is sent again.
    s.ping().unwrap();
    proxy.arm();
    s.set("k", "v").unwrap();
    proxy.arm();
    assert_eq!(s.get::<String>("k").unwrap().as_deref(), Some("v"));
    rt.block_on(a.ping()).unwrap();
    proxy.arm();
    assert_eq!(
        rt.block_on(a.get::<String>("k")).unwrap().as_deref(),
        Some("v")
    );
}

/// Reads that are more than one plain command are resent too when their reply is lost: a
/// script declared read-only (a conversation: `EVALSHA`, then `EVAL`), a map read and a page of
/// `SCAN`. A script that may write is not.
#[test]
fn read_only_scripts_map_reads_and_scan_pages_whose_reply_was_lost_are_sent_again() {
    use futures_util::StreamExt;
    let server = TestServer::start().unwrap();
    let proxy = ReplyDropper::start(server.port());
    let s = session_on(&format!("redis://127.0.0.1:{}/0", proxy.port));
    let a = s.aio();
    let rt = rt();
    let mut admin = kvdb_tests::admin(&server.url());
    s.set("k", "v").unwrap();
    rt.block_on(a.ping()).unwrap();
    let read = kvdb::Script::new("return redis.call('GET', KEYS[1])").read_only();
    let write = kvdb::Script::new("return redis.call('INCR', KEYS[1])");

    proxy.arm();
    let got: String = s.eval_script(read.call().key("k")).unwrap();
    assert_eq!(got, "v", "sync read-only script, sent again");
    proxy.arm();
    let got: String = rt.block_on(a.eval_script(read.call().key("k"))).unwrap();
    assert_eq!(got, "v", "async read-only script, sent again");

    let _: i64 = s.eval_script(write.call().key("n")).unwrap(); // cached on the server now
    s.ping().unwrap();
    proxy.arm();
    let e = s.eval_script::<i64>(write.call().key("n")).unwrap_err();
    assert!(e.is_connection_error(), "sync writing script: {e}");
    let n: i64 = redis::cmd("GET").arg("n").query(&mut admin).unwrap();
    assert_eq!(n, 2, "the writing script ran once");
    rt.block_on(a.ping()).unwrap();
    proxy.arm();
    let e = rt
        .block_on(a.eval_script::<i64>(write.call().key("n")))
        .unwrap_err();
    assert!(e.is_connection_error(), "async writing script: {e}");
    let n: i64 = redis::cmd("GET").arg("n").query(&mut admin).unwrap();
    assert_eq!(n, 3, "the async writing script ran once");

    let map = s.map::<String, String>("m");
    map.insert(&"f".to_owned(), &"x".to_owned()).unwrap(); // the TTL mode is known now
    proxy.arm();
    assert_eq!(map.get(&"f".to_owned()).unwrap().as_deref(), Some("x"));
    proxy.arm();
    // HSET ran, its reply was lost, it was sent again (and then found the field there).
    map.insert(&"g".to_owned(), &"y".to_owned())
        .expect("HSET, sent again");
    assert_eq!(map.get(&"g".to_owned()).unwrap().as_deref(), Some("y"));
    assert_eq!(map.len().unwrap(), 2);

    for i in 0..20 {
        s.set(&format!("scan:{i}"), &i).unwrap();
    }
    let opts = || kvdb::ScanOptions::new().pattern("scan:*");
    proxy.arm();
    let mut keys = s
        .scan(opts())
        .unwrap()
        .collect::<kvdb::Result<Vec<_>>>()
        .unwrap();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 20, "sync SCAN, its page asked for again");
    rt.block_on(a.ping()).unwrap();
    proxy.arm();
    let mut keys = rt.block_on(async {
        let stream = a.scan(opts()).unwrap();
        stream.collect::<Vec<_>>().await
    });
    keys.sort_by_key(|k| format!("{k:?}"));
    keys.dedup_by_key(|k| format!("{k:?}"));
    assert_eq!(keys.len(), 20, "async SCAN, its page asked for again");
    assert!(keys.iter().all(|k| k.is_ok()), "{keys:?}");
}

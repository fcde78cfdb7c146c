//! A subscription whose connection is lost (`CLIENT KILL TYPE pubsub`, a server restart)
//! tells the user, reconnects, resubscribes every channel and pattern, and receives what is
//! published afterwards; sync and async, each test against a redis-server of its own.

#![allow(clippy::unwrap_used, clippy::panic)] // tests: a failed unwrap is a failed test

use std::time::{Duration, Instant};

use kvdb::Event;
use kvdb::testing::TestServer;

/// A plain connection to `server`, for commands the test itself sends.
fn admin(server: &TestServer) -> redis::Connection {
    redis::Client::open(server.url())
        .and_then(|c| c.get_connection())
        .expect("the test server accepts connections")
}

/// The next event must be a message (`$next` is a `next_timeout` call, sync or async).
macro_rules! message {
    ($next:expr) => {
        match $next {
            Some(Event::Message(m)) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    };
}

/// Takes events (`$next`, evaluated again each time) until `Resubscribed`, within 20 s; only
/// `Disconnected` may come before it. Returns `(attempts, down_for)`.
macro_rules! resubscribed {
    ($next:expr) => {{
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(Instant::now() < deadline, "not resubscribed within 20 s");
            match $next {
                Some(Event::Resubscribed {
                    attempts, down_for, ..
                }) => break (attempts, down_for),
                Some(Event::Disconnected {
                    error, retry_in, ..
                }) => {
                    assert!(error.is_connection_error(), "{error}");
                    assert!(retry_in <= Duration::from_secs(5), "{retry_in:?}");
                }
                None => {}
                Some(other) => panic!("expected Resubscribed, got {other:?}"),
            }
        }
    }};
}

kvdb_tests::dual_test!(
    client_kill_is_told_and_resubscribed,
    own_server,
    [Json],
    |s, p, server| {
        let (ch, pattern) = (format!("{p}:ch"), format!("{p}:p:*"));
        let mut sub = w!(s.subscribe::<u32>(&[&ch])).unwrap();
        w!(sub.psubscribe(&[&pattern])).unwrap();
        assert_eq!(w!(s.publish(&ch, &1u32)).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(m.payload.unwrap(), 1);

        let killed: u64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("pubsub")
            .query(&mut admin(server))
            .unwrap();
        assert_eq!(killed, 1, "the subscription's connection");
        // Told at once, as the first event after the loss.
        match w!(sub.next_timeout(Duration::from_secs(5))) {
            Some(Event::Disconnected {
                error, attempt: 0, ..
            }) => assert!(error.is_connection_error(), "{error}"),
            other => panic!("expected Disconnected, got {other:?}"),
        }
        let (attempts, down_for) = resubscribed!(w!(sub.next_timeout(Duration::from_secs(1))));
        assert_eq!(
            attempts, 1,
            "the server is up: the first attempt reconnects"
        );
        eprintln!("CLIENT KILL: resubscribed after {down_for:?}, {attempts} attempt(s)");

        // Both the channel and the pattern are subscribed again.
        assert_eq!(w!(s.publish(&ch, &2u32)).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!((m.channel.as_str(), m.payload.unwrap()), (ch.as_str(), 2));
        let pch = format!("{p}:p:x");
        assert_eq!(w!(s.publish(&pch, &3u32)).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(m.pattern.as_deref(), Some(pattern.as_str()));
        assert_eq!(m.payload.unwrap(), 3);
        // And it can still change.
        w!(sub.unsubscribe(&[&ch])).unwrap();
        assert_eq!(w!(s.publish(&ch, &4u32)).unwrap(), 0);
    }
);

kvdb_tests::dual_test!(
    server_restart_is_told_retried_and_resubscribed,
    own_server,
    [Json],
    |s, p, server| {
        let ch = format!("{p}:ch");
        let mut sub = w!(s.subscribe::<u32>(&[&ch])).unwrap();
        // The server goes away (its reply is the connection closing).
        let _ = redis::cmd("SHUTDOWN")
            .arg("NOSAVE")
            .exec(&mut admin(server));

        // While it is down: told of the loss, then of each failed attempt, waits growing.
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen.len() < 4 {
            assert!(Instant::now() < deadline, "only {seen:?} within 20 s");
            match w!(sub.next_timeout(Duration::from_secs(2))) {
                Some(Event::Disconnected {
                    error,
                    attempt,
                    retry_in,
                    ..
                }) => {
                    assert!(error.is_connection_error(), "{error}");
                    seen.push((attempt, retry_in));
                }
                None => {}
                other => panic!("expected Disconnected, got {other:?}"),
            }
        }
        let attempts: Vec<u32> = seen.iter().map(|(a, _)| *a).collect();
        assert_eq!(attempts, [0, 1, 2, 3]);
        assert_eq!(seen[0].1, Duration::ZERO, "the first attempt is immediate");
        for pair in seen[1..].windows(2) {
            // Doubling with jitter: each full delay is twice the last, cut by up to a half.
            assert!(
                pair[1].1 >= pair[0].1 / 2 && pair[1].1 <= Duration::from_secs(5),
                "{seen:?}"
            );
        }

        server.restart(&[] as &[&str]).unwrap();
        let (attempts, down_for) = resubscribed!(w!(sub.next_timeout(Duration::from_secs(1))));
        assert!(attempts >= 4, "{attempts} attempts");
        eprintln!("restart: waits {seen:?}; resubscribed after {down_for:?}, {attempts} attempts");
        assert!(down_for > Duration::ZERO);
        assert_eq!(w!(s.publish(&ch, &5u32)).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(m.payload.unwrap(), 5);
    }
);

// A connection that stops answering without being closed (a dropped route, a proxy that
// forgot it; here `CLIENT PAUSE`) is noticed by the health check's unanswered PING.
kvdb_tests::dual_test!(
    a_silent_connection_is_noticed_by_the_health_check,
    own_server,
    [Json],
    |s, p, server| {
        let ch = format!("{p}:ch");
        let mut sub = w!(s.subscribe::<u32>(&[&ch])).unwrap();
        sub.set_health_check(Some(Duration::from_millis(500)));
        // Quiet, with every check answered: nothing to report.
        assert!(w!(sub.next_timeout(Duration::from_millis(2000))).is_none());

        redis::cmd("CLIENT")
            .arg(&["PAUSE", "4000", "ALL"])
            .exec(&mut admin(server))
            .unwrap();
        let paused = Instant::now();
        match w!(sub.next_timeout(Duration::from_secs(10))) {
            Some(Event::Disconnected {
                error, attempt: 0, ..
            }) => assert!(error.is_timeout(), "{error}"),
            other => panic!("expected Disconnected, got {other:?}"),
        }
        let noticed = paused.elapsed();
        let (attempts, down_for) = resubscribed!(w!(sub.next_timeout(Duration::from_secs(1))));
        eprintln!(
            "health check every 500 ms: silence noticed after {noticed:?}; resubscribed after \
         {down_for:?}, {attempts} attempt(s)"
        );
        assert_eq!(w!(s.publish(&ch, &7u32)).unwrap(), 1);
        let m = message!(w!(sub.next_timeout(Duration::from_secs(5))));
        assert_eq!(m.payload.unwrap(), 7);
    }
);

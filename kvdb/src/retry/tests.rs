use super::*;

fn io(kind: std::io::ErrorKind) -> redis::RedisError {
    std::io::Error::from(kind).into()
}

fn redis_error(source: redis::RedisError) -> Error {
    Error::Redis {
        key: crate::error::KeyContext::of("k"),
        source,
    }
}

fn connect_error(source: redis::RedisError) -> Error {
    Error::Connect {
        server: "redis://127.0.0.1:1/0".into(),
        source,
    }
}

#[test]
fn failures_are_classified_by_what_may_have_reached_the_server() {
    use std::io::ErrorKind::*;
    assert_eq!(
        Failure::of(&connect_error(io(ConnectionRefused))),
        Failure::NotSent
    );
    assert_eq!(Failure::of(&connect_error(io(NotFound))), Failure::NotSent);
    assert_eq!(
        Failure::of(&redis_error(io(ConnectionReset))),
        Failure::Lost
    );
    assert_eq!(Failure::of(&redis_error(io(BrokenPipe))), Failure::Lost);
    assert_eq!(Failure::of(&redis_error(io(UnexpectedEof))), Failure::Lost);
    // A timeout spent the call's budget; a server error is an answer.
    assert_eq!(Failure::of(&redis_error(io(TimedOut))), Failure::Other);
    assert_eq!(Failure::of(&redis_error(io(WouldBlock))), Failure::Other);
    let wrongtype = redis::RedisError::from((
        redis::ErrorKind::Server(redis::ServerErrorKind::ResponseError),
        "WRONGTYPE",
    ));
    assert_eq!(Failure::of(&redis_error(wrongtype.clone())), Failure::Other);
    // A refusal (bad password, untrusted certificate) is not fixed by trying again.
    assert_eq!(Failure::of(&connect_error(wrongtype)), Failure::Other);
    let loading = redis::RedisError::from((
        redis::ErrorKind::Server(redis::ServerErrorKind::BusyLoading),
        "LOADING",
    ));
    assert_eq!(
        Failure::of(&redis_error(loading)),
        Failure::NotSent,
        "LOADING ran nothing"
    );
    let pool = Error::Pool {
        server: "s".into(),
        reason: "busy".into(),
    };
    assert_eq!(Failure::of(&pool), Failure::Other);
}

#[test]
fn the_default_policy_resends_only_what_is_safe_and_only_once() {
    let policy = Retry::default();
    let lost = redis_error(io(std::io::ErrorKind::ConnectionReset));
    let refused = connect_error(io(std::io::ErrorKind::ConnectionRefused));
    assert!(policy.may_retry(1, Safety::Read, &lost));
    assert!(policy.may_retry(1, Safety::Idempotent, &lost));
    assert!(
        !policy.may_retry(1, Safety::Once, &lost),
        "INCR is not resent"
    );
    assert!(
        policy.may_retry(1, Safety::Once, &refused),
        "nothing was sent"
    );
    assert!(
        !policy.may_retry(2, Safety::Read, &lost),
        "one resend at most"
    );
    assert!(!Retry::never().may_retry(1, Safety::Read, &lost));
    let opted_in = Retry::default().resend_non_idempotent(true);
    assert!(opted_in.may_retry(1, Safety::Once, &lost));
    assert!(Retry::attempts(3).may_retry(2, Safety::Read, &lost));
    assert_eq!(Retry::attempts(0).max_attempts(), 1, "at least one attempt");
}

#[test]
fn backoff_grows_to_its_cap_with_jitter_within_bounds() {
    let ms = Duration::from_millis;
    assert_eq!(Backoff::None.delay(3), Duration::ZERO);
    assert_eq!(Backoff::Fixed(ms(7)).delay(5), ms(7));
    let plain = Backoff::Exponential {
        base: ms(10),
        cap: ms(100),
        jitter: false,
    };
    let delays: Vec<_> = (1..=6).map(|n| plain.delay(n)).collect();
    assert_eq!(delays, [ms(10), ms(20), ms(40), ms(80), ms(100), ms(100)]);
    assert_eq!(plain.delay(u32::MAX), ms(100), "no overflow");
    let jittered = Backoff::exponential(ms(10), ms(100));
    for n in 1..=6 {
        let full = plain.delay(n);
        for _ in 0..50 {
            let d = jittered.delay(n);
            assert!(
                d >= full / 2 && d <= full,
                "attempt {n}: {d:?} outside {full:?}/2..={full:?}"
            );
        }
    }
}

#[test]
fn a_group_of_commands_is_as_safe_as_its_least_safe_one() {
    use Safety::*;
    assert_eq!(Safety::all([]), Read);
    assert_eq!(Safety::all([Read, Read]), Read);
    assert_eq!(Safety::all([Read, Idempotent]), Idempotent);
    assert_eq!(Safety::all([Idempotent, Once, Read]), Once);
}

#[test]
fn no_attempt_starts_past_the_budget() {
    let ms = Duration::from_millis;
    let lost = redis_error(io(std::io::ErrorKind::ConnectionReset));
    let policy = Retry::attempts(5).backoff(Backoff::Fixed(ms(100)));
    let wait = |elapsed, budget| policy.next_wait(1, Safety::Read, &lost, elapsed, budget);
    assert_eq!(wait(ms(0), Some(ms(1000))), Some(ms(100)));
    assert_eq!(
        wait(ms(950), Some(ms(1000))),
        None,
        "the wait would end past the budget"
    );
    assert_eq!(
        wait(ms(950), None),
        Some(ms(100)),
        "no response timeout: no budget"
    );
    assert_eq!(
        policy.next_wait(5, Safety::Read, &lost, ms(0), None),
        None,
        "attempts spent"
    );
    assert_eq!(
        policy.next_wait(1, Safety::Once, &lost, ms(0), None),
        None,
        "not safe"
    );
}

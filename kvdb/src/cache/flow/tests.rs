//! The cache flow's decisions, reply by reply, without a server.

use super::*;

fn core() -> Core {
    let resolved = crate::SessionOptions::new("t")
        .resolve_with_env(&|_| None)
        .unwrap();
    Core {
        encoder: resolved.encoder,
        limits: resolved.limits,
    }
}

/// Drives a flow with `replies` (in order) and collects each command sent with its safety.
fn commands(
    mode: CallMode,
    opts: CacheOptions,
    replies: Vec<Input<String>>,
) -> Vec<(String, Safety)> {
    let mut flow = Flow::<String>::new(core(), "k".into(), opts, mode);
    let mut sent = Vec::new();
    let inputs = std::iter::once(Input::Start).chain(replies);
    for input in inputs {
        match flow.next(input).unwrap() {
            Action::Send(c, safety) => {
                let name = match c.args_iter().next() {
                    Some(redis::Arg::Simple(b)) => String::from_utf8_lossy(b).into_owned(),
                    _ => String::new(),
                };
                sent.push((name, safety));
            }
            Action::Wait(..) => panic!("no other holder of the lock in these flows"),
            Action::Detach(_) => panic!("no background refresh in these flows"),
            Action::Return(_) => break,
            Action::Join | Action::Compute => {}
        }
    }
    sent
}

fn ok(v: Value) -> Input<String> {
    Input::Reply(Ok(v))
}

#[test]
fn every_command_of_the_cache_declares_its_retry_safety() {
    let encoded = {
        let mut c = redis::cmd("SET");
        core()
            .encode_arg(&mut c, &"cached".to_string(), None)
            .unwrap();
        match c.args_iter().nth(1) {
            Some(redis::Arg::Simple(b)) => b.to_vec(),
            _ => panic!("no encoded value"),
        }
    };
    let mut all = Vec::new();
    // A miss: GET, the lock, GET again, SET, the release.
    all.extend(commands(
        CallMode::Normal,
        CacheOptions::new(),
        vec![
            ok(Value::Nil),
            Input::Joined { leader: true },
            ok(Value::Nil),
            ok(Value::Nil),
            Input::Computed("v".into()),
            ok(Value::Okay),
            ok(Value::Int(1)),
        ],
    ));
    // A hit near its expiry with refresh-ahead: GET, PTTL.
    all.extend(commands(
        CallMode::Normal,
        CacheOptions::new().refresh_ahead(std::time::Duration::from_secs(60)),
        vec![ok(Value::BulkString(encoded)), ok(Value::Int(-1))],
    ));
    // Invalidation: DEL, then GET.
    all.extend(commands(
        CallMode::Invalidate,
        CacheOptions::new(),
        vec![ok(Value::Int(1)), ok(Value::Nil)],
    ));
    let expected = [
        ("GET", Safety::Read),
        ("PTTL", Safety::Read),
        ("DEL", Safety::Idempotent),
        ("SET", Safety::Idempotent),
        ("EVAL", Safety::Once),
    ];
    for (name, safety) in &all {
        let want = expected.iter().find(|(n, _)| n == name).map(|(_, s)| *s);
        assert_eq!(want, Some(*safety), "{name} is sent as {safety:?}");
    }
    for (name, _) in expected {
        assert!(
            all.iter().any(|(n, _)| n == name),
            "{name} never sent: {all:?}"
        );
    }
    // Both scripts (the lock and the release) were sent.
    assert_eq!(
        all.iter().filter(|(n, _)| n == "EVAL").count(),
        2,
        "{all:?}"
    );
}

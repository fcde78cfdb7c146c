use super::*;

fn cmd(parts: &[&str]) -> Cmd {
    let mut c = redis::cmd(parts[0]);
    for p in &parts[1..] {
        c.arg(*p);
    }
    c
}

fn names(plan: &Plan) -> Vec<String> {
    plan.cmds
        .iter()
        .map(|c| {
            args(c)
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

fn server_error(text: &str) -> RedisResult<Value> {
    redis::parse_redis_value(format!("-{text}\r\n").as_bytes()).and_then(Value::extract_error)
}

// "a" is in slot 15495, "b" in 3300, "{a}x" in a's slot.
#[test]
fn single_slot_commands_go_as_they_are() {
    for c in [
        cmd(&["GET", "a"]),
        cmd(&["MGET", "a", "{a}x"]),
        cmd(&["DEL", "{a}1", "{a}2"]),
        cmd(&["PING"]),
        cmd(&["DBSIZE"]),
        cmd(&["EVALSHA", "abc", "2", "{a}1", "{a}2", "arg"]),
        cmd(&["EVAL", "return 1", "0"]),
    ] {
        assert!(matches!(prepare(&Request::Cmd(&c)), Ok(Prepared::Direct)));
    }
}

#[test]
fn mget_across_slots_becomes_gets_in_order() {
    let c = cmd(&["MGET", "a", "b", "{a}x"]);
    let Ok(Prepared::Split(plan)) = prepare(&Request::Cmd(&c)) else {
        panic!("not split");
    };
    assert_eq!(names(&plan), ["GET a", "GET b", "GET {a}x"]);
    let reply = plan
        .combine(vec![
            Ok(Value::BulkString(b"1".to_vec())),
            server_error("WRONGTYPE Operation against a key"),
            Ok(Value::Nil),
        ])
        .unwrap();
    assert_eq!(
        reply,
        Value::Array(vec![
            Value::BulkString(b"1".to_vec()),
            Value::Nil,
            Value::Nil
        ])
    );
}

#[test]
fn mset_and_del_across_slots() {
    let c = cmd(&["MSET", "a", "1", "b", "2"]);
    let Ok(Prepared::Split(plan)) = prepare(&Request::Cmd(&c)) else {
        panic!("not split");
    };
    assert_eq!(names(&plan), ["SET a 1", "SET b 2"]);
    assert_eq!(
        plan.combine(vec![Ok(Value::Okay), Ok(Value::Okay)])
            .unwrap(),
        Value::Okay
    );
    let c = cmd(&["DEL", "a", "b", "{a}x"]);
    let Ok(Prepared::Split(plan)) = prepare(&Request::Cmd(&c)) else {
        panic!("not split");
    };
    assert_eq!(names(&plan), ["DEL a {a}x", "DEL b"]);
    assert_eq!(
        plan.combine(vec![Ok(Value::Int(2)), Ok(Value::Int(1))])
            .unwrap(),
        Value::Int(3)
    );
}

#[test]
fn atomic_commands_across_slots_are_refused_with_the_slots() {
    for (c, op) in [
        (cmd(&["RENAME", "a", "b"]), "RENAME"),
        (cmd(&["EVALSHA", "abc", "2", "a", "b"]), "EVALSHA"),
        (cmd(&["BLPOP", "a", "b", "5"]), "BLPOP"),
    ] {
        match prepare(&Request::Cmd(&c)) {
            Err(Error::CrossSlot {
                operation,
                keys_and_slots,
            }) => {
                assert_eq!(operation, op);
                assert_eq!(
                    keys_and_slots,
                    [("a".to_string(), 15495), ("b".to_string(), 3300)]
                );
            }
            _ => panic!("{op} was not refused"),
        }
    }
    let mut p = redis::pipe();
    p.atomic().add_command(cmd(&["SET", "a", "1"]));
    p.add_command(cmd(&["SET", "b", "1"]));
    let e = prepare(&Request::Pipe(&p)).err().unwrap();
    assert!(e.to_string().contains("\"b\" (slot 3300)"), "{e}");
    let mut p = redis::pipe();
    p.atomic().add_command(cmd(&["SET", "{a}1", "1"]));
    p.add_command(cmd(&["INCR", "a"]));
    assert!(matches!(prepare(&Request::Pipe(&p)), Ok(Prepared::Direct)));
}

#[test]
fn plain_pipelines_split_each_command() {
    let mut p = redis::pipe();
    p.add_command(cmd(&["SET", "a", "1"]))
        .add_command(cmd(&["MGET", "a", "b"]))
        .add_command(cmd(&["INCR", "b"]));
    let Ok(Prepared::Split(plan)) = prepare(&Request::Pipe(&p)) else {
        panic!("not split");
    };
    assert_eq!(names(&plan), ["SET a 1", "GET a", "GET b", "INCR b"]);
    let reply = plan
        .combine(vec![
            Ok(Value::Okay),
            Ok(Value::Nil),
            Ok(Value::Int(1)),
            server_error("ERR value is not an integer"),
        ])
        .unwrap();
    let Value::Array(items) = reply else {
        panic!("not an array")
    };
    assert_eq!(items[0], Value::Okay);
    assert_eq!(items[1], Value::Array(vec![Value::Nil, Value::Int(1)]));
    assert!(matches!(items[2], Value::ServerError(_)));
    // A connection error fails the whole pipeline.
    let io: RedisResult<Value> = Err(RedisError::from(std::io::Error::from(
        std::io::ErrorKind::ConnectionReset,
    )));
    assert!(
        plan.combine(vec![Ok(Value::Okay), Ok(Value::Nil), Ok(Value::Nil), io])
            .is_err()
    );
}

#[test]
fn scan_cursors_carry_the_node() {
    let c = cmd(&["SCAN", "0", "MATCH", "x*", "COUNT", "10"]);
    let Ok(Prepared::Scan { node, cmd: first }) = prepare(&Request::Cmd(&c)) else {
        panic!("not a scan");
    };
    assert_eq!(node, 0);
    assert_eq!(args(&first)[1], b"0");
    assert_eq!(args(&first)[2..], [&b"MATCH"[..], b"x*", b"COUNT", b"10"]);
    let page = |c: &str| {
        Value::Array(vec![
            Value::BulkString(c.as_bytes().to_vec()),
            Value::Array(vec![]),
        ])
    };
    let cursor = |v: Value| match v {
        Value::Array(mut p) => match p.remove(0) {
            Value::BulkString(b) => String::from_utf8(b).unwrap().parse::<u64>().unwrap(),
            _ => panic!(),
        },
        _ => panic!(),
    };
    // Node 0 not finished, node 0 finished (go to node 1), last node finished.
    let c0 = cursor(scan_reply(0, 3, page("17")).unwrap());
    assert_eq!(c0, 17);
    let c1 = cursor(scan_reply(0, 3, page("0")).unwrap());
    assert_eq!(c1, 1 << 48);
    let again = cmd(&["SCAN", &c1.to_string()]);
    let Ok(Prepared::Scan { node, cmd: next }) = prepare(&Request::Cmd(&again)) else {
        panic!("not a scan");
    };
    assert_eq!((node, args(&next)[1]), (1, &b"0"[..]));
    assert_eq!(cursor(scan_reply(2, 3, page("0")).unwrap()), 0);
    assert_eq!(cursor(scan_reply(1, 3, page("5")).unwrap()), (1 << 48) | 5);
}

#[test]
fn primaries_from_cluster_slots() {
    let node = |h: &str, p: i64| {
        Value::Array(vec![
            Value::BulkString(h.as_bytes().to_vec()),
            Value::Int(p),
            Value::BulkString(b"id".to_vec()),
        ])
    };
    let reply = Value::Array(vec![
        Value::Array(vec![
            Value::Int(0),
            Value::Int(5000),
            node("127.0.0.1", 7001),
            node("127.0.0.1", 7004),
        ]),
        Value::Array(vec![
            Value::Int(5001),
            Value::Int(16383),
            node("127.0.0.1", 7000),
        ]),
        Value::Array(vec![
            Value::Int(9000),
            Value::Int(9001),
            node("127.0.0.1", 7001),
        ]),
    ]);
    assert_eq!(
        primaries(&reply),
        [
            ("127.0.0.1".to_string(), 7000),
            ("127.0.0.1".to_string(), 7001)
        ]
    );
}

#[test]
fn only_repeatable_commands_are_resent() {
    assert!(repeatable(&cmd(&["GET", "a"])));
    assert!(repeatable(&cmd(&["SET", "a", "1", "EX", "5"])));
    assert!(!repeatable(&cmd(&["SET", "a", "1", "NX"])));
    assert!(!repeatable(&cmd(&["SET", "a", "1", "get"])));
    assert!(!repeatable(&cmd(&["INCRBY", "a", "1"])));
    assert!(!repeatable(&cmd(&["DEL", "a"])));
}

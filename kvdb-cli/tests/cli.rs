//! The `kvdb` binary against private servers: `get` of every serializer, compression and
//! Redis type, `set`, `scan` (also on a cluster), `decode` of every shared kvdb-py vector,
//! corrupt input and connection errors as one line, and passwords never printed.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use assert_cmd::Command;
use kvdb::testing::TestServer;
use kvdb::{KVDBClient, Serializer, Session, SessionOptions};
use serde_json::{Value, json};

static SERVER: LazyLock<TestServer> =
    LazyLock::new(|| TestServer::start().expect("the CLI tests need redis-server"));

static NEXT: AtomicU64 = AtomicU64::new(0);

/// A key no other test uses.
fn key(what: &str) -> String {
    format!("cli:{what}:{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn kvdb() -> Command {
    let mut cmd = Command::cargo_bin("kvdb").expect("the kvdb binary is built");
    // The environment must not choose the server (nor print a password).
    for var in ["KVDB_URL", "REDIS_URL", "REDIS_HOST", "REDIS_PASSWORD"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd`, which must succeed; its output.
fn succeeds(cmd: &mut Command) -> std::process::Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `kvdb ARGS --url <server>`: stdout, after checking it succeeded.
fn ok(args: &[&str]) -> String {
    let out = succeeds(kvdb().args(args).arg("--url").arg(SERVER.url()));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// `kvdb ARGS` that must fail: its stderr, after checking it is one line with no panic.
fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "expected a failure: {out:?}");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("kvdb: "), "{stderr}");
    for noise in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(noise), "{stderr}");
    }
    stderr
}

fn get_json(key: &str) -> Value {
    serde_json::from_str(&ok(&["get", key, "--json"])).expect("one JSON object")
}

fn session(serializer: Serializer) -> Session {
    KVDBClient::get_session(
        SessionOptions::new(key("session"))
            .url(SERVER.url())
            .serializer(serializer),
    )
    .unwrap()
}

#[test]
fn set_then_get_every_serializer_and_compression() {
    let value = json!({"id": 7, "name": "Ada", "tags": ["x", "y"], "score": 2.5});
    for ser in ["json", "cbor", "msgpack"] {
        for comp in ["none", "zstd", "lz4", "gzip", "zlib"] {
            let k = key("codec");
            let text = value.to_string();
            ok(&[
                "set",
                &k,
                "--json",
                &text,
                "--serializer",
                ser,
                "--compression",
                comp,
            ]);
            let got = get_json(&k);
            assert_eq!(got["value"], value, "{ser} {comp}");
            assert_eq!(got["format"], "kvdb", "{ser} {comp}");
            assert_eq!(got["codec"], ser, "{ser} {comp}");
            assert_eq!(got["compression"], comp, "{ser} {comp}");
            assert_eq!(got["type"], "string");
            assert_eq!(got["ttl_ms"], Value::Null, "no TTL");
        }
    }
}

#[test]
fn get_prints_a_header_line_then_pretty_json() {
    let k = key("header");
    ok(&[
        "set",
        &k,
        "--json",
        r#"{"id":1}"#,
        "--tag",
        "users.User",
        "--schema-version",
        "2",
        "--ttl",
        "1h",
    ]);
    let out = ok(&["get", &k]);
    let (header, body) = out.split_once('\n').unwrap();
    assert!(
        header.starts_with(
            "# string · kvdb · json · none · tag users.User v2 · 26 B stored · 8 B decoded · TTL "
        ),
        "{header}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(body).unwrap(),
        json!({"id": 1})
    );
    let ttl = get_json(&k)["ttl_ms"].as_u64().unwrap();
    assert!(ttl > 3_500_000 && ttl <= 3_600_000, "{ttl}");
}

#[test]
fn get_reads_every_redis_type_a_session_writes() {
    let s = session(Serializer::Cbor);
    let (h, l, st, z) = (key("hash"), key("list"), key("set"), key("zset"));
    s.hset(&h, "a", &vec![1, 2]).unwrap();
    s.hset(&h, "b", &3).unwrap();
    s.rpush(&l, &[json!({"n": 1}), json!({"n": 2})]).unwrap();
    s.sadd(&st, &["p", "q"]).unwrap();
    s.zadd(&z, "m", 1.5).unwrap();
    let hash = get_json(&h);
    assert_eq!(hash["value"], json!({"a": [1, 2], "b": 3}));
    assert_eq!(
        (hash["type"].as_str(), hash["length"].as_u64()),
        (Some("hash"), Some(2))
    );
    assert_eq!(hash["format"], "mixed", "a CBOR value and a plain scalar");
    assert_eq!(get_json(&l)["value"], json!([{"n": 1}, {"n": 2}]));
    assert_eq!(get_json(&l)["codec"], "cbor");
    assert_eq!(get_json(&st)["value"], json!(["p", "q"]));
    assert_eq!(
        get_json(&z)["value"],
        json!([{"member": "m", "score": 1.5}])
    );
    assert!(ok(&["get", &h]).starts_with("# hash (2 fields) · mixed"));
}

#[test]
fn raw_prints_the_stored_bytes() {
    let k = key("raw");
    ok(&["set", &k, "--json", "[1,2]", "--tag", "t.T"]);
    let out = succeeds(kvdb().args(["get", &k, "--raw", "--url", &SERVER.url()]));
    assert_eq!(out.stdout, b"kv1j-t.T|[1,2]");
}

#[test]
fn set_writes_kvdb_py_values_that_kvdb_py_reads() {
    let k = key("py");
    ok(&[
        "set",
        &k,
        "--json",
        r#"{"x":1,"y":2.5,"label":"o"}"#,
        "--format",
        "kvdb-py",
        "--tag",
        "models.Point",
        "--compression",
        "zstd",
    ]);
    let got = get_json(&k);
    assert_eq!(got["format"], "kvdb-py");
    assert_eq!(got["python_class"], "models.Point");
    assert_eq!(got["compression"], "zstd");
    assert_eq!(got["value"], json!({"x": 1, "y": 2.5, "label": "o"}));
    // The bytes are what kvdb-py itself writes: a pydantic envelope behind `_kvdbenc_`.
    let raw: Vec<u8> = session(Serializer::Json)
        .query(kvdb::redis::cmd("GET").arg(&k))
        .unwrap();
    assert!(raw.starts_with(b"_kvdbenc_"), "{raw:?}");
}

#[derive(serde::Deserialize)]
struct Vector {
    case: String,
    serializer: Option<String>,
    compression: Option<String>,
    python_type: Option<String>,
    expected: Value,
    bytes_hex: Option<String>,
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn decode_reads_every_kvdb_py_vector() {
    let text = include_str!("../../kvdb/tests/fixtures/kvdb-py/vectors.jsonl");
    let mut checked = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Vector = serde_json::from_str(line).unwrap();
        let Some(hex) = &v.bytes_hex else { continue };
        let what = format!("{} ({:?}, {:?})", v.case, v.serializer, v.compression);
        // Raw bytes on stdin.
        let out = succeeds(kvdb().args(["decode", "--json"]).write_stdin(unhex(hex)));
        let got: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(got["value"], v.expected, "{what}");
        let origin = if hex.starts_with("5f6b766462656e635f") {
            "kvdb-py"
        } else {
            "plain"
        };
        assert_eq!(got["format"], origin, "{what}");
        if v.python_type
            .as_deref()
            .is_some_and(|t| t.starts_with("models."))
        {
            assert_eq!(
                got["python_class"].as_str(),
                v.python_type.as_deref(),
                "{what}"
            );
        }
        checked += 1;
    }
    assert!(checked >= 100, "only {checked} vectors");
}

#[test]
fn decode_reads_a_file_or_hex() {
    let dir = std::env::temp_dir().join(key("decode").replace(':', "-"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("value.bin");
    std::fs::write(&file, b"kv1j-|{\"a\":[1,2]}").unwrap();
    let out = succeeds(kvdb().arg("decode").arg(&file));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("# string · kvdb · json · none · 17 B stored · 11 B decoded\n"),
        "{text}"
    );
    let out = kvdb()
        .args(["decode", "--hex", "--json"])
        .write_stdin("34 32\n")
        .output()
        .unwrap();
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["value"], json!(42));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn corrupt_input_is_one_clear_line() {
    let cases: [(&[u8], &str); 4] = [
        (b"kv1jz|not a zstd frame", "zstd"),
        (b"kv1j-|{\"unclosed\": ", "JSON"),
        (b"kv1q-|{}", "codec"),
        (b"kv7j-|{}", "version"),
    ];
    for (bytes, says) in cases {
        let stderr = fails(kvdb().arg("decode").write_stdin(bytes));
        assert!(
            stderr.to_lowercase().contains(&says.to_lowercase()),
            "{says}: {stderr}"
        );
    }
    let stderr = fails(kvdb().args(["decode", "/no/such/file"]));
    assert!(stderr.contains("/no/such/file"), "{stderr}");
    // A corrupt value in Redis: named by its key.
    let k = key("corrupt");
    let s = session(Serializer::Json);
    s.query::<()>(kvdb::redis::cmd("SET").arg(&k).arg("kv1jz|garbage"))
        .unwrap();
    let stderr = fails(kvdb().args(["get", &k, "--url", &SERVER.url()]));
    assert!(stderr.contains(&k) && stderr.contains("zstd"), "{stderr}");
    let stderr = fails(kvdb().args(["get", &key("missing"), "--url", &SERVER.url()]));
    assert!(stderr.contains("does not exist"), "{stderr}");
    let stderr = fails(kvdb().args(["set", "k", "--json", "{nope", "--url", &SERVER.url()]));
    assert!(stderr.contains("not valid JSON"), "{stderr}");
}

#[test]
fn scan_lists_filters_by_tag_and_counts() {
    let prefix = key("scan");
    for i in 0..5 {
        ok(&[
            "set",
            &format!("{prefix}:u{i}"),
            "--json",
            r#"{"a":1}"#,
            "--tag",
            "scan.User",
            "--compression",
            "zstd",
        ]);
    }
    for i in 0..3 {
        ok(&["set", &format!("{prefix}:n{i}"), "--json", &i.to_string()]);
    }
    session(Serializer::Json)
        .hset(&format!("{prefix}:h"), "f", &1)
        .unwrap();
    let pattern = format!("{prefix}:*");
    let lines = ok(&["scan", &pattern]);
    assert_eq!(lines.lines().count(), 9, "{lines}");
    let user = lines
        .lines()
        .find(|l| l.starts_with(&format!("{prefix}:u0\t")))
        .unwrap();
    assert_eq!(
        user.split('\t').collect::<Vec<_>>()[1..6],
        ["string", "kvdb", "json", "zstd", "scan.User"]
    );
    let tagged = ok(&["scan", &pattern, "--tag", "scan.User", "--json"]);
    let keys: Vec<Value> = tagged
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(keys.len(), 5);
    assert!(
        keys.iter()
            .all(|k| k["tag"] == "scan.User" && k["compression"] == "zstd")
    );
    let stats: Value = serde_json::from_str(&ok(&["scan", &pattern, "--stats", "--json"])).unwrap();
    assert_eq!(stats["keys"], 9);
    assert_eq!(stats["by_type"], json!({"hash": 1, "string": 8}));
    assert_eq!(stats["by_tag"]["scan.User"]["keys"], 5);
    assert_eq!(stats["by_tag"]["-"]["keys"], 3);
    assert_eq!(stats["by_compression"]["zstd"]["keys"], 5);
    let z = &stats["by_compression"]["zstd"];
    let ratio = z["stored_bytes"].as_f64().unwrap() / z["decoded_bytes"].as_f64().unwrap();
    assert!((z["ratio"].as_f64().unwrap() - ratio).abs() < 1e-9, "{z}");
    // The progress bar, forced on although stderr is not a terminal.
    let out = kvdb()
        .args(["scan", &pattern, "--progress", "--url", &SERVER.url()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("scanned 9/~"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 9);
    let table = ok(&["scan", &pattern, "--stats"]);
    assert!(table.starts_with("9 keys (hash 1, string 8)\n"), "{table}");
    assert!(table.contains("scan.User"), "{table}");
}

#[test]
fn scan_works_on_a_cluster() {
    let cluster = kvdb::testing::TestCluster::start(3, 0).expect("a test cluster");
    let url = cluster.url();
    let prefix = key("cscan");
    // Keys in many slots, so every primary holds some.
    for i in 0..30 {
        succeeds(
            kvdb()
                .args([
                    "set",
                    &format!("{prefix}:{i}"),
                    "--json",
                    r#"{"i":1}"#,
                    "--tag",
                    "c.T",
                ])
                .args(["--url", &url]),
        );
    }
    let out = succeeds(kvdb().args([
        "scan",
        &format!("{prefix}:*"),
        "--stats",
        "--json",
        "--url",
        &url,
    ]));
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["by_tag"]["c.T"]["keys"], 30, "{stats}");
}

#[test]
fn passwords_are_never_printed() {
    const PW: &str = "cli-S3cret-pw-41d7";
    let server = TestServer::start_with_args(&["--requirepass", PW]).unwrap();
    let good = format!("redis://:{PW}@127.0.0.1:{}/0", server.port());
    let bad = format!("redis://:wrong-{PW}@127.0.0.1:{}/0", server.port());
    let k = key("pw");
    succeeds(kvdb().args(["set", &k, "--json", "1", "--url", &good]));
    let out = succeeds(kvdb().args(["get", &k, "--url", &good]));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PW));
    let stderr = fails(kvdb().args(["get", &k, "--url", &bad]));
    assert!(
        !stderr.contains(PW) && !stderr.contains("S3cret"),
        "{stderr}"
    );
    // A server that does not answer: the URL in the message is redacted.
    let port = kvdb::testing::free_port().unwrap();
    let down = format!("redis://:{PW}@127.0.0.1:{port}/0");
    let stderr = fails(kvdb().args(["get", "k", "--timeout", "0.5", "--url", &down]));
    assert!(!stderr.contains(PW) && stderr.contains("***"), "{stderr}");
    // And from the environment, as sessions read it.
    let out = succeeds(kvdb().args(["get", &k]).env("REDIS_URL", &good));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(PW));
}

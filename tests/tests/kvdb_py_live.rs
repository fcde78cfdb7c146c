//! Live interop with the Python library kvdb-py through the harness's server: Python writes,
//! Rust reads; Rust writes in `Format::KvdbPy`, Python reads.
//!
//! Needs a Python with kvdb-py importable: `KVDB_PY_PYTHON` (what `.ci/run` sets, to a
//! virtualenv it builds), else `python3` if it can import kvdb. Under CI the test fails if
//! neither works, unless `.ci/run` could not install kvdb-py from the package index and says
//! so in `KVDB_PY_UNAVAILABLE`; elsewhere it says so and passes without checking anything.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use kvdb::{Compression, Format, Serializer, py};
use kvdb_tests::{options, server, unique};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[path = "../../kvdb/tests/fixtures/kvdb-py/kvdb_py.rs"]
mod kvdb_py;
use kvdb_py::{Point, User};

#[derive(Debug, PartialEq, Deserialize)]
struct Blob {
    blob: Vec<u8>,
}

/// A dict holding a model, as Python writes it.
#[derive(Debug, Deserialize)]
struct Team {
    lead: User,
    size: u32,
}

/// The same, written from Rust: the lead is written as a nested `models.User`.
#[derive(Serialize)]
struct RustTeam {
    lead: py::Model<User>,
    size: u32,
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kvdb/tests/fixtures/kvdb-py")
}

/// A Python that can import kvdb-py, or why there is none.
fn python() -> Result<String, String> {
    let candidate = std::env::var("KVDB_PY_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&candidate)
        .args(["-c", "import kvdb, pydantic"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if ok {
        Ok(candidate)
    } else {
        Err(format!("`{candidate}` cannot import kvdb-py"))
    }
}

fn run_python(py: &str, verb: &str, prefix: &str) -> String {
    run_python_args(py, &[verb, server().url(), prefix])
}

fn run_python_args(py: &str, args: &[&str]) -> String {
    let verb = args[0];
    let out = Command::new(py)
        .arg(fixtures().join("interop.py"))
        .args(args)
        .env("PYTHONPATH", fixtures())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "interop.py {verb} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn python_or_skip() -> Option<String> {
    if let Ok(why) = std::env::var("KVDB_PY_UNAVAILABLE") {
        eprintln!("kvdb-py live test not run: {why}");
        return None;
    }
    match python() {
        Ok(p) => Some(p),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{why}; .ci/run installs kvdb-py into a virtualenv and sets KVDB_PY_PYTHON")
        }
        Err(why) => {
            eprintln!("kvdb-py live test not run: {why} (set KVDB_PY_PYTHON)");
            None
        }
    }
}

const CONFIGS: [(&str, &str); 6] = [
    ("json", "None"),
    ("json", "zstd"),
    ("json", "lz4"),
    ("json", "gzip"),
    ("json", "zlib"),
    ("msgpack", "None"),
];

#[test]
fn rust_reads_what_kvdb_py_wrote() {
    let Some(py) = python_or_skip() else { return };
    let prefix = unique("pywrite");
    assert_eq!(run_python(&py, "write", &prefix).trim(), "written");
    // A native session with no serializer reads all of it: the bytes say what they are.
    let s = kvdb::KVDBClient::get_session(options("py-reader")).unwrap();
    for (ser, comp) in CONFIGS {
        let p = format!("{prefix}:{ser}:{comp}");
        let ctx = format!("{ser}+{comp}");
        // The exact Rust type, found from the stored `__class__`.
        let any = s.get_any(&format!("{p}:user")).unwrap().expect("a model");
        assert_eq!(any.tag(), "kvdb_py.User", "{ctx}");
        let live = any
            .downcast::<User>()
            .unwrap_or_else(|m| panic!("not a User: {m:?}"));
        assert_eq!(
            (live.id, live.email.as_str()),
            (42, "zoe@example.com"),
            "{ctx}"
        );
        let user: User = s.get(&format!("{p}:user")).unwrap().expect("user");
        assert_eq!(
            (user.id, user.name.as_str(), user.score),
            (42, "Zoë", 98.5),
            "{ctx}"
        );
        assert_eq!(user.created, "2024-01-02T03:04:05.123456Z", "{ctx}");
        assert_eq!(
            user.address.map(|a| a.city),
            Some("Springfield".into()),
            "{ctx}"
        );
        let dict: Value = s.get(&format!("{p}:dict")).unwrap().unwrap();
        assert_eq!(
            dict,
            json!({"a": 1, "b": [1, 2], "c": "x", "d": null, "e": 2.5, "f": true}),
            "{ctx}"
        );
        assert_eq!(
            s.get::<String>(&format!("{p}:str")).unwrap().as_deref(),
            Some("héllo ✓"),
            "{ctx}"
        );
        assert_eq!(
            s.get::<i64>(&format!("{p}:int")).unwrap(),
            Some(12345),
            "{ctx}"
        );
        assert_eq!(
            s.get::<f64>(&format!("{p}:float")).unwrap(),
            Some(1e-7),
            "{ctx}"
        );
        assert_eq!(
            s.get::<bool>(&format!("{p}:bool")).unwrap(),
            Some(true),
            "{ctx}"
        );
        // Bytes nested in a dict (a JSON envelope, MessagePack `bin`), as a struct and a Value.
        assert_eq!(
            s.get::<Blob>(&format!("{p}:nested_bytes")).unwrap(),
            Some(Blob { blob: vec![0, 255] }),
            "{ctx}"
        );
        assert_eq!(
            s.get::<Value>(&format!("{p}:nested_bytes")).unwrap(),
            Some(json!({"blob": [0, 255]})),
            "{ctx}"
        );
        // A model nested in a dict (a pydantic envelope, MessagePack extension type 2).
        let team: Team = s.get(&format!("{p}:team")).unwrap().expect("team");
        assert_eq!((team.lead.id, team.size), (42, 2), "{ctx}");
        let team: Value = s.get(&format!("{p}:team")).unwrap().expect("team");
        assert_eq!(team["lead"]["email"], "zoe@example.com", "{ctx}");
        assert_eq!(
            s.get::<Vec<String>>(&format!("{p}:empty")).unwrap(),
            Some(vec![]),
            "{ctx}"
        );
        if ser == "json" {
            let point: Point = s.get(&format!("{p}:point")).unwrap().unwrap();
            assert_eq!(
                point,
                Point {
                    x: 1,
                    y: 2.5,
                    label: "origin".into()
                },
                "{ctx}"
            );
            assert_eq!(
                s.get::<String>(&format!("{p}:when")).unwrap().as_deref(),
                Some("2024-01-02T03:04:05+00:00")
            );
            assert_eq!(
                s.get::<String>(&format!("{p}:uuid")).unwrap().as_deref(),
                Some("12345678-1234-5678-1234-567812345678")
            );
            assert_eq!(
                s.get::<BTreeSet<i64>>(&format!("{p}:set")).unwrap(),
                Some([1, 2, 3].into())
            );
            assert_eq!(
                s.get::<Duration>(&format!("{p}:delta")).unwrap(),
                Some(Duration::from_millis(90_500))
            );
        }
    }
}

#[test]
fn kvdb_py_reads_what_rust_wrote() {
    let Some(py) = python_or_skip() else { return };
    let prefix = unique("rustwrite");
    for (ser, comp) in CONFIGS {
        let mut o = options("py-writer")
            .format(Format::KvdbPy)
            .serializer(match ser {
                "json" => Serializer::Json,
                _ => Serializer::MsgPack,
            });
        o = match comp {
            "zstd" => o.compression(Compression::Zstd),
            "lz4" => o.compression(Compression::Lz4),
            "gzip" => o.compression(Compression::Gzip),
            "zlib" => o.compression(Compression::Zlib),
            _ => o,
        };
        let s = kvdb::KVDBClient::get_session(o).unwrap();
        let p = format!("{prefix}:{ser}:{comp}");
        #[derive(Serialize)]
        struct Dict {
            a: i64,
            b: Vec<i64>,
            c: &'static str,
        }
        s.set(
            &format!("{p}:dict"),
            &Dict {
                a: 1,
                b: vec![1, 2],
                c: "x",
            },
        )
        .unwrap();
        s.set(&format!("{p}:str"), "héllo ✓").unwrap();
        s.set(&format!("{p}:int"), &12345).unwrap();
        s.set(&format!("{p}:float"), &1e-7).unwrap();
        s.set(&format!("{p}:empty"), &Vec::<String>::new()).unwrap();
        s.set(
            &format!("{p}:team"),
            &RustTeam {
                lead: py::Model(User::zoe(7)),
                size: 2,
            },
        )
        .unwrap();
        if ser == "json" {
            s.set(&format!("{p}:path"), &py::Path("/srv/data/file.txt"))
                .unwrap();
            s.set(
                &format!("{p}:when"),
                &py::Datetime("2024-01-02T03:04:05+00:00"),
            )
            .unwrap();
            s.set(
                &format!("{p}:uuid"),
                &py::Uuid("12345678-1234-5678-1234-567812345678"),
            )
            .unwrap();
            s.set(&format!("{p}:set"), &py::Set([3, 1, 2])).unwrap();
            s.set(
                &format!("{p}:delta"),
                &py::Timedelta(Duration::from_millis(90_500)),
            )
            .unwrap();
        }
    }
    // Models: written with their Python class, read by Python as that class.
    let id = i64::from(std::process::id());
    for (ser, serializer) in [("json", Serializer::Json), ("msgpack", Serializer::MsgPack)] {
        let s = kvdb::KVDBClient::get_session(
            options("py-model-writer")
                .format(Format::KvdbPy)
                .serializer(serializer),
        )
        .unwrap();
        s.set_model(&User::zoe(id)).unwrap();
        let key = format!("pyusers:{id}");
        let line = run_python_args(&py, &["get", server().url(), ser, "None", &key]);
        let r: Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(r["type"], "models.User", "{ser}: {r}");
        assert_eq!(r["value"]["name"], "Zoë", "{ser}: {r}");
        assert_eq!(r["value"]["created"], "2024-01-02T03:04:05Z", "{ser}: {r}");
    }

    let lines = run_python(&py, "read", &prefix);
    let results: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let get = |suffix: &str| -> Vec<&Value> {
        results
            .iter()
            .filter(|r| r["key"].as_str().unwrap().ends_with(suffix))
            .collect()
    };
    assert_eq!(results.len(), 6 * 6 + 5 * 5, "{lines}");
    for r in get(":empty") {
        assert_eq!(
            (&r["type"], &r["value"]),
            (&json!("list"), &json!([])),
            "{r}"
        );
    }
    for r in get(":team") {
        assert_eq!(r["type"], "dict", "{r}");
        assert_eq!(r["value"]["lead"]["type"], "models.User", "{r}");
        assert_eq!(r["value"]["lead"]["value"]["id"], 7, "{r}");
    }
    let paths = get(":path");
    assert_eq!(paths.len(), 5, "{lines}");
    for r in paths {
        assert_eq!(
            (&r["type"], &r["value"]),
            (
                &json!("pathlib.PurePosixPath"),
                &json!("/srv/data/file.txt")
            ),
            "{r}"
        );
    }
    for r in get(":dict") {
        assert_eq!(r["type"], "dict", "{r}");
        assert_eq!(r["value"]["b"]["value"], json!([1, 2]), "{r}");
    }
    for r in get(":str") {
        assert_eq!(
            (&r["type"], &r["value"]),
            (&json!("str"), &json!("héllo ✓")),
            "{r}"
        );
    }
    // kvdb-py returns numbers it stored as their repr text (its own ints and floats too).
    for r in get(":int") {
        assert_eq!(r["value"], "12345", "{r}");
    }
    for r in get(":float") {
        assert_eq!(r["value"], "1e-07", "{r}");
    }
    for (suffix, ty, value) in [
        (":when", "datetime", json!("2024-01-02T03:04:05+00:00")),
        (
            ":uuid",
            "uuid",
            json!("12345678-1234-5678-1234-567812345678"),
        ),
        (":set", "set", json!([1, 2, 3])),
        (":delta", "timedelta", json!(90.5)),
    ] {
        let rs = get(suffix);
        assert_eq!(rs.len(), 5, "{suffix}: {lines}");
        for r in rs {
            assert_eq!((&r["type"], &r["value"]), (&json!(ty), &value), "{r}");
        }
    }
}

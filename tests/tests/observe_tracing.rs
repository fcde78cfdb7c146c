//! Feature `tracing`: one span per session operation, sync and async, pipelines and
//! conversations, with OpenTelemetry's database fields, the stored format of what was read,
//! errors, the key only when `kvdb::key` is enabled at TRACE, and never the password.
#![cfg(feature = "tracing")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kvdb::testing::TestServer;
use kvdb::{Compression, KVDBClient, Serializer, Session, SessionOptions};
use kvdb_tests::unique;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const PW: &str = "Tr4ce-pw-9c1e-secret";

/// A finished span: its name and fields (values as text).
#[derive(Clone, Debug)]
struct Captured {
    name: String,
    fields: BTreeMap<String, String>,
}

impl Captured {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    fn field(&self, field: &str) -> &str {
        self.get(field)
            .unwrap_or_else(|| panic!("span {} has no field {field}: {:?}", self.name, self))
    }
}

/// Records every span's fields and keeps the closed ones.
#[derive(Clone, Default)]
struct Capture {
    open: Arc<Mutex<BTreeMap<u64, Captured>>>,
    closed: Arc<Mutex<Vec<Captured>>>,
    /// Whether `kvdb::key` at TRACE is enabled.
    keys: bool,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        // Other tests run at the same time with other subscribers: ask every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        metadata.target() != "kvdb::key" || self.keys
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let span = Captured {
            name: attrs.metadata().name().to_owned(),
            fields,
        };
        self.open.lock().unwrap().insert(id.into_u64(), span);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(span) = self.open.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }

    fn on_close(&self, id: Id, _: Context<'_, S>) {
        if let Some(span) = self.open.lock().unwrap().remove(&id.into_u64()) {
            self.closed.lock().unwrap().push(span);
        }
    }
}

impl Capture {
    /// The closed spans of operation `op` (the session method's name).
    fn spans(&self, op: &str) -> Vec<Captured> {
        self.closed
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.get("kvdb.operation") == Some(op))
            .cloned()
            .collect()
    }

    fn one(&self, op: &str) -> Captured {
        let spans = self.spans(op);
        assert_eq!(spans.len(), 1, "one span for {op}, got {spans:?}");
        spans.into_iter().next().unwrap()
    }

    /// Fails if the password shows in any span.
    fn assert_no_password(&self) {
        for span in self.closed.lock().unwrap().iter() {
            for (k, v) in &span.fields {
                assert!(
                    !v.contains(PW) && !v.contains("Tr4ce"),
                    "{k} shows the password: {v}"
                );
            }
        }
    }
}

/// Runs `f` with a fresh [`Capture`] as the thread's subscriber (`keys`: with `kvdb::key`
/// enabled at TRACE); returns what it captured.
fn capture(keys: bool, f: impl FnOnce()) -> Capture {
    let capture = Capture {
        keys,
        ..Capture::default()
    };
    let subscriber = tracing_subscriber::registry().with(capture.clone());
    tracing::subscriber::with_default(subscriber, f);
    capture
}

/// A server that needs a password, and a session that gives it (zstd-compressed JSON).
fn setup() -> (TestServer, Session) {
    let server = TestServer::start_with_args(&["--requirepass", PW]).expect("redis-server");
    let session = KVDBClient::get_session(
        SessionOptions::new(unique("trace"))
            .url(server.url())
            .password(PW)
            .serializer(Serializer::Json)
            .compression(Compression::Zstd),
    )
    .unwrap();
    (server, session)
}

/// A value large enough to be compressed.
fn big() -> Vec<String> {
    (0..200).map(|i| format!("item number {i}")).collect()
}

#[test]
fn sync_operations_have_a_span_with_database_fields() {
    let (_server, session) = setup();
    let capture = capture(false, || {
        session.set("k", &big()).unwrap();
        let back: Option<Vec<String>> = session.get("k").unwrap();
        assert_eq!(back, Some(big()));
    });
    let set = capture.one("set");
    assert_eq!(set.name, "kvdb.op");
    assert_eq!(set.field("db.system"), "redis");
    assert_eq!(set.field("otel.name"), "set");
    assert_eq!(set.field("db.operation.name"), "SET");
    assert_eq!(set.field("kvdb.session"), session.name());
    assert_eq!(set.field("kvdb.keys"), "1");
    assert!(set.field("server.address").contains("127.0.0.1"), "{set:?}");
    let get = capture.one("get");
    assert_eq!(get.field("db.operation.name"), "GET");
    assert_eq!(get.field("kvdb.stored.format"), "kvdb");
    assert_eq!(get.field("kvdb.stored.codec"), "json");
    assert_eq!(get.field("kvdb.stored.compression"), "zstd");
    let bytes: usize = get.field("kvdb.stored.bytes").parse().unwrap();
    assert!(bytes > 6 && bytes < 3000, "stored bytes {bytes}");
    // The key only when `kvdb::key` is enabled at TRACE.
    assert_eq!(get.get("kvdb.key"), None, "{get:?}");
    assert_eq!(get.get("error.type"), None, "{get:?}");
    capture.assert_no_password();
}

#[test]
fn the_key_and_error_message_show_when_enabled_never_the_password() {
    let (_server, session) = setup();
    let capture = capture(true, || {
        session.hset("h", "f", &1).unwrap();
        session.get::<String>("h").unwrap_err();
    });
    let get = capture.one("get");
    assert_eq!(get.field("kvdb.key"), "h");
    assert_eq!(get.field("otel.status_code"), "ERROR");
    assert_eq!(get.field("error.type"), "Redis");
    assert!(get.field("error.message").contains("WRONGTYPE"), "{get:?}");
    capture.assert_no_password();
}

#[test]
fn errors_without_keys_enabled_give_only_the_error_type() {
    let (_server, session) = setup();
    let capture = capture(false, || {
        session.hset("h", "f", &1).unwrap();
        session.get::<String>("h").unwrap_err();
    });
    let get = capture.one("get");
    assert_eq!(get.field("error.type"), "Redis");
    assert_eq!(
        get.get("error.message"),
        None,
        "the message names the key: {get:?}"
    );
}

#[test]
fn async_operations_have_the_same_span() {
    let (_server, session) = setup();
    let capture = capture(false, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let aio = session.aio();
            aio.set("k", &big()).await.unwrap();
            assert!(aio.hset("h", "f", &1).await.unwrap(), "a new field");
            assert_eq!(aio.get::<Vec<String>>("k").await.unwrap(), Some(big()));
        });
    });
    let get = capture.one("get");
    assert_eq!(get.field("db.system"), "redis");
    assert_eq!(get.field("db.operation.name"), "GET");
    assert_eq!(get.field("kvdb.session"), session.name());
    assert_eq!(get.field("kvdb.stored.compression"), "zstd");
    assert_eq!(capture.one("hset").field("db.operation.name"), "HSET");
    capture.assert_no_password();
}

#[test]
fn a_pipeline_is_one_span_with_its_batch_size() {
    let (_server, session) = setup();
    let capture = capture(false, || {
        let mut p = session.pipeline().atomic();
        let _ = p.set("a", &big());
        let _ = p.set("b", &2);
        let a = p.get::<Vec<String>>("a");
        let mut results = session.execute(p).unwrap();
        assert_eq!(results.take(a).unwrap(), Some(big()));
    });
    let exec = capture.one("execute");
    assert_eq!(exec.field("db.operation.name"), "MULTI");
    assert_eq!(exec.field("db.operation.batch.size"), "3");
    assert_eq!(exec.field("kvdb.keys"), "3");
    assert!(
        capture.spans("set").is_empty(),
        "queued commands are not operations"
    );
    capture.assert_no_password();
}

#[test]
fn a_conversation_is_one_span_counting_its_round_trips() {
    let (_server, session) = setup();
    let capture = capture(false, || {
        let script = kvdb::Script::new("return redis.call('GET', KEYS[1])");
        session.set("s", &"v").unwrap();
        // The first call sends EVALSHA, is told NOSCRIPT, then sends EVAL.
        let v: Option<String> = session.eval_script(script.call().key("s")).unwrap();
        assert_eq!(v.as_deref(), Some("v"));
    });
    let invoke = capture.one("eval_script");
    assert_eq!(invoke.field("db.operation.name"), "EVALSHA");
    assert_eq!(invoke.field("kvdb.keys"), "1");
    assert_eq!(invoke.field("kvdb.round_trips"), "2");
    capture.assert_no_password();
}

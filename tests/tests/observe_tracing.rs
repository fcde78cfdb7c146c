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

/// An event: the `kvdb.operation` of its span (if any) and its fields.
type Event = (Option<String>, BTreeMap<String, String>);

/// Records every span's fields and keeps the closed ones, and every event with the
/// operation of the span it happened in.
#[derive(Clone, Default)]
struct Capture {
    open: Arc<Mutex<BTreeMap<u64, Captured>>>,
    closed: Arc<Mutex<Vec<Captured>>>,
    events: Arc<Mutex<Vec<Event>>>,
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

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let op = ctx.event_span(event).and_then(|span| {
            let open = self.open.lock().unwrap();
            open.get(&span.id().into_u64())
                .and_then(|s| s.get("kvdb.operation").map(str::to_owned))
        });
        self.events.lock().unwrap().push((op, fields));
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

    /// The events whose message starts with `name` (`kvdb.retry`...), with the operation of
    /// their span.
    fn events(&self, name: &str) -> Vec<Event> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, f)| f.get("message").is_some_and(|m| m.starts_with(name)))
            .cloned()
            .collect()
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

thread_local! {
    /// The capture of the test running on this thread, if it is capturing.
    static CURRENT: std::cell::RefCell<Option<Capture>> = const { std::cell::RefCell::new(None) };
}

/// The one global subscriber's layer: hands everything to the calling thread's [`Capture`].
///
/// A subscriber per test (`with_default`) raced with the callsite registry: tests run in
/// parallel threads, and a span's callsite first hit while no test's subscriber was alive, or
/// while one was being registered, could keep an interest of "never" and a later test saw no
/// span at all (1 run in 40). One global subscriber, asked every time, cannot race.
struct Router;

fn with_current<T>(f: impl FnOnce(&Capture) -> T) -> Option<T> {
    CURRENT.with(|c| c.borrow().as_ref().map(f))
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Router {
    fn register_callsite(&self, _: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        with_current(|c| Layer::<S>::enabled(c, metadata, ctx)).unwrap_or(false)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        with_current(|c| c.on_new_span(attrs, id, ctx));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        with_current(|c| c.on_record(id, values, ctx));
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        with_current(|c| c.on_event(event, ctx));
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        with_current(|c| c.on_close(id, ctx));
    }
}

/// Runs `f` with a fresh [`Capture`] for this thread (`keys`: with `kvdb::key` enabled at
/// TRACE); returns what it captured.
fn capture(keys: bool, f: impl FnOnce()) -> Capture {
    static GLOBAL: std::sync::Once = std::sync::Once::new();
    GLOBAL.call_once(|| {
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(Router))
            .expect("no other global subscriber in this test binary");
    });
    let capture = Capture {
        keys,
        ..Capture::default()
    };
    CURRENT.with(|c| *c.borrow_mut() = Some(capture.clone()));
    f();
    CURRENT.with(|c| *c.borrow_mut() = None);
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

/// An application's error, as a transaction body returns it.
#[derive(Debug)]
struct Refused(#[allow(dead_code)] Option<kvdb::Error>);

impl From<kvdb::Error> for Refused {
    fn from(e: kvdb::Error) -> Self {
        Refused(Some(e))
    }
}

#[test]
fn a_transaction_is_one_span_and_tells_its_own_failure_from_the_bodys() {
    let (_server, session) = setup();
    let capture = capture(false, || {
        session
            .transaction(&["t1", "t2"], |tx| {
                let n: Option<i64> = tx.get("t1")?;
                tx.set("t2", &n.unwrap_or(0));
                Ok::<_, kvdb::Error>(())
            })
            .unwrap();
        let refused = session.transaction(&["t1"], |_| Err::<(), _>(Refused(None)));
        assert!(matches!(refused, Err(Refused(None))));
    });
    let spans = capture.spans("transaction");
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert_eq!(spans[0].field("db.operation.name"), "MULTI");
    assert_eq!(spans[0].field("kvdb.keys"), "2");
    assert_eq!(spans[0].get("error.type"), None, "{:?}", spans[0]);
    assert_eq!(spans[1].field("otel.status_code"), "ERROR");
    assert_eq!(spans[1].field("error.type"), "body");
    // The reads inside are operations of their own, not spans of the transaction's kind.
    assert!(
        capture.spans("get").is_empty(),
        "transaction reads are not session ops"
    );
    capture.assert_no_password();
}

#[test]
fn an_async_transaction_is_one_span() {
    let (_server, session) = setup();
    let capture = capture(false, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            session
                .aio()
                .transaction(&["t"], |tx| {
                    Box::pin(async move {
                        tx.set("t", &1);
                        Ok::<_, kvdb::Error>(())
                    })
                })
                .await
                .unwrap();
        });
    });
    let tx = capture.one("transaction");
    assert_eq!(tx.field("db.operation.name"), "MULTI");
    assert_eq!(tx.field("kvdb.keys"), "1");
}

#[test]
fn a_retry_is_an_event_inside_the_operations_span() {
    let port = kvdb::testing::free_port().unwrap();
    let session = KVDBClient::get_session(
        SessionOptions::new(unique("trace-retry")).url(format!("redis://127.0.0.1:{port}")),
    )
    .unwrap();
    let capture = capture(false, || {
        assert!(session.ping().unwrap_err().is_connection_error());
    });
    let ping = capture.one("ping");
    assert_eq!(ping.field("error.type"), "Connect");
    let retries = capture.events("kvdb.retry");
    assert_eq!(
        retries.len(),
        1,
        "one resend (2 attempts by default): {retries:?}"
    );
    let (op, fields) = &retries[0];
    assert_eq!(op.as_deref(), Some("ping"), "inside the ping span");
    assert_eq!(fields["kvdb.attempt"], "2");
    assert_eq!(fields["error.type"], "Connect");
}

#[test]
fn a_connection_the_server_closed_is_an_event_and_never_an_error() {
    let (server, session) = setup();
    session.ping().unwrap();
    let mut admin = kvdb_tests::admin(&server.url());
    redis::cmd("AUTH").arg(PW).exec(&mut admin).unwrap();
    kvdb_tests::kill_clients(&mut admin);
    let capture = capture(false, || session.ping().unwrap());
    let stale = capture.events("kvdb.stale");
    assert_eq!(stale.len(), 1, "{stale:?}");
    assert_eq!(stale[0].0.as_deref(), Some("ping"));
    assert_eq!(capture.events("kvdb.connect").len(), 1, "a new connection");
    assert!(
        capture.events("kvdb.retry").is_empty(),
        "nothing was resent"
    );
    capture.assert_no_password();
}

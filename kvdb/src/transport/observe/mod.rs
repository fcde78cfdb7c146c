//! Tracing spans and metrics for every operation (features `tracing` and `metrics`): the one
//! wrapper both drivers put around what they run. The span and metric names are listed in
//! `docs/observability.md`.
//!
//! With both features off every item here is an empty `#[inline]` shell around the operation
//! (no field, no clock read, no allocation), so the drivers read the same either way.

#[cfg(feature = "async")]
use std::future::Future;

use redis::Value;

#[cfg(feature = "tracing")]
use self::fields::{error_type, key_enabled, record_reply, record_request};
#[cfg(feature = "metrics")]
use self::fields::{reply_bytes, request_bytes};
use super::{Conversation, Op, Request, Step};
use crate::error::Result;

mod events;
#[cfg(any(feature = "tracing", feature = "metrics"))]
mod fields;

pub(crate) use events::{checkout, connected, retry, stale};

/// What the driver is told about the operation it runs: its retry safety (from the marker
/// list of its `session_methods!` entry; `once` unless said otherwise), and, for spans and
/// metrics, the session method's name and the session's name (absent when no feature needs
/// them).
#[derive(Clone, Copy)]
pub(crate) struct OpInfo<'a> {
    safety: crate::retry::Safety,
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    name: &'static str,
    #[cfg(any(feature = "tracing", feature = "metrics"))]
    session: &'a std::sync::Arc<str>,
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    _session: std::marker::PhantomData<&'a str>,
}

impl<'a> OpInfo<'a> {
    #[inline(always)]
    #[cfg_attr(
        not(any(feature = "tracing", feature = "metrics")),
        allow(unused_variables)
    )]
    pub(crate) fn new(name: &'static str, session: &'a std::sync::Arc<str>) -> Self {
        OpInfo {
            safety: crate::retry::Safety::Once,
            #[cfg(any(feature = "tracing", feature = "metrics"))]
            name,
            #[cfg(any(feature = "tracing", feature = "metrics"))]
            session,
            #[cfg(not(any(feature = "tracing", feature = "metrics")))]
            _session: std::marker::PhantomData,
        }
    }

    /// The same, for an operation that declares `safety` (whether it may be sent again after
    /// a lost connection).
    #[inline(always)]
    pub(crate) fn with_safety(mut self, safety: crate::retry::Safety) -> Self {
        self.safety = safety;
        self
    }

    /// What the operation declares about being sent twice.
    #[inline(always)]
    pub(crate) fn safety(&self) -> crate::retry::Safety {
        self.safety
    }
}

/// One operation being observed: its span and its start time.
pub(crate) struct Probe<'a> {
    #[cfg(feature = "metrics")]
    info: OpInfo<'a>,
    #[cfg(feature = "metrics")]
    server: &'a str,
    #[cfg(all(feature = "tracing", not(feature = "metrics")))]
    _info: std::marker::PhantomData<&'a str>,
    #[cfg(feature = "metrics")]
    started: std::time::Instant,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    _info: std::marker::PhantomData<&'a str>,
}

/// Runs a sync [`Op`] inside its span: `run` gets the op wrapped so that its reply is seen.
#[inline(always)]
pub(crate) fn sync_op<O: Op>(
    info: OpInfo<'_>,
    server: &str,
    op: O,
    run: impl FnOnce(Watched<O>) -> Result<O::Output>,
) -> Result<O::Output> {
    let probe = Probe::start(info, server);
    probe.request(&op.request());
    let op = probe.watch(op);
    let result = probe.in_scope(|| run(op));
    probe.finish(result)
}

/// Runs a sync [`Conversation`] inside its span.
#[inline(always)]
pub(crate) fn sync_conversation<C: Conversation>(
    info: OpInfo<'_>,
    server: &str,
    conv: C,
    run: impl FnOnce(Watched<C>) -> Result<C::Output>,
) -> Result<C::Output> {
    let probe = Probe::start(info, server);
    let conv = probe.watch(conv);
    let result = probe.in_scope(|| run(conv));
    probe.finish(result)
}

/// Runs an async [`Op`] inside its span.
#[cfg(feature = "async")]
#[inline(always)]
pub(crate) async fn aio_op<O: Op, F: Future<Output = Result<O::Output>>>(
    info: OpInfo<'_>,
    server: &str,
    op: O,
    run: impl FnOnce(Watched<O>) -> F,
) -> Result<O::Output> {
    let probe = Probe::start(info, server);
    probe.request(&op.request());
    let op = probe.watch(op);
    let result = probe.instrument(run(op)).await;
    probe.finish(result)
}

/// Runs an async [`Conversation`] inside its span.
#[cfg(feature = "async")]
#[inline(always)]
pub(crate) async fn aio_conversation<C: Conversation, F: Future<Output = Result<C::Output>>>(
    info: OpInfo<'_>,
    server: &str,
    conv: C,
    run: impl FnOnce(Watched<C>) -> F,
) -> Result<C::Output> {
    let probe = Probe::start(info, server);
    let conv = probe.watch(conv);
    let result = probe.instrument(run(conv)).await;
    probe.finish(result)
}

/// Runs a sync transaction (body runs, `WATCH`, `EXEC` on a reserved connection, driven by
/// the caller) inside one span: `keys` is the number of watched keys. The outer `Err` is
/// kvdb's own failure; the inner one the body's, whose type only the caller knows.
#[inline(always)]
pub(crate) fn sync_scoped<T, E>(
    info: OpInfo<'_>,
    server: &str,
    keys: usize,
    run: impl FnOnce() -> Result<std::result::Result<T, E>>,
) -> Result<std::result::Result<T, E>> {
    let probe = Probe::start(info, server);
    probe.scoped(keys);
    let result = probe.in_scope(run);
    probe.finish_scoped(result)
}

/// [`sync_scoped`] for an async transaction.
#[cfg(feature = "async")]
#[inline(always)]
pub(crate) async fn aio_scoped<T, E, F>(
    info: OpInfo<'_>,
    server: &str,
    keys: usize,
    run: F,
) -> Result<std::result::Result<T, E>>
where
    F: Future<Output = Result<std::result::Result<T, E>>>,
{
    let probe = Probe::start(info, server);
    probe.scoped(keys);
    let result = probe.instrument(run).await;
    probe.finish_scoped(result)
}

/// How a run ended, for the span and the metrics.
#[cfg_attr(not(any(feature = "tracing", feature = "metrics")), allow(dead_code))]
enum Outcome<'e> {
    Ok,
    /// kvdb's own error.
    Failed(&'e crate::Error),
    /// A transaction body's error (of the caller's type).
    Body,
}

impl<'a> Probe<'a> {
    #[inline(always)]
    fn finish<T>(self, result: Result<T>) -> Result<T> {
        self.end(match &result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Failed(e),
        });
        result
    }

    #[inline(always)]
    fn finish_scoped<T, E>(
        self,
        result: Result<std::result::Result<T, E>>,
    ) -> Result<std::result::Result<T, E>> {
        self.end(match &result {
            Ok(Ok(_)) => Outcome::Ok,
            Ok(Err(_)) => Outcome::Body,
            Err(e) => Outcome::Failed(e),
        });
        result
    }
}

/// An op or conversation whose replies are shown to the span (stored format, bytes) before
/// being decoded.
pub(crate) struct Watched<T> {
    inner: T,
    #[cfg(feature = "tracing")]
    span: tracing::Span,
    /// Round trips so far, and whether the first command was recorded (conversations).
    #[cfg(feature = "tracing")]
    sent: u32,
    #[cfg(feature = "metrics")]
    labels: [(&'static str, std::sync::Arc<str>); 1],
}

impl<O: Op> Op for Watched<O> {
    type Output = O::Output;

    #[inline(always)]
    fn request(&self) -> Request<'_> {
        self.inner.request()
    }

    #[inline(always)]
    fn decode(&mut self, reply: Value) -> Result<O::Output> {
        self.saw(&reply);
        self.inner.decode(reply)
    }

    #[inline(always)]
    fn local_reply(&mut self) -> Option<Value> {
        self.inner.local_reply()
    }

    #[inline(always)]
    fn safety(&self) -> Option<crate::retry::Safety> {
        self.inner.safety()
    }
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }
}

impl<C: Conversation> Conversation for Watched<C> {
    type Output = C::Output;

    #[inline(always)]
    fn needs_dedicated_connection(&self) -> bool {
        self.inner.needs_dedicated_connection()
    }

    #[inline(always)]
    fn read_only(&self) -> bool {
        self.inner.read_only()
    }

    #[inline(always)]
    fn step(&mut self, reply: Option<redis::RedisResult<Value>>) -> Result<Step<C::Output>> {
        if let Some(Ok(v)) = &reply {
            self.saw(v);
        }
        let step = self.inner.step(reply)?;
        #[cfg(feature = "tracing")]
        if let Step::Send(cmd) = &step {
            self.sent_request(&Request::Cmd(cmd));
        } else if let Step::SendPipe(pipe) = &step {
            self.sent_request(&Request::Pipe(pipe));
        }
        Ok(step)
    }

    #[inline(always)]
    fn restartable(&self) -> Option<crate::retry::Safety> {
        self.inner.restartable()
    }

    #[inline(always)]
    fn rewind(&mut self) {
        self.inner.rewind()
    }
}

#[cfg(not(any(feature = "tracing", feature = "metrics")))]
impl<'a> Probe<'a> {
    #[inline(always)]
    fn start(_: OpInfo<'a>, _: &'a str) -> Self {
        Probe {
            _info: std::marker::PhantomData,
        }
    }
    #[inline(always)]
    fn request(&self, _: &Request<'_>) {}
    #[inline(always)]
    fn watch<T>(&self, inner: T) -> Watched<T> {
        Watched { inner }
    }
    #[inline(always)]
    fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        f()
    }
    #[cfg(feature = "async")]
    #[inline(always)]
    fn instrument<F: Future>(&self, f: F) -> F {
        f
    }
    #[inline(always)]
    fn scoped(&self, _: usize) {}
    #[inline(always)]
    fn end(self, _: Outcome<'_>) {}
}

#[cfg(not(any(feature = "tracing", feature = "metrics")))]
impl<T> Watched<T> {
    #[inline(always)]
    fn saw(&self, _: &Value) {}
}

#[cfg(any(feature = "tracing", feature = "metrics"))]
impl<'a> Probe<'a> {
    fn start(info: OpInfo<'a>, server: &'a str) -> Self {
        Probe {
            #[cfg(feature = "metrics")]
            info,
            #[cfg(feature = "metrics")]
            server,
            #[cfg(not(feature = "metrics"))]
            _info: std::marker::PhantomData,
            #[cfg(feature = "metrics")]
            started: std::time::Instant::now(),
            #[cfg(feature = "tracing")]
            span: tracing::info_span!(
                target: "kvdb",
                "kvdb.op",
                otel.name = info.name,
                otel.kind = "client",
                otel.status_code = tracing::field::Empty,
                db.system = "redis",
                db.system.name = "redis",
                db.operation.name = tracing::field::Empty,
                db.operation.batch.size = tracing::field::Empty,
                kvdb.operation = info.name,
                kvdb.session = &**info.session,
                server.address = server,
                kvdb.keys = tracing::field::Empty,
                kvdb.key = tracing::field::Empty,
                kvdb.round_trips = tracing::field::Empty,
                kvdb.stored.format = tracing::field::Empty,
                kvdb.stored.codec = tracing::field::Empty,
                kvdb.stored.compression = tracing::field::Empty,
                kvdb.stored.tag = tracing::field::Empty,
                kvdb.stored.version = tracing::field::Empty,
                kvdb.stored.bytes = tracing::field::Empty,
                error.type = tracing::field::Empty,
                error.message = tracing::field::Empty,
            ),
        }
    }

    /// Records what an op sends: command, key count (and the key when enabled), bytes.
    fn request(&self, request: &Request<'_>) {
        #[cfg(feature = "tracing")]
        if !self.span.is_disabled() {
            record_request(&self.span, request);
        }
        #[cfg(feature = "metrics")]
        metrics::counter!("kvdb.bytes.written", "session" => self.info.session.clone())
            .increment(request_bytes(request));
    }

    fn watch<T>(&self, inner: T) -> Watched<T> {
        Watched {
            inner,
            #[cfg(feature = "tracing")]
            span: self.span.clone(),
            #[cfg(feature = "tracing")]
            sent: 0,
            #[cfg(feature = "metrics")]
            labels: [("session", self.info.session.clone())],
        }
    }

    fn in_scope<T>(&self, f: impl FnOnce() -> T) -> T {
        #[cfg(feature = "tracing")]
        return self.span.in_scope(f);
        #[cfg(not(feature = "tracing"))]
        f()
    }

    /// `f`, entering the span whenever it is polled (no extra state machine: deeply nested
    /// futures stay within the compiler's layout depth).
    #[cfg(all(feature = "async", feature = "tracing"))]
    fn instrument<F: Future>(&self, f: F) -> tracing::instrument::Instrumented<F> {
        tracing::Instrument::instrument(f, self.span.clone())
    }

    #[cfg(all(feature = "async", not(feature = "tracing")))]
    fn instrument<F: Future>(&self, f: F) -> F {
        f
    }

    /// Records what a scoped run (a transaction) is about: `MULTI` on `keys` watched keys.
    fn scoped(&self, keys: usize) {
        #[cfg(feature = "tracing")]
        {
            self.span.record("db.operation.name", "MULTI");
            self.span.record("kvdb.keys", keys);
        }
        #[cfg(not(feature = "tracing"))]
        let _ = keys;
    }

    /// Records the outcome on the span and in the metrics.
    fn end(self, outcome: Outcome<'_>) {
        #[cfg(feature = "tracing")]
        if !matches!(outcome, Outcome::Ok) && !self.span.is_disabled() {
            self.span.record("otel.status_code", "ERROR");
            match &outcome {
                Outcome::Failed(e) => {
                    self.span.record("error.type", error_type(e).as_str());
                    if key_enabled() {
                        self.span
                            .record("error.message", tracing::field::display(e));
                    }
                }
                _ => {
                    self.span.record("error.type", "body");
                }
            }
        }
        #[cfg(feature = "metrics")]
        {
            let op = self.info.name;
            let session = self.info.session;
            let label = match outcome {
                Outcome::Ok => "ok",
                Outcome::Failed(_) | Outcome::Body => "error",
            };
            metrics::counter!("kvdb.operations", "operation" => op,
                "session" => session.clone(), "outcome" => label)
            .increment(1);
            metrics::histogram!("kvdb.operation.duration", "operation" => op,
                "session" => session.clone())
            .record(self.started.elapsed().as_secs_f64());
            if let Outcome::Failed(e) = outcome
                && e.is_connection_error()
            {
                metrics::counter!("kvdb.connection.errors",
                    "server" => self.server.to_owned(), "session" => session.clone())
                .increment(1);
            }
        }
    }
}

#[cfg(any(feature = "tracing", feature = "metrics"))]
impl<T> Watched<T> {
    /// A reply arrived: its stored bytes (and, on the span, the stored format).
    fn saw(&self, reply: &Value) {
        #[cfg(feature = "tracing")]
        if !self.span.is_disabled() {
            record_reply(&self.span, reply);
        }
        #[cfg(feature = "metrics")]
        {
            let bytes = reply_bytes(reply);
            if bytes > 0 {
                metrics::counter!("kvdb.bytes.read", &self.labels).increment(bytes);
            }
        }
    }

    #[cfg(feature = "tracing")]
    fn sent_request(&mut self, request: &Request<'_>) {
        self.sent += 1;
        if self.span.is_disabled() {
            return;
        }
        if self.sent == 1 {
            record_request(&self.span, request);
        }
        self.span.record("kvdb.round_trips", self.sent);
    }
}

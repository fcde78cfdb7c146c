//! What the drivers report about their connections, outside any one operation's outcome:
//! pool checkouts, retries, connections opened, and idle ones found closed. Each is an event
//! (inside the span of the operation that caused it) and a metric; with both features off,
//! an empty `#[inline]` function.

#[cfg(feature = "tracing")]
use super::fields::error_type;

/// A sync checkout took `waited` (metric `kvdb.pool.wait`).
#[cfg(not(any(feature = "tracing", feature = "metrics")))]
#[inline(always)]
pub(crate) fn checkout(_: &str, _: std::time::Duration) {}

/// A sync checkout took `waited`.
#[cfg(any(feature = "tracing", feature = "metrics"))]
pub(crate) fn checkout(server: &str, waited: std::time::Duration) {
    #[cfg(feature = "metrics")]
    {
        metrics::counter!("kvdb.pool.checkouts", "server" => server.to_owned()).increment(1);
        metrics::histogram!("kvdb.pool.wait", "server" => server.to_owned())
            .record(waited.as_secs_f64());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (server, waited);
}

/// A request that failed at the connection level is sent again: attempt `attempt` (2 for
/// the first resend) after `wait`. An event inside the operation's span, and the metric
/// `kvdb.retries`.
#[inline]
pub(crate) fn retry(server: &str, attempt: u32, wait: std::time::Duration, error: &crate::Error) {
    #[cfg(feature = "tracing")]
    tracing::event!(
        target: "kvdb",
        tracing::Level::INFO,
        kvdb.attempt = attempt,
        kvdb.retry.wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
        error.type = error_type(error).as_str(),
        "kvdb.retry: sending the request again after a connection failure"
    );
    #[cfg(feature = "metrics")]
    metrics::counter!("kvdb.retries", "server" => server.to_owned()).increment(1);
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = (server, attempt, wait, error);
    #[cfg(all(feature = "metrics", not(feature = "tracing")))]
    let _ = (attempt, wait, error);
    #[cfg(all(feature = "tracing", not(feature = "metrics")))]
    let _ = server;
}

/// A connection to `server` was opened (an event inside the span of the operation that
/// needed it, and the metric `kvdb.connections.opened`).
#[inline]
pub(crate) fn connected(server: &dyn std::fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::event!(target: "kvdb", tracing::Level::DEBUG, server.address = %server, "kvdb.connect: opened a connection");
    #[cfg(feature = "metrics")]
    metrics::counter!("kvdb.connections.opened", "server" => server.to_string()).increment(1);
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = server;
}

/// An idle connection that the server had closed was found before use and dropped (an event,
/// and the metric `kvdb.connections.stale`).
#[inline]
pub(crate) fn stale(server: &dyn std::fmt::Display) {
    #[cfg(feature = "tracing")]
    tracing::event!(target: "kvdb", tracing::Level::INFO, server.address = %server,
        "kvdb.stale: dropped an idle connection the server had closed");
    #[cfg(feature = "metrics")]
    metrics::counter!("kvdb.connections.stale", "server" => server.to_string()).increment(1);
    #[cfg(not(any(feature = "tracing", feature = "metrics")))]
    let _ = server;
}

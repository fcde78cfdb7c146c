//! A slow function made fast: `cargo run --example caching`.
//!
//! Times a 300 ms "query" uncached, then through `session.get_or_set_with`, then through
//! `#[kvdb::cached]`; shows 32 threads missing one key at once sharing one computation, a
//! typed `KvMap` with a field TTL, and invalidation.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use kvdb::cache::CacheOptions;
use kvdb::{KVDBClient, Serializer, SessionOptions};
use kvdb_examples::{server, step};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Report {
    customer: u64,
    total_cents: u64,
    lines: Vec<String>,
}

static QUERIES: AtomicU32 = AtomicU32::new(0);

/// The slow part of the service: a report that takes 300 ms to build.
fn build_report(customer: u64) -> Report {
    QUERIES.fetch_add(1, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(300));
    Report {
        customer,
        total_cents: customer * 1_250,
        lines: vec![format!("{customer} × widget")],
    }
}

/// The same function, cached by the macro: the key is `_kvc_:reports:report:<customer>`.
#[kvdb::cached(
    session = "caching-example",
    ttl = "5m",
    namespace = "reports",
    key = "report:{customer}"
)]
fn cached_report(customer: u64) -> Report {
    build_report(customer)
}

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let v = f();
    println!("  {label:<44} {:>9.2} ms", t.elapsed().as_secs_f64() * 1e3);
    v
}

fn main() -> Result<(), kvdb::Error> {
    let server = server();
    let session = KVDBClient::get_session(
        SessionOptions::new("caching-example")
            .url(&server.url)
            .serializer(Serializer::Json),
    )?;
    let run = std::process::id();
    let cache = session.cache(
        CacheOptions::new()
            .namespace(format!("example-{run}"))
            .ttl(Duration::from_secs(300))
            .jitter(0.1),
    )?;

    step(1, "Uncached: every call pays for the query");
    for _ in 0..2 {
        timed("build_report(7)", || build_report(7));
    }

    step(
        2,
        "session.cache(..).get_or_set_with: the first call computes, the rest hit",
    );
    for i in 0..3 {
        let label = if i == 0 {
            "miss (computes and stores)"
        } else {
            "hit"
        };
        timed(label, || {
            cache.get_or_set_with("report:7", || build_report(7))
        })?;
    }

    step(3, "#[kvdb::cached] on the function itself");
    let customer = u64::from(run);
    for i in 0..3 {
        let label = if i == 0 {
            "cached_report: miss"
        } else {
            "cached_report: hit"
        };
        timed(label, || cached_report(customer));
    }

    step(4, "A stampede: 32 threads miss one key at once");
    let before = QUERIES.load(Ordering::SeqCst);
    timed("32 concurrent callers, one cold key", || {
        std::thread::scope(|s| {
            for _ in 0..32 {
                s.spawn(|| {
                    cache
                        .get_or_set_with("report:8", || build_report(8))
                        .map(|_| ())
                });
            }
        });
    });
    println!(
        "  queries run for those 32 callers: {}",
        QUERIES.load(Ordering::SeqCst) - before
    );

    step(5, "Invalidation");
    println!(
        "  invalidate(\"report:7\") -> {}",
        cache.invalidate("report:7")?
    );
    timed("after invalidation (computes again)", || {
        cache.get_or_set_with("report:7", || build_report(7))
    })?;
    println!(
        "  invalidate_all() removed {} entries",
        cache.invalidate_all()?
    );

    step(6, "A typed map with a per-field TTL");
    let prices = session.map::<String, u64>(&format!("example-{run}:prices"));
    prices.insert(&"widget".to_string(), &1_250)?;
    prices.insert(&"gadget".to_string(), &990)?;
    prices.expire(&"gadget".to_string(), Duration::from_secs(60))?;
    println!("  ttl mode on this server: {:?}", prices.ttl_mode()?);
    println!("  widget -> {:?}", prices.get(&"widget".to_string())?);
    println!("  gadget ttl -> {:?}", prices.ttl(&"gadget".to_string())?);
    let bumped = prices.update(&"widget".to_string(), |p| p.map(|p| p + 10))?;
    println!("  widget after a compare-and-set update -> {bumped:?}");
    prices.clear()?;

    let stats = kvdb::cache::stats();
    println!(
        "\nThis process: {} hits, {} computed, {} waited for another caller.",
        stats.hits, stats.computed, stats.waited
    );
    Ok(())
}

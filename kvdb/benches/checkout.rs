//! What a sync call pays to get a pooled connection: the pool's lock and the check that an
//! idle connection is still open (a non-blocking peek at its socket, no round trip), against
//! a `PING` round trip on loopback for scale. Starts its own redis-server.
//!
//! `cargo bench -p kvdb --features testing --bench checkout`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kvdb::testing::{TestServer, checkout_and_return};
use kvdb::{KVDBClient, SessionOptions};

fn checkout(c: &mut Criterion) {
    let server = TestServer::start().expect("redis-server for the checkout bench");
    let session = KVDBClient::get_session(SessionOptions::new("bench-checkout").url(server.url()))
        .expect("valid options");
    session.ping().expect("the server answers");
    let mut g = c.benchmark_group("pool");
    g.bench_function("checkout + idle check + return", |b| {
        b.iter(|| checkout_and_return(black_box(&session)).unwrap())
    });
    g.bench_function("getpid system call (for scale)", |b| {
        b.iter(|| black_box(std::process::id()))
    });
    g.bench_function("PING round trip (for scale)", |b| {
        b.iter(|| session.ping().unwrap())
    });
    g.finish();
}

criterion_group!(benches, checkout);
criterion_main!(benches);

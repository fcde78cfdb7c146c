//! Blocking workloads: SET+GET pairs and model batches, through (a) raw redis-rs on
//! pre-encoded bytes, (b) the hand-written serde_json layer, (c) kvdb's typed API.

use std::hint::black_box;

use kvdb::format::{CompressionOptions, Encoder};
use kvdb::redis::{self, Commands};
use kvdb::{Compression, KVDBClient, Serializer, Session, SessionOptions};

use crate::layer::JsonCodec;
use crate::model::{Customer, KEYS, customer, plain_key};
use crate::stats::{Rounds, Sample, measure, order};

/// Runs the three clients' round functions `rounds` times, alternating, after one warm-up
/// round each. Each call of a round function performs `units` units of work.
pub(crate) fn alternate(rounds: usize, units: u64, f: &mut [&mut dyn FnMut(); 3]) -> Rounds {
    for i in order(0) {
        f[i]();
    }
    let mut out = Rounds::default();
    for r in 0..rounds {
        let mut s = [Sample {
            wall_ns: 0.0,
            cpu_ns: None,
        }; 3];
        for i in order(r) {
            s[i] = measure(units, &mut *f[i]);
        }
        out.rounds.push(s);
    }
    out
}

pub(crate) struct Env {
    pub(crate) url: String,
    pub(crate) rounds: usize,
    /// SET+GET pairs per client per round.
    pub(crate) pairs: u64,
    /// Batches of 100 per client per round.
    pub(crate) batches: u64,
}

pub(crate) fn session(url: &str, compression: Compression) -> Session {
    KVDBClient::get_session(
        SessionOptions::new(format!("bench-{compression}"))
            .url(url)
            .serializer(Serializer::Json)
            .compression(compression),
    )
    .expect("session")
}

fn connection(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connection")
}

/// The bytes kvdb stores for `value` with `compression` (what client (a) sends as is).
pub(crate) fn kvdb_bytes(value: &Customer, compression: Compression, model: bool) -> Vec<u8> {
    let enc = Encoder::new(Serializer::Json).with_compression(CompressionOptions::new(compression));
    let mut out = Vec::new();
    let tag = model.then_some(("bench.Customer", 1));
    enc.encode_into(value, tag, &mut out).expect("encode");
    out
}

// One SET+GET pair per client, each its own function so that a profiler (callgrind) counts
// each client's instructions apart.

#[inline(never)]
fn pair_raw(con: &mut redis::Connection, key: &str, bytes: &[u8]) {
    let () = con.set(key, bytes).expect("SET");
    let got: Option<Vec<u8>> = con.get(key).expect("GET");
    black_box(got);
}

#[inline(never)]
fn pair_layer(con: &mut redis::Connection, codec: &mut JsonCodec, key: &str, value: &Customer) {
    let () = con.set(key, codec.encode(value)).expect("SET");
    let got: Option<Vec<u8>> = con.get(key).expect("GET");
    black_box(got.map(|g| codec.decode::<Customer>(&g)));
}

#[inline(never)]
fn pair_kvdb(s: &Session, key: &str, value: &Customer) {
    s.set(key, value).expect("set");
    black_box(s.get::<Customer>(key).expect("get"));
}

#[inline(never)]
fn pair_model_layer(con: &mut redis::Connection, codec: &mut JsonCodec, v: &Customer) {
    let key = format!("bench:cust:{}", v.id);
    let () = con.set(&key, codec.encode(v)).expect("SET");
    let key = format!("bench:cust:{}", v.id);
    let got: Option<Vec<u8>> = con.get(&key).expect("GET");
    black_box(got.map(|g| codec.decode::<Customer>(&g)));
}

#[inline(never)]
fn pair_model_kvdb(s: &Session, v: &Customer) {
    s.set_model(v).expect("set_model");
    black_box(s.get_model::<Customer>(&v.id).expect("get_model"));
}

/// `set` + `get` of the customer under 1000 keys.
pub(crate) fn set_get(env: &Env, compression: Compression) -> Rounds {
    let value = customer(7);
    let bytes = kvdb_bytes(&value, compression, false);
    let keys: Vec<String> = (0..KEYS).map(plain_key).collect();
    let n = env.pairs;

    let mut raw = connection(&env.url);
    let mut ia = 0usize;
    let mut a = || {
        for _ in 0..n {
            let k = &keys[ia % keys.len()];
            ia += 1;
            pair_raw(&mut raw, k, &bytes);
        }
    };

    let mut con_b = connection(&env.url);
    let mut codec = JsonCodec::new(compression);
    let mut ib = 0usize;
    let mut b = || {
        for _ in 0..n {
            let k = &keys[ib % keys.len()];
            ib += 1;
            pair_layer(&mut con_b, &mut codec, k, &value);
        }
    };

    let s = session(&env.url, compression);
    let mut ic = 0usize;
    let mut c = || {
        for _ in 0..n {
            let k = &keys[ic % keys.len()];
            ic += 1;
            pair_kvdb(&s, k, &value);
        }
    };
    alternate(env.rounds, n, &mut [&mut a, &mut b, &mut c])
}

/// `set_model` + `get_model` of 1000 customers (keys `bench:cust:{id}`).
pub(crate) fn models(env: &Env, compression: Compression) -> Rounds {
    let values: Vec<Customer> = (0..KEYS).map(customer).collect();
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|v| kvdb_bytes(v, compression, true))
        .collect();
    let keys: Vec<String> = (0..KEYS).map(|i| format!("bench:cust:{i}")).collect();
    let n = env.pairs;

    let mut raw = connection(&env.url);
    let mut ia = 0usize;
    let mut a = || {
        for _ in 0..n {
            let i = ia % keys.len();
            ia += 1;
            pair_raw(&mut raw, &keys[i], &bytes[i]);
        }
    };

    let mut con_b = connection(&env.url);
    let mut codec = JsonCodec::new(compression);
    let mut ib = 0usize;
    let mut b = || {
        for _ in 0..n {
            let v = &values[ib % values.len()];
            ib += 1;
            pair_model_layer(&mut con_b, &mut codec, v);
        }
    };

    let s = session(&env.url, compression);
    let mut ic = 0usize;
    let mut c = || {
        for _ in 0..n {
            let v = &values[ic % values.len()];
            ic += 1;
            pair_model_kvdb(&s, v);
        }
    };
    alternate(env.rounds, n, &mut [&mut a, &mut b, &mut c])
}

#[inline(never)]
fn batch_raw(con: &mut redis::Connection, get: bool, keys: &[String], bytes: &[Vec<u8>]) {
    if get {
        let got: Vec<Option<Vec<u8>>> = con.mget(keys).expect("MGET");
        black_box(got);
    } else {
        let mut p = redis::pipe();
        for (k, b) in keys.iter().zip(bytes) {
            p.set(k, &b[..]).ignore();
        }
        let () = p.query(con).expect("pipeline");
    }
}

#[inline(never)]
fn batch_layer(con: &mut redis::Connection, get: bool, values: &[Customer]) {
    if get {
        let keys: Vec<String> = values
            .iter()
            .map(|v| format!("bench:custb:{}", v.id))
            .collect();
        let got: Vec<Option<Vec<u8>>> = con.mget(&keys).expect("MGET");
        let models: Vec<Option<Customer>> = got
            .iter()
            .map(|g| {
                g.as_deref()
                    .map(|g| serde_json::from_slice(g).expect("json"))
            })
            .collect();
        black_box(models);
    } else {
        let mut p = redis::pipe();
        for v in values {
            let key = format!("bench:custb:{}", v.id);
            p.set(key, serde_json::to_vec(v).expect("json")).ignore();
        }
        let () = p.query(con).expect("pipeline");
    }
}

#[inline(never)]
fn batch_kvdb(s: &Session, get: bool, values: &[Customer], ids: &[u64]) {
    if get {
        black_box(s.get_models::<Customer>(ids).expect("get_models"));
    } else {
        s.set_models(values).expect("set_models");
    }
}

/// Batches of 100: `set_models` against a pipeline of 100 SETs (`get == false`), or
/// `get_models` against one MGET (`get == true`). The unit is one key.
pub(crate) fn batch(env: &Env, get: bool) -> Rounds {
    const N: usize = 100;
    let values: Vec<Customer> = (0..N as u64).map(|i| customer(5000 + i)).collect();
    let ids: Vec<u64> = values.iter().map(|v| v.id).collect();
    let bytes: Vec<Vec<u8>> = values
        .iter()
        .map(|v| kvdb_bytes(v, Compression::None, true))
        .collect();
    let keys: Vec<String> = ids.iter().map(|i| format!("bench:cust:{i}")).collect();
    let s = session(&env.url, Compression::None);
    s.set_models(&values).expect("prime");
    let batches = env.batches;

    let mut raw = connection(&env.url);
    let mut a = || {
        for _ in 0..batches {
            batch_raw(&mut raw, get, &keys, &bytes);
        }
    };
    // (b) reads what it writes: bare JSON, under keys of its own.
    let mut con_b = connection(&env.url);
    batch_layer(&mut con_b, false, &values);
    let mut b = || {
        for _ in 0..batches {
            batch_layer(&mut con_b, get, &values);
        }
    };
    let mut c = || {
        for _ in 0..batches {
            batch_kvdb(&s, get, &values, &ids);
        }
    };
    alternate(
        env.rounds,
        batches * N as u64,
        &mut [&mut a, &mut b, &mut c],
    )
}

/// Codec only, no I/O: (a) serde_json into a reused buffer + from_slice, (b) `to_vec` +
/// `from_slice`, (c) kvdb's `encode_into` + `decode` (header, plain-value probe). The unit is
/// one encode+decode.
pub(crate) fn envelope(rounds: usize, n: u64) -> Rounds {
    let value = customer(7);
    let bare = serde_json::to_vec(&value).expect("json");
    let enc = Encoder::new(Serializer::Json);
    let ours = enc.encode(&value).expect("encode");
    let mut buf_a = Vec::with_capacity(1024);
    let mut a = || {
        for _ in 0..n {
            buf_a.clear();
            serde_json::to_writer(&mut buf_a, black_box(&value)).expect("json");
            black_box(serde_json::from_slice::<Customer>(black_box(&bare)).expect("json"));
        }
    };
    let mut b = || {
        for _ in 0..n {
            black_box(serde_json::to_vec(black_box(&value)).expect("json"));
            black_box(serde_json::from_slice::<Customer>(black_box(&bare)).expect("json"));
        }
    };
    let mut buf_c = Vec::with_capacity(1024);
    let mut c = || {
        for _ in 0..n {
            buf_c.clear();
            enc.encode_into(black_box(&value), None, &mut buf_c)
                .expect("encode");
            black_box(kvdb::format::decode::<Customer>(black_box(&ours)).expect("decode"));
        }
    };
    alternate(rounds, n, &mut [&mut a, &mut b, &mut c])
}

/// The payload sizes, for the report: JSON, and kvdb's stored bytes per compression.
pub(crate) fn payload_sizes() -> Vec<(String, usize)> {
    let v = customer(7);
    let mut out = vec![(
        "bare JSON".to_owned(),
        serde_json::to_vec(&v).expect("json").len(),
    )];
    for c in crate::COMPRESSIONS {
        out.push((format!("kvdb, {c}"), kvdb_bytes(&v, c, false).len()));
    }
    out
}

//! Codec benchmarks (no I/O): every serializer x compression on a realistic model and on
//! values of 64 B to 1 MiB, and the cost of kvdb's envelope over bare serde_json.
//!
//! `cargo bench -p kvdb --bench codec`

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kvdb::format::{CompressionOptions, Encoder, decode};
use kvdb::{Compression, Serializer};

/// The realistic ~12-field model (nested struct, Vec, map) the comparison harness moves too.
#[path = "compare/model.rs"]
#[allow(dead_code)] // the harness's key helpers
mod model;

use model::Customer;

fn customer() -> Customer {
    model::customer(4242)
}

fn serializers() -> [Serializer; 3] {
    [Serializer::Json, Serializer::Cbor, Serializer::MsgPack]
}

fn compressions() -> [Compression; 5] {
    [
        Compression::None,
        Compression::Zstd,
        Compression::Lz4,
        Compression::Gzip,
        Compression::Zlib,
    ]
}

fn encoder(s: Serializer, c: Compression) -> Encoder {
    Encoder::new(s).with_compression(CompressionOptions {
        min_size: 0,
        ..CompressionOptions::new(c)
    })
}

fn model_matrix(c: &mut Criterion) {
    let value = customer();
    let mut g = c.benchmark_group("model");
    for s in serializers() {
        for comp in compressions() {
            let enc = encoder(s, comp);
            let bytes = enc.encode(&value).unwrap();
            let id = format!("{s}+{comp}");
            g.throughput(Throughput::Bytes(bytes.len() as u64));
            g.bench_with_input(BenchmarkId::new("encode", &id), &enc, |b, enc| {
                let mut out = Vec::with_capacity(1024);
                b.iter(|| {
                    out.clear();
                    enc.encode_into(black_box(&value), None, &mut out).unwrap();
                })
            });
            g.bench_with_input(BenchmarkId::new("decode", &id), &bytes, |b, bytes| {
                b.iter(|| decode::<Customer>(black_box(bytes)).unwrap())
            });
        }
    }
    g.finish();
}

fn sizes(c: &mut Criterion) {
    let mut g = c.benchmark_group("size");
    for size in [64usize, 1024, 64 * 1024, 1024 * 1024] {
        // A list of short strings: compressible, like most real payloads.
        let value: Vec<String> = (0..size / 16).map(|i| format!("item-{i:010}")).collect();
        for comp in compressions() {
            let enc = encoder(Serializer::Json, comp);
            let bytes = enc.encode(&value).unwrap();
            let id = format!("{size}B/{comp}");
            g.throughput(Throughput::Bytes(size as u64));
            g.bench_with_input(BenchmarkId::new("encode", &id), &enc, |b, enc| {
                let mut out = Vec::new();
                b.iter(|| {
                    out.clear();
                    enc.encode_into(black_box(&value), None, &mut out).unwrap();
                })
            });
            g.bench_with_input(BenchmarkId::new("decode", &id), &bytes, |b, bytes| {
                b.iter(|| decode::<Vec<String>>(black_box(bytes)).unwrap())
            });
        }
    }
    g.finish();
}

/// kvdb's envelope (header + plain-value probe) against bare serde_json on the same model.
fn envelope_overhead(c: &mut Criterion) {
    let value = customer();
    let enc = Encoder::new(Serializer::Json);
    let ours = enc.encode(&value).unwrap();
    let bare = serde_json::to_vec(&value).unwrap();
    let mut g = c.benchmark_group("envelope");
    g.bench_function("serde_json encode+decode", |b| {
        let mut out = Vec::with_capacity(1024);
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, black_box(&value)).unwrap();
            black_box(serde_json::from_slice::<Customer>(black_box(&bare)).unwrap());
        })
    });
    g.bench_function("kvdb encode+decode", |b| {
        let mut out = Vec::with_capacity(1024);
        b.iter(|| {
            out.clear();
            enc.encode_into(black_box(&value), None, &mut out).unwrap();
            black_box(decode::<Customer>(black_box(&ours)).unwrap());
        })
    });
    g.finish();
}

criterion_group!(benches, model_matrix, sizes, envelope_overhead);
criterion_main!(benches);

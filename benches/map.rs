//! Workload 3: ordered map of 1,000,000 items of ~100 ns of arithmetic
//! each, results in input order: `pool.map` against rayon's
//! `par_iter().map().collect()` and chunked submission on the others.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use peers::work::item;
use peers::{Join, Pool, Submit};
use rayon::prelude::*;
use std::hint::black_box;

mod peers;

/// Items per submitted chunk on the pools without a map.
const CHUNK: u64 = 10_000;

/// Submits `CHUNK`-item chunks of `0..n`, then concatenates their results
/// in order.
fn chunked<S: Submit>(sub: &S, n: u64) -> Vec<u64> {
    let handles: Vec<_> = (0..n)
        .step_by(CHUNK as usize)
        .map(|lo| {
            let hi = (lo + CHUNK).min(n);
            sub.submit(move || (lo..hi).map(item).collect::<Vec<u64>>())
        })
        .collect();
    let mut out = Vec::with_capacity(n as usize);
    for h in handles {
        out.extend(h.join());
    }
    out
}

fn bench_chunked<S: Submit>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pool: Pool<S>,
    n: u64,
) {
    group.bench_function(format!("{}, chunked", pool.name), |b| {
        b.iter(|| black_box(chunked(&pool.sub, n)))
    });
}

fn ordered_map(c: &mut Criterion) {
    let n = peers::measure::scaled(1_000_000) as u64;
    let workers = peers::measure::cpus();
    let mut group = c.benchmark_group("ordered_map");
    peers::measure::flat(&mut group);

    let pool = stealpool::ThreadPool::new(workers).unwrap();
    group.bench_function("stealpool map", |b| {
        b.iter(|| {
            let out: Vec<u64> = pool.map(item, 0..n).collect::<Result<_, _>>().unwrap();
            black_box(out)
        })
    });
    group.bench_function("stealpool map, chunk_size 10000", |b| {
        b.iter(|| {
            let out: Vec<u64> = pool
                .map(item, 0..n)
                .chunk_size(CHUNK as usize)
                .collect::<Result<_, _>>()
                .unwrap();
            black_box(out)
        })
    });
    bench_chunked(&mut group, peers::stealpool::new(workers), n);
    let rayon = peers::rayon_spawn::new(workers);
    group.bench_function("rayon par_iter", |b| {
        b.iter(|| {
            let out: Vec<u64> = rayon
                .sub
                .pool()
                .install(|| (0..n).into_par_iter().map(item).collect());
            black_box(out)
        })
    });
    bench_chunked(&mut group, rayon, n);
    bench_chunked(&mut group, peers::simple::new(workers), n);
    bench_chunked(&mut group, peers::threadpool::new(workers), n);
    bench_chunked(&mut group, peers::tokio::spawn(workers), n);
    bench_chunked(&mut group, peers::tokio::blocking(workers), n);
    group.bench_function("sequential", |b| {
        b.iter(|| black_box((0..n).map(item).collect::<Vec<u64>>()))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = ordered_map
}
criterion_main!(benches);

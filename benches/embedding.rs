//! Workload 7: the embedding job of `examples/embedding.rs` at a fixed
//! size: 100,000 short documents turned into 1 KiB hashed bag-of-words
//! vectors, each folded in input order into a checksum by the calling
//! thread. `pool.map` with no chunk size or window given, against the same
//! job fed by hand to the simple shared-queue pool and to `threadpool`
//! (chunks of 256 documents, at most 4 chunks per worker in flight,
//! collected in order), rayon's `par_iter` (collected, then folded) and the
//! sequential loop. Every way's checksum is checked against the loop's.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use peers::embed::{embed, sequential, Checksum, Vector};
use peers::{Join, Pool, Submit};
use rayon::prelude::*;
use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::Arc;

mod peers;

/// Documents per hand-fed chunk, as in the example.
const CHUNK: usize = 256;
/// Hand-fed chunks in flight per worker, as in the example.
const IN_FLIGHT_PER_WORKER: usize = 4;

/// The job fed by hand: chunks of `CHUNK` documents, at most
/// `IN_FLIGHT_PER_WORKER` per worker in flight, folded in order.
fn hand_fed<S: Submit>(sub: &S, workers: usize, corpus: &Arc<Vec<String>>) -> Checksum {
    let mut sum = Checksum(0);
    let mut in_flight = VecDeque::new();
    let mut starts = (0..corpus.len()).step_by(CHUNK);
    loop {
        while in_flight.len() < IN_FLIGHT_PER_WORKER * workers {
            let Some(start) = starts.next() else { break };
            let docs = corpus.clone();
            in_flight.push_back(sub.submit(move || {
                let end = (start + CHUNK).min(docs.len());
                docs[start..end]
                    .iter()
                    .map(|d| embed(d))
                    .collect::<Vec<Vector>>()
            }));
        }
        let Some(oldest) = in_flight.pop_front() else {
            break;
        };
        for v in &oldest.join() {
            sum.add(v);
        }
    }
    sum
}

fn with_map(pool: &stealpool::ThreadPool, corpus: &Arc<Vec<String>>) -> Checksum {
    let docs = corpus.clone();
    let mut sum = Checksum(0);
    for v in pool.map(move |i: usize| embed(&docs[i]), 0..corpus.len()) {
        sum.add(&v.unwrap());
    }
    sum
}

fn with_par_iter(pool: &rayon::ThreadPool, corpus: &[String]) -> Checksum {
    let vectors: Vec<Vector> = pool.install(|| corpus.par_iter().map(|d| embed(d)).collect());
    let mut sum = Checksum(0);
    for v in &vectors {
        sum.add(v);
    }
    sum
}

fn bench_hand_fed<S: Submit>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pool: Pool<S>,
    workers: usize,
    corpus: &Arc<Vec<String>>,
    expected: Checksum,
) {
    assert_eq!(hand_fed(&pool.sub, workers, corpus), expected);
    group.bench_function(format!("{}, hand-fed chunks", pool.name), |b| {
        b.iter(|| black_box(hand_fed(&pool.sub, workers, corpus)))
    });
}

fn embedding(c: &mut Criterion) {
    let docs = peers::measure::scaled(100_000);
    let workers = peers::measure::cpus();
    let corpus = Arc::new(peers::embed::corpus(docs));
    let expected = sequential(&corpus);
    let mut group = c.benchmark_group("embedding");
    peers::measure::flat(&mut group);

    let pool = stealpool::ThreadPool::new(workers).unwrap();
    assert_eq!(with_map(&pool, &corpus), expected);
    group.bench_function("stealpool map", |b| {
        b.iter(|| black_box(with_map(&pool, &corpus)))
    });
    bench_hand_fed(
        &mut group,
        peers::simple::new(workers),
        workers,
        &corpus,
        expected,
    );
    bench_hand_fed(
        &mut group,
        peers::threadpool::new(workers),
        workers,
        &corpus,
        expected,
    );
    let rayon = peers::rayon_spawn::new(workers);
    assert_eq!(with_par_iter(rayon.sub.pool(), &corpus), expected);
    group.bench_function("rayon par_iter", |b| {
        b.iter(|| black_box(with_par_iter(rayon.sub.pool(), &corpus)))
    });
    group.bench_function("sequential", |b| b.iter(|| black_box(sequential(&corpus))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = embedding
}
criterion_main!(benches);

//! Workload 1: tiny-task throughput. One outside thread submits no-op
//! tasks, then collects every result; per-task time is what criterion
//! reports (one iteration = one task, in batches of up to 1,000,000).
//! With the default worker count (one per CPU), 8 and 64 workers.
//! `stealpool submit_all` submits each batch in one `submit_all` call.
//! The `counters` group is the same stealpool run on its own: compare it
//! with a `--cfg stealpool_no_stats` build to see what the stats cost.

use criterion::{criterion_group, criterion_main, Criterion};
use peers::{Join, Pool, Submit};
use std::hint::black_box;
use std::time::{Duration, Instant};

mod peers;

const BATCH: u64 = 1_000_000;

/// Submits `iters` no-op tasks (in batches) and collects every result.
fn tiny<S: Submit>(sub: &S, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    let mut handles = Vec::with_capacity(iters.min(BATCH) as usize);
    while left > 0 {
        let n = left.min(BATCH);
        left -= n;
        let start = Instant::now();
        for i in 0..n {
            handles.push(sub.submit(move || black_box(i)));
        }
        for h in handles.drain(..) {
            black_box(h.join());
        }
        total += start.elapsed();
    }
    total
}

/// The same batches through `ThreadPool::submit_all`, one call each.
fn tiny_submit_all(pool: &stealpool::ThreadPool, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        left -= n;
        let start = Instant::now();
        let handles = pool
            .submit_all((0..n).map(|i| move || black_box(i)))
            .unwrap_or_else(|_| panic!("pool shut down"));
        for h in handles {
            black_box(h.join());
        }
        total += start.elapsed();
    }
    total
}

/// rayon `scope` + `spawn`, each spawn writing its own result slot.
fn tiny_rayon_scope(pool: &rayon::ThreadPool, iters: u64) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(BATCH);
        left -= n;
        let mut out = vec![0u64; n as usize];
        let start = Instant::now();
        pool.scope(|s| {
            for (i, slot) in out.iter_mut().enumerate() {
                s.spawn(move |_| *slot = black_box(i as u64));
            }
        });
        total += start.elapsed();
        black_box(&out);
    }
    total
}

fn bench_peer<S: Submit>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pool: Pool<S>,
) {
    group.bench_function(pool.name, |b| b.iter_custom(|iters| tiny(&pool.sub, iters)));
}

fn tiny_tasks(c: &mut Criterion) {
    for workers in [peers::measure::cpus(), 8, 64] {
        let mut group = c.benchmark_group(format!("tiny_tasks/{workers}w"));
        let stealpool = peers::stealpool::new(workers);
        group.bench_function("stealpool submit_all", |b| {
            b.iter_custom(|iters| tiny_submit_all(&stealpool.sub, iters))
        });
        bench_peer(&mut group, stealpool);
        bench_peer(&mut group, peers::simple::new(workers));
        bench_peer(&mut group, peers::threadpool::new(workers));
        let rayon = peers::rayon_spawn::new(workers);
        group.bench_function("rayon scope", |b| {
            b.iter_custom(|iters| tiny_rayon_scope(rayon.sub.pool(), iters))
        });
        bench_peer(&mut group, rayon);
        bench_peer(&mut group, peers::tokio::spawn(workers));
        bench_peer(&mut group, peers::tokio::blocking(workers));
        if workers == peers::measure::cpus() {
            bench_peer(&mut group, peers::inline::new());
        }
        group.finish();
    }
}

fn counters(c: &mut Criterion) {
    let label = if cfg!(stealpool_no_stats) {
        "stealpool, no stats"
    } else {
        "stealpool, stats"
    };
    let mut group = c.benchmark_group("counters");
    let pool = peers::stealpool::new(peers::measure::cpus());
    group.bench_function(label, |b| b.iter_custom(|iters| tiny(&pool.sub, iters)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = tiny_tasks, counters
}
criterion_main!(benches);

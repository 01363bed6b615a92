//! Workload 6: chained submission. Each task submits the next, 10,000
//! deep; the last one fills a slot the outside thread waits on. Criterion
//! reports time per hop (one iteration = one hop; whole 10,000-deep chains
//! are timed).

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use peers::hop::hop_stealpool;
use peers::slot::{self, Filler};
use peers::{Pool, Submit};
use std::time::{Duration, Instant};

mod peers;

const DEPTH: u64 = 10_000;

fn hop<S: Submit>(sub: S, left: u64, done: Filler<()>) {
    if left == 0 {
        done.fill(());
        return;
    }
    let next = sub.clone();
    drop(sub.submit(move || hop(next, left - 1, done)));
}

/// stealpool's idiom inside a task: the pool lent by `with_current`
/// instead of a cloned handle moved into each hop.
fn chain_stealpool(pool: &stealpool::ThreadPool) {
    let (done, wait) = slot::new();
    drop(pool.submit(move || hop_stealpool(DEPTH - 1, move || done.fill(()))));
    wait.wait();
}

/// One chain of `DEPTH` hops, started from outside.
fn chain<S: Submit>(sub: &S) {
    let (done, wait) = slot::new();
    let first = sub.clone();
    drop(sub.submit(move || hop(first, DEPTH - 1, done)));
    wait.wait();
}

fn per_hop(iters: u64, mut run: impl FnMut()) -> Duration {
    let runs = iters.div_ceil(DEPTH).max(1);
    let start = Instant::now();
    for _ in 0..runs {
        run();
    }
    start
        .elapsed()
        .mul_f64(iters as f64 / (runs * DEPTH) as f64)
}

fn bench_peer<S: Submit>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pool: Pool<S>,
) {
    group.bench_function(pool.name, |b| {
        b.iter_custom(|iters| per_hop(iters, || chain(&pool.sub)))
    });
}

fn chained(c: &mut Criterion) {
    let workers = peers::measure::cpus();
    let mut group = c.benchmark_group("chained_per_hop");
    peers::measure::flat(&mut group);
    let pool = peers::stealpool::new(workers);
    group.bench_function("stealpool with_current", |b| {
        b.iter_custom(|iters| per_hop(iters, || chain_stealpool(&pool.sub)))
    });
    bench_peer(&mut group, pool);
    bench_peer(&mut group, peers::simple::new(workers));
    bench_peer(&mut group, peers::threadpool::new(workers));
    bench_peer(&mut group, peers::rayon_spawn::new(workers));
    bench_peer(&mut group, peers::tokio::spawn(workers));
    bench_peer(&mut group, peers::tokio::blocking(workers));
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = chained
}
criterion_main!(benches);

//! Workload 4: round-trip latency. Submit one task and block on it, 20,000
//! times in a row from outside, on an otherwise idle pool. Criterion
//! reports the mean round trip; a separate pass of 20,000 timed round
//! trips per peer prints p50 and p99.

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use peers::measure::{percentile, report};
use peers::{Join, Pool, Submit};
use std::hint::black_box;
use std::time::{Duration, Instant};

mod peers;

fn round_trip<S: Submit>(sub: &S) {
    black_box(sub.submit(|| black_box(1u64)).join());
}

/// p50 and p99 of `n` single round trips.
fn percentiles<S: Submit>(pool: &Pool<S>, n: usize) {
    let mut samples: Vec<Duration> = (0..n)
        .map(|_| {
            let start = Instant::now();
            round_trip(&pool.sub);
            start.elapsed()
        })
        .collect();
    samples.sort_unstable();
    let (p50, p99) = (percentile(&samples, 50.0), percentile(&samples, 99.0));
    let what = format!("p50 {p50:.2?} p99 {p99:.2?} ({n} round trips)");
    report("round trip", pool.name, &what);
    println!("round_trip/{}: {what}", pool.name);
}

fn bench_peer<S: Submit>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pool: Pool<S>,
    n: usize,
) {
    // Let the pool go idle first, as the workload says.
    std::thread::sleep(Duration::from_millis(50));
    percentiles(&pool, n);
    group.bench_function(pool.name, |b| b.iter(|| round_trip(&pool.sub)));
}

fn latency(c: &mut Criterion) {
    let n = peers::measure::scaled(20_000);
    let workers = peers::measure::cpus();
    let mut group = c.benchmark_group("round_trip");
    bench_peer(&mut group, peers::stealpool::new(workers), n);
    bench_peer(&mut group, peers::simple::new(workers), n);
    bench_peer(&mut group, peers::threadpool::new(workers), n);
    bench_peer(&mut group, peers::rayon_spawn::new(workers), n);
    bench_peer(&mut group, peers::tokio::spawn(workers), n);
    bench_peer(&mut group, peers::tokio::blocking(workers), n);
    bench_peer(&mut group, peers::inline::new(), n);
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = latency
}
criterion_main!(benches);

//! Workload 5: simulated I/O. 2,000 tasks that each sleep 1 ms on 64
//! workers; stealpool consumes them with `as_completed`, the others join
//! them in submission order. The ideal is 2,000 / 64 * 1 ms = 31.25 ms.
//! (The sequential loop would take 2 s an iteration and is left out.)

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use peers::{Join, Pool, Submit};
use std::hint::black_box;
use std::time::Duration;

mod peers;

const WORKERS: usize = 64;
const SLEEP: Duration = Duration::from_millis(1);

fn io_in_order<S: Submit>(sub: &S, n: usize) {
    let handles: Vec<_> = (0..n)
        .map(|i| {
            sub.submit(move || {
                std::thread::sleep(SLEEP);
                i
            })
        })
        .collect();
    for h in handles {
        black_box(h.join());
    }
}

fn bench_peer<S: Submit>(
    group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>,
    pool: Pool<S>,
    n: usize,
) {
    group.bench_function(format!("{}, in order", pool.name), |b| {
        b.iter(|| io_in_order(&pool.sub, n))
    });
}

fn simulated_io(c: &mut Criterion) {
    let n = peers::measure::scaled(2_000);
    let mut group = c.benchmark_group("simulated_io");
    peers::measure::flat(&mut group);
    let pool = stealpool::ThreadPool::new(WORKERS).unwrap();
    group.bench_function("stealpool as_completed", |b| {
        b.iter(|| {
            let handles: Vec<_> = (0..n)
                .map(|i| {
                    pool.submit(move || {
                        std::thread::sleep(SLEEP);
                        i
                    })
                    .unwrap()
                })
                .collect();
            for h in stealpool::as_completed(handles) {
                black_box(h.result().unwrap());
            }
        })
    });
    bench_peer(&mut group, peers::stealpool::new(WORKERS), n);
    bench_peer(&mut group, peers::simple::new(WORKERS), n);
    bench_peer(&mut group, peers::threadpool::new(WORKERS), n);
    bench_peer(&mut group, peers::rayon_spawn::new(WORKERS), n);
    bench_peer(&mut group, peers::tokio::spawn(WORKERS), n);
    bench_peer(&mut group, peers::tokio::blocking(WORKERS), n);
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = simulated_io
}
criterion_main!(benches);

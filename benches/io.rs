//! Workload 5: simulated I/O. 2,000 tasks that each sleep 1 ms on 64
//! workers; stealpool consumes them with `as_completed`, the others join
//! them in submission order. The ideal is 2,000 / 64 * 1 ms = 31.25 ms.
//! (The sequential loop would take 2 s an iteration and is left out.)
//! That ideal is below what any pool can reach: 2,000 is not a multiple of
//! 64, so some thread sleeps 32 times, and a 1 ms sleep overshoots by the
//! timer slack and the wake-up. The `floor` entry measures that: 64 bare
//! threads, started before the timer, claiming sleeps off one atomic counter
//! (no queue, no handles, no results).

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use peers::{Join, Pool, Submit};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
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

/// 64 parked threads; each run releases them on a barrier, they claim
/// sleeps off a counter until `n` are taken, and meet on a second barrier.
struct Floor {
    start: Arc<Barrier>,
    done: Arc<Barrier>,
    next: Arc<AtomicUsize>,
}

impl Floor {
    fn new(n: usize) -> Self {
        let start = Arc::new(Barrier::new(WORKERS + 1));
        let done = Arc::new(Barrier::new(WORKERS + 1));
        let next = Arc::new(AtomicUsize::new(0));
        for _ in 0..WORKERS {
            let (start, done, next) = (start.clone(), done.clone(), next.clone());
            // Detached: they stay parked on `start` until the process exits.
            std::thread::spawn(move || loop {
                start.wait();
                // ORDERING: the counter only hands out indices; the barriers
                // order everything else.
                while next.fetch_add(1, Relaxed) < n {
                    std::thread::sleep(SLEEP);
                }
                done.wait();
            });
        }
        Floor { start, done, next }
    }

    fn run(&self) {
        // ORDERING: reset before the barrier that releases the threads.
        self.next.store(0, Relaxed);
        self.start.wait();
        self.done.wait();
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
    let floor = Floor::new(n);
    group.bench_function("floor: 64 bare threads", |b| b.iter(|| floor.run()));
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

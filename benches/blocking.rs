//! Issue 8's blocking-section bench: 8 workers, 8 tasks that each block
//! 100 ms (submitted first, and all running before the rest arrive), then
//! 10,000 CPU tasks (~5 µs each). Criterion times how long until every CPU
//! task has finished, with the blocking tasks inside `stealpool::blocking`
//! and without it (then the CPU tasks wait behind them), and the CPU tasks
//! alone for reference. Each iteration then waits for the blocking tasks.

use criterion::{criterion_group, criterion_main, Criterion};
use peers::work::spin;
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stealpool::ThreadPool;

mod peers;

const WORKERS: usize = 8;
const BLOCKERS: usize = 8;
const BLOCK: Duration = Duration::from_millis(100);

fn run(pool: &ThreadPool, cpu_tasks: usize, blockers: usize, use_blocking: bool) -> Duration {
    let start = Instant::now();
    let started = Arc::new(AtomicUsize::new(0));
    let blockers: Vec<_> = (0..blockers)
        .map(|_| {
            let started = started.clone();
            pool.submit(move || {
                started.fetch_add(1, SeqCst);
                if use_blocking {
                    stealpool::blocking(|| std::thread::sleep(BLOCK));
                } else {
                    std::thread::sleep(BLOCK);
                }
            })
            .unwrap()
        })
        .collect();
    while started.load(SeqCst) < blockers.len() {
        std::thread::yield_now();
    }
    let cpu: Vec<_> = (0..cpu_tasks as u64)
        .map(|i| {
            pool.submit(move || spin(i, 50 * peers::work::STEPS_100NS))
                .unwrap()
        })
        .collect();
    for h in cpu {
        black_box(h.result().unwrap());
    }
    let took = start.elapsed();
    for h in blockers {
        h.result().unwrap();
    }
    took
}

fn blocking_sections(c: &mut Criterion) {
    let cpu_tasks = peers::measure::scaled(10_000);
    let pool = ThreadPool::builder()
        .max_workers(WORKERS)
        .max_blocking(BLOCKERS)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("blocking_cpu_tasks_done");
    peers::measure::flat(&mut group);
    for (name, blockers, use_blocking) in [
        ("with blocking", BLOCKERS, true),
        ("without blocking", BLOCKERS, false),
        ("cpu tasks alone", 0, false),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| run(&pool, cpu_tasks, blockers, use_blocking))
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = blocking_sections
}
criterion_main!(benches);

//! Workload: a dependency graph, the tile wavefront of examples/graph.rs.
//! A 24 x 24 grid of tiles of about 50 µs each; tile (i, j) needs tiles
//! (i - 1, j) and (i, j - 1). Criterion reports the time of the whole grid.
//!
//! - stealpool continuations: each tile `then` / `when_all` of its
//!   neighbours (`peers::wavefront::continuations`);
//! - stealpool scope: recursive quadrants, each waiting on the quadrant it
//!   submitted (`peers::wavefront::scoped`);
//! - rayon dataflow: the best rayon version we could write. One `scope`;
//!   each tile is a `spawn` that, when done, decrements its two
//!   successors' counters of missing neighbours and spawns any that reach
//!   zero, so a tile starts the moment its inputs exist and no thread ever
//!   waits (no barrier, no blocked join);
//! - rayon diagonals: `par_iter` over each anti-diagonal in turn (a barrier
//!   per diagonal), the version most people write first;
//! - sequential, row by row.
//!
//! Every version's output is checked against the sequential one once.

use criterion::{criterion_group, criterion_main, Criterion};
use peers::wavefront::{self, compute, values};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::AcqRel};
use std::time::Duration;
use stealpool::ThreadPool;

mod peers;

const N: usize = 24;

/// Dataflow on rayon: see the module docs.
fn rayon_dataflow(pool: &rayon::ThreadPool, n: usize, steps: u32) -> Vec<u64> {
    let grid: Vec<AtomicU64> = (0..n * n).map(|_| AtomicU64::new(0)).collect();
    let missing: Vec<AtomicU8> = (0..n * n)
        .map(|at| AtomicU8::new(u8::from(at >= n) + u8::from(at % n > 0)))
        .collect();
    pool.scope(|s| spawn_tile(s, &grid, &missing, n, 0, steps));
    values(&grid)
}

fn spawn_tile<'s>(
    s: &rayon::Scope<'s>,
    grid: &'s [AtomicU64],
    missing: &'s [AtomicU8],
    n: usize,
    at: usize,
    steps: u32,
) {
    s.spawn(move |s| {
        compute(grid, n, at, steps);
        let right = (at % n + 1 < n).then_some(at + 1);
        let down = (at + n < n * n).then_some(at + n);
        for next in [right, down].into_iter().flatten() {
            if missing[next].fetch_sub(1, AcqRel) == 1 {
                spawn_tile(s, grid, missing, n, next, steps);
            }
        }
    });
}

/// One anti-diagonal after another, each in parallel.
fn rayon_diagonals(pool: &rayon::ThreadPool, n: usize, steps: u32) -> Vec<u64> {
    let grid: Vec<AtomicU64> = (0..n * n).map(|_| AtomicU64::new(0)).collect();
    pool.install(|| {
        for d in 0..2 * n - 1 {
            let rows = d.saturating_sub(n - 1)..=d.min(n - 1);
            rows.into_par_iter()
                .for_each(|i| compute(&grid, n, i * n + (d - i), steps));
        }
    });
    values(&grid)
}

fn graph(c: &mut Criterion) {
    let workers = peers::measure::cpus();
    let steps = wavefront::calibrate(Duration::from_micros(50));
    let n = peers::measure::scaled(N).max(2);
    let pool = ThreadPool::new(workers).unwrap();
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .unwrap();
    let expected = wavefront::sequential(n, steps);
    assert_eq!(wavefront::continuations(&pool, n, steps), expected);
    assert_eq!(wavefront::scoped(&pool, n, steps), expected);
    assert_eq!(rayon_dataflow(&rayon, n, steps), expected);
    assert_eq!(rayon_diagonals(&rayon, n, steps), expected);

    let mut group = c.benchmark_group("wavefront_24x24_50us");
    peers::measure::flat(&mut group);
    group.bench_function("stealpool continuations", |b| {
        b.iter(|| wavefront::continuations(&pool, n, steps))
    });
    group.bench_function("stealpool scope", |b| {
        b.iter(|| wavefront::scoped(&pool, n, steps))
    });
    group.bench_function("rayon dataflow", |b| {
        b.iter(|| rayon_dataflow(&rayon, n, steps))
    });
    group.bench_function("rayon diagonals", |b| {
        b.iter(|| rayon_diagonals(&rayon, n, steps))
    });
    group.bench_function("sequential", |b| b.iter(|| wavefront::sequential(n, steps)));
    group.finish();
}

criterion_group! {
    name = benches;
    config = peers::measure::criterion();
    targets = graph
}
criterion_main!(benches);

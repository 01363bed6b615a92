//! The tile wavefront of examples/graph.rs and benches/graph.rs: an `n` x `n`
//! grid of tiles where tile (i, j) needs tiles (i - 1, j) and (i, j - 1), the
//! dependency shape of blocked dynamic programming (sequence alignment, edit
//! distance) and of Gauss-Seidel sweeps. Each tile is `steps` dependent
//! multiply-rotate-xor steps seeded by its two neighbours, so the result
//! checks that every tile saw the right inputs.
//!
//! The stealpool versions: continuations (each tile is `then` or `when_all`
//! of its neighbours: no thread ever blocks), and one scope whose tasks
//! wait on their neighbours' handles (a blocked wait runs the awaited tile
//! or other work instead).

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stealpool::{TaskError, TaskHandle, ThreadPool};

/// One tile's work: `steps` dependent steps from its neighbours' values.
#[inline(never)]
pub(crate) fn tile(up: u64, left: u64, at: usize, steps: u32) -> u64 {
    let x = up ^ left.rotate_left(23) ^ (at as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
    let mut h = black_box(x | 1);
    for _ in 0..steps {
        h = h.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ x;
    }
    h
}

/// Steps of [`tile`] that take about `target` on this machine (the median
/// of a few timed runs).
pub(crate) fn calibrate(target: Duration) -> u32 {
    const PROBE: u32 = 200_000;
    let mut times: Vec<Duration> = (0..5)
        .map(|i| {
            let start = Instant::now();
            black_box(tile(i, 0, 0, PROBE));
            start.elapsed()
        })
        .collect();
    times.sort();
    let per_step = times[2].as_secs_f64() / f64::from(PROBE);
    ((target.as_secs_f64() / per_step) as u32).max(1)
}

/// The grid's values, row-major, read back from atomics.
pub(crate) fn values(grid: &[AtomicU64]) -> Vec<u64> {
    grid.iter().map(|v| v.load(Relaxed)).collect()
}

/// Computes tile `at` of an `n`-wide grid from the neighbours already in
/// `grid`. Relaxed is enough: each tile runs after its neighbours finished,
/// and the pool's hand-over (a queue, a finished task) orders their stores
/// before this load.
pub(crate) fn compute(grid: &[AtomicU64], n: usize, at: usize, steps: u32) {
    let (i, j) = (at / n, at % n);
    let up = if i > 0 { grid[at - n].load(Relaxed) } else { 0 };
    let left = if j > 0 { grid[at - 1].load(Relaxed) } else { 0 };
    grid[at].store(tile(up, left, at, steps), Relaxed);
}

/// Tile after tile, row by row: the reference.
pub(crate) fn sequential(n: usize, steps: u32) -> Vec<u64> {
    let grid: Vec<AtomicU64> = (0..n * n).map(|_| AtomicU64::new(0)).collect();
    for at in 0..n * n {
        compute(&grid, n, at, steps);
    }
    values(&grid)
}

/// A neighbour ended well. Each tile's handle is shared by its two
/// successors: the first to run takes its `()`, the other is told
/// `ResultTaken`, which says it finished too; a real failure is `Err`.
fn finished(outcome: Result<(), TaskError>) {
    match outcome {
        Ok(()) | Err(TaskError::ResultTaken) => {}
        Err(e) => panic!("a neighbour tile failed: {e}"),
    }
}

/// Every tile a continuation of its neighbours: no thread ever waits on a
/// tile, and each is queued the moment its last neighbour finishes.
pub(crate) fn continuations(pool: &ThreadPool, n: usize, steps: u32) -> Vec<u64> {
    let grid: Arc<Vec<AtomicU64>> = Arc::new((0..n * n).map(|_| AtomicU64::new(0)).collect());
    let mut done: Vec<TaskHandle<()>> = Vec::with_capacity(n * n);
    for at in 0..n * n {
        let g = grid.clone();
        let run = move || compute(&g, n, at, steps);
        let handle = match (at / n, at % n) {
            (0, 0) => pool.submit(run).expect("pool is running"),
            (0, _) => done[at - 1].clone().then(move |r| {
                finished(r);
                run()
            }),
            (_, 0) => done[at - n].clone().then(move |r| {
                finished(r);
                run()
            }),
            _ => pool
                .when_all([done[at - n].clone(), done[at - 1].clone()], move |rs| {
                    rs.into_iter().for_each(finished);
                    run()
                })
                .expect("pool is running"),
        };
        done.push(handle);
    }
    done[n * n - 1].wait();
    values(&grid)
}

/// Recursively, in quadrants: the upper-left quadrant first, then the
/// upper-right and lower-left ones in parallel (a scoped task and this
/// thread), then the lower-right one; each quadrant the same way down to
/// single tiles. Tasks borrow the grid, and each waits only on the task it
/// submitted (a waiting worker runs it, or other quadrants meanwhile).
///
/// Why not a scoped task per tile waiting on its neighbours' handles: two
/// tiles share a neighbour, so a worker waiting in one tile may run the
/// other while helping, and that one then waits on the first, which sits
/// below it on the same stack and cannot finish first: a deadlock of the
/// helping wait (DESIGN.md, "Task graphs"). Continuations have no such wait.
pub(crate) fn scoped(pool: &ThreadPool, n: usize, steps: u32) -> Vec<u64> {
    let grid: Vec<AtomicU64> = (0..n * n).map(|_| AtomicU64::new(0)).collect();
    let whole = Quad {
        rows: 0..n,
        cols: 0..n,
    };
    pool.scope(|s| quadrants(s, &grid, n, whole, steps));
    values(&grid)
}

/// A block of tiles.
#[derive(Clone)]
struct Quad {
    rows: std::ops::Range<usize>,
    cols: std::ops::Range<usize>,
}

impl Quad {
    /// Halves: (first, second) along rows, then along columns.
    fn split(&self) -> (Quad, Quad, Quad, Quad) {
        let r = self.rows.start + self.rows.len().div_ceil(2);
        let c = self.cols.start + self.cols.len().div_ceil(2);
        let q = |rows: std::ops::Range<usize>, cols: std::ops::Range<usize>| Quad { rows, cols };
        (
            q(self.rows.start..r, self.cols.start..c),
            q(self.rows.start..r, c..self.cols.end),
            q(r..self.rows.end, self.cols.start..c),
            q(r..self.rows.end, c..self.cols.end),
        )
    }

    fn is_empty(&self) -> bool {
        self.rows.is_empty() || self.cols.is_empty()
    }
}

fn quadrants<'s>(
    s: &'s stealpool::Scope<'s, '_>,
    grid: &'s [AtomicU64],
    n: usize,
    quad: Quad,
    steps: u32,
) {
    if quad.is_empty() {
        return;
    }
    if quad.rows.len() == 1 && quad.cols.len() == 1 {
        compute(grid, n, quad.rows.start * n + quad.cols.start, steps);
        return;
    }
    let (upper_left, upper_right, lower_left, lower_right) = quad.split();
    quadrants(s, grid, n, upper_left, steps);
    // These two need only the upper-left one: in parallel.
    let right = s.submit(move || quadrants(s, grid, n, upper_right, steps));
    quadrants(s, grid, n, lower_left, steps);
    right.wait();
    quadrants(s, grid, n, lower_right, steps);
}

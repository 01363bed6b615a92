//! A dependency graph on the pool: a wavefront over a grid of tiles, where
//! each tile (about 50 µs of arithmetic) needs its upper and left
//! neighbours, the shape of blocked dynamic programming such as sequence
//! alignment. Three ways, checked equal:
//!
//! - continuations: each tile is `then` / `when_all` of its neighbours, so
//!   it is queued the moment both have finished and no thread ever waits;
//! - one `scope` whose tasks borrow the grid and wait on their neighbours'
//!   handles (a waiting worker runs the awaited tile, or other tiles);
//! - sequentially, row by row.
//!
//! `GRAPH_TILES` sets the grid's side (default 40: 1,600 tiles),
//! `GRAPH_WORKERS` the pool size (default: one per CPU).
//!
//! Run: `cargo run --release --example graph`

#[path = "../benches/peers/wavefront.rs"]
mod wavefront;

use std::time::{Duration, Instant};
use stealpool::ThreadPool;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The best of three runs of `f`, with its output.
fn best_of_three(mut f: impl FnMut() -> Vec<u64>) -> (Duration, Vec<u64>) {
    let mut best: Option<(Duration, Vec<u64>)> = None;
    for _ in 0..3 {
        let start = Instant::now();
        let out = f();
        let took = start.elapsed();
        if best.as_ref().map_or(true, |(b, _)| took < *b) {
            best = Some((took, out));
        }
    }
    best.expect("three runs")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n = env_usize("GRAPH_TILES", 40).max(1);
    let workers = env_usize(
        "GRAPH_WORKERS",
        std::thread::available_parallelism().map_or(2, |c| c.get()),
    );
    let steps = wavefront::calibrate(Duration::from_micros(50));
    let pool = ThreadPool::new(workers)?;
    println!(
        "wavefront: {n} x {n} tiles of ~50 µs ({steps} steps each), each needing its upper and left neighbours; {workers} workers"
    );

    let (seq, expected) = best_of_three(|| wavefront::sequential(n, steps));
    let (cont, by_cont) = best_of_three(|| wavefront::continuations(&pool, n, steps));
    let (scoped, by_scope) = best_of_three(|| wavefront::scoped(&pool, n, steps));
    assert_eq!(
        by_cont, expected,
        "continuations disagree with the sequential run"
    );
    assert_eq!(
        by_scope, expected,
        "scope disagrees with the sequential run"
    );

    let speedup = |d: Duration| seq.as_secs_f64() / d.as_secs_f64();
    println!("  sequential                    {seq:>10.2?}");
    println!(
        "  continuations (then/when_all) {cont:>10.2?}  {:.2}x",
        speedup(cont)
    );
    println!(
        "  scope + nested waits          {scoped:>10.2?}  {:.2}x",
        speedup(scoped)
    );
    println!(
        "all three agree on {} tiles (best of three runs each; the critical path is {} tiles, {:.1}% of the work)",
        n * n,
        2 * n - 1,
        100.0 * (2 * n - 1) as f64 / (n * n) as f64
    );
    Ok(())
}

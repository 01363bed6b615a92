//! How many workers? The same two workloads at 1, 2, 4, 16 and 64 workers:
//! I/O-bound tasks (a sleep stands in for a network or disk wait) and
//! CPU-bound tasks (pure arithmetic).
//!
//! Rust has no GIL: CPU-bound tasks really run in parallel, so they speed up
//! until every core is busy (`std::thread::available_parallelism`) and no
//! further; more workers than cores only take turns. I/O-bound tasks spend
//! their time waiting, not computing, so they keep speeding up with workers
//! far beyond the core count. Python's rule of thumb (threads only for I/O)
//! does not apply; the core count does.
//!
//! `SIZING_TASKS` sets the number of tasks per workload (default 64; a
//! smaller number makes the run shorter).
//!
//! Run: `cargo run --release --example sizing`

use std::hint::black_box;
use std::time::{Duration, Instant};
use stealpool::ThreadPool;

/// Rounds of arithmetic per CPU-bound task: a few milliseconds.
const CPU_ROUNDS: u64 = 5_000_000;
/// The wait of one I/O-bound task.
const IO_WAIT: Duration = Duration::from_millis(20);

fn cpu_task(seed: u64) -> u64 {
    (0..CPU_ROUNDS).fold(black_box(seed), |h, k| {
        h.rotate_left(7) ^ k.wrapping_mul(0x9E37_79B9)
    })
}

/// Runs `tasks` copies of `work` on `pool` and returns the wall time.
fn time_batch(
    pool: &ThreadPool,
    tasks: u64,
    work: fn(u64) -> u64,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let start = Instant::now();
    let handles = (0..tasks)
        .map(|i| pool.submit(move || work(i)))
        .collect::<Result<Vec<_>, _>>()?;
    for h in handles {
        black_box(h.result()?);
    }
    Ok(start.elapsed())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tasks: u64 = std::env::var("SIZING_TASKS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let io_task = |i: u64| {
        std::thread::sleep(IO_WAIT);
        i
    };
    println!(
        "{tasks} I/O-bound tasks ({IO_WAIT:?} wait each) and {tasks} CPU-bound tasks ({CPU_ROUNDS} rounds each); {cores} cores"
    );
    println!("workers |   I/O time  speedup |   CPU time  speedup");
    let mut base = None;
    for workers in [1, 2, 4, 16, 64] {
        let pool = ThreadPool::new(workers)?;
        let io = time_batch(&pool, tasks, io_task)?;
        let cpu = time_batch(&pool, tasks, cpu_task)?;
        let (io1, cpu1): (Duration, Duration) = *base.get_or_insert((io, cpu));
        println!(
            "{workers:>7} | {:>6} ms {:>7.1}x | {:>6} ms {:>7.1}x",
            io.as_millis(),
            io1.as_secs_f64() / io.as_secs_f64(),
            cpu.as_millis(),
            cpu1.as_secs_f64() / cpu.as_secs_f64()
        );
    }
    println!("Rust has no GIL: CPU-bound work scales up to the {cores} cores this machine has (available_parallelism) and no further;");
    println!("I/O-bound work waits instead of computing, so it wants more workers than cores: up to one per task waiting at once.");
    println!("(Times are wall-clock on whatever else this machine runs; the shape matters, not the digits.)");
    Ok(())
}

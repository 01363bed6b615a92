//! Shared bench plumbing: criterion settings sized so the whole `cargo
//! bench` stays short on 2 cores, a size knob, CPU-time readers, and
//! percentiles.

use criterion::{BenchmarkGroup, Criterion, SamplingMode};
use std::time::Duration;

/// Criterion with 10 samples and short warm-up and measurement windows.
pub(crate) fn criterion() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1500))
        .configure_from_args()
}

/// Flat sampling: every sample runs the same iteration count (what long
/// iterations need).
pub(crate) fn flat(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    group.sampling_mode(SamplingMode::Flat);
}

/// `STEALPOOL_BENCH_SCALE` (default 1.0) multiplies the fixed workload
/// sizes, e.g. 0.1 for a quick look.
pub(crate) fn scaled(n: usize) -> usize {
    let scale: f64 = std::env::var("STEALPOOL_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((n as f64 * scale) as usize).max(1)
}

/// Worker count of the default pools: one per CPU.
pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// utime + stime of this process from `/proc/self/stat`, in clock ticks
/// (normally 10 ms each).
pub(crate) fn proc_stat_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are
    // fields 14 and 15 of the whole line.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    get(11) + get(12)
}

/// Nanoseconds every live thread of this process has run on a CPU, summed
/// from `/proc/self/task/*/schedstat` (finer than the tick counts).
pub(crate) fn schedstat_nanos() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| std::fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// The `p`th percentile (0..=100) of sorted `samples`.
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A line the summary script collects from the bench output.
pub(crate) fn report(workload: &str, peer: &str, what: &str) {
    println!("RESULT | {workload} | {peer} | {what}");
}

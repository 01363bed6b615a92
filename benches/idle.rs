//! Workload 7: idle cost. CPU time an idle pool of 8 workers burns per
//! second of wall time, from `/proc/self/stat` (utime + stime, in clock
//! ticks) and, finer, the sum of `/proc/self/task/*/schedstat`. Not a
//! timing, so this bench prints its figures instead of running criterion.
//! `STEALPOOL_IDLE_SECS` sets the window (default 2 s).

use peers::measure::{proc_stat_ticks, report, schedstat_nanos};
use peers::{Join, Pool, Submit};
use std::time::{Duration, Instant};

mod peers;

const WORKERS: usize = 8;

fn idle_cost<S: Submit>(pool: Pool<S>, window: Duration) {
    // Wake every worker, then let them settle into their idle state.
    let handles: Vec<_> = (0..1000u64).map(|i| pool.submit(move || i)).collect();
    for h in handles {
        h.join();
    }
    std::thread::sleep(Duration::from_millis(200));
    let ticks_per_sec = 100.0; // USER_HZ on Linux
    let (t0, s0, w0) = (proc_stat_ticks(), schedstat_nanos(), Instant::now());
    std::thread::sleep(window);
    let (t1, s1, wall) = (proc_stat_ticks(), schedstat_nanos(), w0.elapsed());
    let stat_pct = (t1 - t0) as f64 / ticks_per_sec / wall.as_secs_f64() * 100.0;
    let sched_pct = (s1 - s0) as f64 / wall.as_nanos() as f64 * 100.0;
    let what = format!(
        "{sched_pct:.3}% of a core (schedstat), {stat_pct:.1}% (/proc/self/stat, {} ticks in {wall:.2?})",
        t1 - t0
    );
    report("idle cpu, 8 workers", pool.name, &what);
    println!("idle_cpu/{}: {what}", pool.name);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks every bench binary
    }
    let secs: f64 = std::env::var("STEALPOOL_IDLE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2.0);
    let window = Duration::from_secs_f64(secs);
    idle_cost(peers::stealpool::new(WORKERS), window);
    idle_cost(peers::simple::new(WORKERS), window);
    idle_cost(peers::threadpool::new(WORKERS), window);
    idle_cost(peers::rayon_spawn::new(WORKERS), window);
    idle_cost(peers::tokio::spawn(WORKERS), window);
    idle_cost(peers::tokio::blocking(WORKERS), window);
}

//! Idle pools use (almost) no CPU, and wake when work arrives.
//!
//! CPU time comes from procfs: the process's utime + stime (fields 14 and
//! 15 of `/proc/self/stat`, in clock ticks of 1/100 s) and, at nanosecond
//! resolution, the run time of the pool's own threads (first field of each
//! `/proc/self/task/<tid>/schedstat`, found by thread name). The bound is
//! generous (5% of one core) since CI machines are shared; the figures are
//! printed (`cargo test --test idle -- --nocapture`). The tests in this
//! file take one lock, so none measures another's work.

mod support;

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use stealpool::ThreadPool;
use support::Watchdog;

/// Clock ticks per second of `/proc/self/stat` (`sysconf(_SC_CLK_TCK)`,
/// 100 on Linux).
const CLK_TCK: f64 = 100.0;
/// The asserted ceiling, in percent of one core.
const BOUND_PERCENT: f64 = 5.0;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// utime + stime of the whole process, in clock ticks.
fn process_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("procfs");
    // The command name (field 2) may hold spaces: count fields after ')'.
    let rest = &stat[stat.rfind(')').expect("a comm field") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3, so field n is at index n - 3.
    let utime: u64 = fields[14 - 3].parse().unwrap();
    let stime: u64 = fields[15 - 3].parse().unwrap();
    utime + stime
}

/// Run time in nanoseconds of this process's threads whose name starts
/// with `prefix`, and how many there are.
fn threads_nanos(prefix: &str) -> (u64, usize) {
    let mut total = (0, 0);
    for entry in std::fs::read_dir("/proc/self/task").expect("procfs") {
        let dir = entry.unwrap().path();
        let (Ok(comm), Ok(sched)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("schedstat")),
        ) else {
            continue; // the thread exited meanwhile
        };
        if comm.starts_with(prefix) {
            let nanos: u64 = sched.split_whitespace().next().unwrap().parse().unwrap();
            total.0 += nanos;
            total.1 += 1;
        }
    }
    total
}

/// CPU use while `pool` (threads named `prefix-N`) sits idle for `span`
/// after a warm-up, in percent of one core: (whole process, pool threads,
/// pool threads' nanoseconds).
fn idle_cpu(pool: &ThreadPool, prefix: &str, span: Duration) -> (f64, f64, u64) {
    // Warm-up: every worker runs something, then all go back to sleep.
    wake_every_worker(pool);
    std::thread::sleep(Duration::from_millis(300));
    let (ticks0, (nanos0, threads), t0) = (process_ticks(), threads_nanos(prefix), Instant::now());
    assert_eq!(threads, pool.max_workers(), "found every worker by name");
    assert!(nanos0 > 0, "schedstat counts the warm-up");
    std::thread::sleep(span);
    let (ticks1, (nanos1, _), wall) = (process_ticks(), threads_nanos(prefix), t0.elapsed());
    let wall = wall.as_secs_f64();
    let process = (ticks1 - ticks0) as f64 / CLK_TCK / wall * 100.0;
    let pool_threads = (nanos1 - nanos0) as f64 / 1e9 / wall * 100.0;
    (process, pool_threads, nanos1 - nanos0)
}

/// Submits one task per worker that waits for all the others: it returns
/// only once every worker has woken and taken one.
fn wake_every_worker(pool: &ThreadPool) {
    let n = pool.max_workers();
    let all = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let all = all.clone();
            pool.submit(move || {
                all.wait();
            })
            .unwrap()
        })
        .collect();
    for h in handles {
        h.result().unwrap();
    }
}

fn check_idle(workers: usize, span: Duration) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let _watchdog = Watchdog::new("idle test", Duration::from_secs(60));
    let prefix = format!("idle{workers}");
    let pool = ThreadPool::builder()
        .max_workers(workers)
        .thread_name_prefix(prefix.clone())
        .build()
        .unwrap();
    let (process, pool_threads, nanos) = idle_cpu(&pool, &prefix, span);
    println!(
        "idle pool of {workers} over {span:?}: process {process:.2}% of one core \
         (tick resolution {:.2}%), pool threads {pool_threads:.4}% ({nanos} ns)",
        100.0 / CLK_TCK / span.as_secs_f64()
    );
    assert!(
        process < BOUND_PERCENT,
        "an idle pool of {workers} used {process:.2}% of a core"
    );
    assert!(pool_threads < BOUND_PERCENT);
    // It wakes when work arrives: a plain submit, then every worker at once.
    assert_eq!(pool.submit(|| 40 + 2).unwrap().result().unwrap(), 42);
    wake_every_worker(&pool);
    // And goes back to sleep again.
    let (again, again_threads, nanos) = idle_cpu(&pool, &prefix, span / 2);
    println!(
        "idle pool of {workers} after waking, over {:?}: process {again:.2}%, \
         pool threads {again_threads:.4}% ({nanos} ns)",
        span / 2
    );
    assert!(again < BOUND_PERCENT);
}

#[test]
fn an_idle_pool_of_64_uses_almost_no_cpu_and_wakes() {
    check_idle(64, Duration::from_secs(2));
}

#[test]
fn an_idle_pool_of_8_uses_almost_no_cpu_and_wakes() {
    check_idle(8, Duration::from_secs(1));
}

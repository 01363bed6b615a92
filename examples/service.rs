//! A small "service": a request loop feeding a pool with mixed CPU and I/O
//! work, a one-line stats gauge every second, and a graceful shutdown on
//! Ctrl-C or after N requests (SERVICE_REQUESTS, default 3000) that loses
//! nothing.
//!
//! Run: `cargo run --release --example service`

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stealpool::{PoolStats, ThreadPool};

/// One simulated request: parse (CPU), fetch from a backend (I/O, in a
/// blocking section so the pool keeps other workers busy), render (CPU).
fn handle_request(id: u64) -> u64 {
    let parsed = checksum(id, 20_000);
    stealpool::blocking(|| std::thread::sleep(Duration::from_millis(2 + id % 7)));
    if id % 97 == 0 {
        panic!("request {id}: backend returned garbage");
    }
    checksum(parsed, 20_000)
}

/// A few microseconds of arithmetic per 10,000 rounds.
fn checksum(seed: u64, rounds: u32) -> u64 {
    (0..rounds).fold(seed, |h, i| {
        h.rotate_left(5) ^ u64::from(i).wrapping_mul(0x9E37_79B9)
    })
}

fn gauge(elapsed: Duration, s: &PoolStats) -> String {
    format!(
        "[{:>5.1}s] busy {}/{} blocked {} extra {} | queued {:>4} running {} | submitted {:>5} completed {:>5} panicked {:>3} stolen {:>4} sleeps {:>4}",
        elapsed.as_secs_f64(),
        s.workers_busy,
        s.workers + s.blocking_workers,
        s.blocked,
        s.blocking_workers,
        s.tasks_queued,
        s.tasks_running,
        s.submitted,
        s.completed,
        s.panicked,
        s.stolen,
        s.sleeps
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let total: u64 = std::env::var("SERVICE_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3000);
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    ctrlc::set_handler(move || s.store(true, SeqCst))?;

    let panics_seen = Arc::new(AtomicU64::new(0));
    let p = panics_seen.clone();
    let pool = ThreadPool::builder()
        .max_workers(4)
        .thread_name_prefix("svc")
        .panic_handler(move |_| {
            p.fetch_add(1, SeqCst);
        })
        .build()?;

    let started = Instant::now();
    let reporter = {
        let pool = pool.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(SeqCst) {
                std::thread::park_timeout(Duration::from_secs(1));
                println!("{}", gauge(started.elapsed(), &pool.stats()));
            }
        })
    };

    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut accepted = 0;
    for id in 1..=total {
        if stop.load(SeqCst) {
            println!("signal received: no new requests");
            break;
        }
        let handle = pool.submit(move || handle_request(id))?;
        let (ok, failed) = (ok.clone(), failed.clone());
        handle.add_done_callback(move |h| {
            let counter = if h.result().is_ok() { ok } else { failed };
            counter.fetch_add(1, SeqCst);
        });
        accepted += 1;
        // Requests arrive about every 0.5 ms.
        std::thread::sleep(Duration::from_micros(500));
    }

    pool.shutdown(); // waits for every accepted request
    stop.store(true, SeqCst);
    reporter.thread().unpark();
    reporter.join().expect("reporter thread");
    let stats = pool.stats();
    println!("{}", gauge(started.elapsed(), &stats));
    let (ok, failed) = (ok.load(SeqCst), failed.load(SeqCst));
    println!(
        "accepted {accepted}: {ok} ok, {failed} failed (panic handler saw {}), lost {}",
        panics_seen.load(SeqCst),
        accepted - ok - failed
    );
    assert_eq!(ok + failed, accepted, "a request was lost");
    assert_eq!(stats.completed + stats.panicked, accepted);
    Ok(())
}

//! Waiting with a deadline: `result_timeout` gives up with
//! `TaskError::Timeout` and leaves the task and its handle as they were, so
//! each task's outcome is handled on its own.
//!
//! Two workers. One task panics (its error arrives before the deadline);
//! one is simply too slow; one is stuck in the queue behind the busy
//! workers; one checks a stop flag. After their timeouts:
//! - the queued task is cancelled: `cancel()` wins while a task is pending;
//! - the slow task cannot be: `cancel()` returns false once it runs, because
//!   nothing preempts a running closure. It is left running and its value
//!   is collected later through the same handle;
//! - the cooperative task is stopped the way running work can be stopped:
//!   it reads a flag the caller sets.
//!
//! Run: `cargo run --release --example timeouts`

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use stealpool::{TaskError, ThreadPool};

/// Prints one outcome of a wait.
fn report<T: std::fmt::Debug>(name: &str, outcome: &Result<T, TaskError>) {
    match outcome {
        Ok(v) => println!("  {name:<12} ok: {v:?}"),
        Err(e) if e.is_timeout() => println!("  {name:<12} timed out"),
        Err(e) => println!("  {name:<12} error: {e}"),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The panic below is expected: one line instead of the default message.
    std::panic::set_hook(Box::new(|_| eprintln!("  (panic hook: a task panicked)")));
    let pool = ThreadPool::new(2)?;
    let deadline = Duration::from_millis(200);
    let start = Instant::now();

    let crashing = pool.submit(|| -> u32 { panic!("parser crashed") })?;
    let outcome = crashing.result_timeout(deadline);
    report("crashing", &outcome);
    assert!(outcome.is_err_and(|e| e.is_panic()));

    // Occupy both workers, and make sure both have started before going on.
    let started = Arc::new(Barrier::new(3));
    let s = started.clone();
    let slow = pool.submit(move || {
        s.wait();
        std::thread::sleep(Duration::from_millis(800));
        "slow report"
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let (s, flag) = (started.clone(), stop.clone());
    let cooperative = pool.submit(move || {
        s.wait();
        let mut steps = 0;
        while !flag.load(SeqCst) && steps < 500 {
            std::thread::sleep(Duration::from_millis(10));
            steps += 1;
        }
        format!("stopped after {steps} of 500 steps")
    })?;
    started.wait();
    let queued = pool.submit(|| "queued work")?;

    println!("waiting {deadline:?} for each:");
    let outcome = slow.result_timeout(deadline);
    report("slow", &outcome);
    assert!(outcome.is_err_and(|e| e.is_timeout()));
    let outcome = queued.result_timeout(deadline);
    report("queued", &outcome);
    assert!(outcome.is_err_and(|e| e.is_timeout()));
    let outcome = cooperative.result_timeout(deadline);
    report("cooperative", &outcome);
    assert!(outcome.is_err_and(|e| e.is_timeout()));

    println!("after the timeouts:");
    let cancelled = queued.cancel();
    println!(
        "  queued       cancel() = {cancelled}: it had not started, so it never will (result: {})",
        queued.result().unwrap_err()
    );
    assert!(cancelled);
    let cancelled = slow.cancel();
    println!(
        "  slow         cancel() = {cancelled}: running() = {}; a running closure cannot be preempted, so it is left running",
        slow.running()
    );
    assert!(!cancelled);
    stop.store(true, SeqCst);
    let outcome = cooperative.result();
    println!(
        "  cooperative  stop flag set: {} at {:.0?}",
        outcome.as_deref().unwrap_or("?"),
        start.elapsed()
    );
    assert!(outcome.is_ok());

    // A timeout did not consume the handle: wait again, with more time.
    let outcome = slow.result_timeout(Duration::from_secs(30));
    report("slow", &outcome);
    println!(
        "  (the slow task's value arrived at {:.0?}, through the handle that timed out)",
        start.elapsed()
    );
    assert_eq!(outcome?, "slow report");
    Ok(())
}

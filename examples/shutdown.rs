//! Shutting a pool down, the three ways Python's `Executor.shutdown` offers
//! and what each does to work already submitted.
//!
//! 1. `shutdown()`: stop taking new work, finish everything accepted, wait
//!    for the workers to exit.
//! 2. Submitting afterwards fails with `SubmitError::Shutdown`, which hands
//!    the closure back unrun, so nothing the caller owned is lost.
//! 3. `shutdown_with(ShutdownOptions::new().cancel_pending(true))`: tasks
//!    that have not started are cancelled (their handles say so); running
//!    ones finish.
//! 4. Dropping the last clone of the pool is a waiting `shutdown()`, like
//!    leaving Python's `with ThreadPoolExecutor() as ex:` block.
//!
//! Run: `cargo run --release --example shutdown`

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};
use stealpool::{ShutdownOptions, ThreadPool};

/// A one-shot gate: tasks block in `wait` until the main thread `open`s it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    fn wait(&self) {
        let open = self.0 .0.lock().unwrap();
        let _open = self.0 .1.wait_while(open, |open| !*open).unwrap();
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Graceful shutdown waits for accepted work.
    let pool = ThreadPool::new(2)?;
    let ran = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let handles = (0..4)
        .map(|_| {
            let ran = ran.clone();
            pool.submit(move || {
                std::thread::sleep(Duration::from_millis(50));
                ran.fetch_add(1, SeqCst);
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    pool.shutdown();
    println!(
        "1. shutdown() returned after {:.0?}: {} of 4 accepted tasks ran, all handles done: {}",
        start.elapsed(),
        ran.load(SeqCst),
        handles.iter().all(|h| h.done())
    );
    assert_eq!(ran.load(SeqCst), 4);

    // 2. After shutdown, submit refuses and hands the closure back.
    let report = String::from("quarterly report");
    match pool.submit(move || format!("rendered {report}")) {
        Ok(_) => unreachable!("the pool is shut down"),
        Err(refused) => {
            println!(
                "2. submit after shutdown: Err({refused}), is_shutdown() = {}",
                refused.is_shutdown()
            );
            let f = refused.into_inner();
            println!("   the closure came back unrun; running it here: {:?}", f());
        }
    }

    // 3. Cancel what has not started: two running tasks, six queued.
    let pool = ThreadPool::new(2)?;
    let (started, gate) = (Arc::new(Barrier::new(3)), Gate::default());
    let mut handles = Vec::new();
    for i in 0..2 {
        let (started, gate) = (started.clone(), gate.clone());
        handles.push(pool.submit(move || {
            started.wait();
            gate.wait();
            format!("task {i} finished")
        })?);
    }
    started.wait(); // both workers are busy now
    for i in 2..8 {
        handles.push(pool.submit(move || format!("task {i} finished"))?);
    }
    // Do not wait: the running tasks wait for the gate, opened below.
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    // What each handle said right after the call, before the gate opened.
    let states: Vec<_> = handles
        .iter()
        .map(|h| (h.running(), h.cancelled()))
        .collect();
    gate.open();
    pool.shutdown(); // now wait for the running two
    println!("3. shutdown_with(cancel_pending: true) with 2 tasks running, 6 queued:");
    for (i, (h, (running, cancelled))) in handles.iter().zip(states).enumerate() {
        let outcome = match h.result() {
            Ok(msg) => msg,
            Err(e) => e.to_string(),
        };
        println!("   task {i}: running {running:<5} cancelled {cancelled:<5} -> {outcome}");
    }
    let cancelled = handles.iter().filter(|h| h.cancelled()).count();
    assert_eq!(cancelled, 6);

    // 4. Dropping the last handle waits too.
    let ran = Arc::new(AtomicUsize::new(0));
    {
        let pool = ThreadPool::new(2)?;
        for _ in 0..3 {
            let ran = ran.clone();
            pool.submit(move || {
                std::thread::sleep(Duration::from_millis(30));
                ran.fetch_add(1, SeqCst);
            })?;
        } // the handles were dropped: the tasks are detached, not cancelled
    } // `pool` dropped here: shutdown() and wait
    println!(
        "4. after the pool was dropped: {} of 3 detached tasks had run",
        ran.load(SeqCst)
    );
    assert_eq!(ran.load(SeqCst), 3);
    Ok(())
}

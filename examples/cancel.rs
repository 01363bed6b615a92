//! What `cancel()` can and cannot do. A cancel is one compare-and-swap on
//! the task's state: it wins only while the task is pending (queued, not
//! started). Then the task never runs and its closure is dropped at once.
//! Once a worker has claimed the task, `cancel()` returns false and the
//! result still arrives: nothing preempts a running closure.
//!
//! Two workers are held busy by gated tasks; six more queue behind them.
//! The example cancels the running two and every other queued one, then
//! opens the gate and shows which tasks ran.
//!
//! Run: `cargo run --release --example cancel`

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use stealpool::ThreadPool;

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

/// Counts drops of what a closure captured, to show when a closure is freed.
struct Captured {
    dropped: Arc<AtomicUsize>,
}

impl Drop for Captured {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, SeqCst);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadPool::new(2)?;
    let (started, gate) = (Arc::new(Barrier::new(3)), Gate::default());
    let ran = Arc::new(AtomicUsize::new(0));
    let dropped = Arc::new(AtomicUsize::new(0));

    // Each closure owns a `Captured`, freed with the closure.
    let task = |i: u64, gated: bool| {
        let (started, gate, ran) = (started.clone(), gate.clone(), ran.clone());
        let captured = Captured {
            dropped: dropped.clone(),
        };
        move || {
            let _captured = &captured;
            if gated {
                started.wait(); // tell main this worker is busy
                gate.wait(); // and stay busy until main opens the gate
            }
            ran.fetch_add(1, SeqCst);
            i * 100
        }
    };
    let mut handles = vec![pool.submit(task(0, true))?, pool.submit(task(1, true))?];
    // Wait until both have started: a work-stealing pool does not promise
    // to start tasks in submission order, so only now is the rest queued.
    started.wait();
    for i in 2..8 {
        handles.push(pool.submit(task(i, false))?);
    }

    println!("cancel with tasks 0-1 running and 2-7 queued:");
    let mut won = Vec::new();
    for (i, h) in handles.iter().enumerate() {
        if i < 2 || i % 2 == 1 {
            let before = dropped.load(SeqCst);
            let state = if h.running() { "running" } else { "pending" };
            let cancelled = h.cancel();
            let why = if cancelled {
                format!(
                    "will never run; closure dropped now (drops {before} -> {})",
                    dropped.load(SeqCst)
                )
            } else {
                "a worker has claimed it; nothing stops a running closure".to_owned()
            };
            println!("  task {i}: {state}  cancel() = {cancelled:<5}  {why}");
            if cancelled {
                won.push(i);
            }
        }
    }
    // Cancelling again reports the state: still cancelled.
    println!("  task 3 again: cancel() = {}", handles[3].cancel());

    gate.open();
    assert_eq!(won, [3, 5, 7]);
    println!("after opening the gate:");
    for (i, h) in handles.iter().enumerate() {
        match h.result() {
            Ok(v) => println!("  task {i}: ran, result {v}"),
            Err(e) => println!("  task {i}: {e}"),
        }
    }
    // A finished task cannot be cancelled either.
    println!(
        "  task 0 after it finished: cancel() = {}",
        handles[0].cancel()
    );
    pool.shutdown();
    println!(
        "{} tasks ran, {} were cancelled and never ran; {} closures dropped in all",
        ran.load(SeqCst),
        won.len(),
        dropped.load(SeqCst)
    );
    assert_eq!(ran.load(SeqCst), 5);
    assert_eq!(dropped.load(SeqCst), 8);
    Ok(())
}

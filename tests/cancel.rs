//! cancel(): one CAS that wins only while the task is pending.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use stealpool::{TaskError, ThreadPool};

/// Counts drops of the value it is moved into.
struct DropCount(Arc<AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A one-worker pool whose only worker is held inside a task until the
/// returned sender sends (or is dropped).
fn busy_pool() -> (ThreadPool, mpsc::Sender<()>, stealpool::TaskHandle<()>) {
    let pool = ThreadPool::new(1).unwrap();
    let started = Arc::new(Barrier::new(2));
    let (tx, rx) = mpsc::channel::<()>();
    let s = started.clone();
    let blocker = pool
        .submit(move || {
            s.wait();
            let _ = rx.recv();
        })
        .unwrap();
    started.wait();
    (pool, tx, blocker)
}

#[test]
fn cancel_pending_task_drops_closure_at_once_and_never_runs_it() {
    let (pool, release, blocker) = busy_pool();
    let runs = Arc::new(AtomicUsize::new(0));
    let drops = Arc::new(AtomicUsize::new(0));
    let (r, d) = (runs.clone(), DropCount(drops.clone()));
    let h = pool
        .submit(move || {
            let _keep = &d;
            r.fetch_add(1, SeqCst);
        })
        .unwrap();
    assert!(h.cancel());
    assert_eq!(
        drops.load(SeqCst),
        1,
        "closure dropped by cancel itself, not later"
    );
    assert!(h.cancelled() && h.done() && !h.running());
    assert!(h.cancel(), "cancel of a cancelled task still reports true");
    assert!(matches!(h.result(), Err(TaskError::Cancelled)));
    release.send(()).unwrap();
    blocker.result().unwrap();
    pool.shutdown(); // the stale queue entry is popped and skipped
    assert_eq!(runs.load(SeqCst), 0);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn cancel_running_task_fails() {
    let (pool, release, blocker) = busy_pool();
    assert!(!blocker.cancel());
    assert!(blocker.running());
    release.send(()).unwrap();
    assert!(blocker.result().is_ok());
    drop(pool);
}

#[test]
fn cancel_finished_task_fails_and_keeps_the_value() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 5).unwrap();
    h.wait();
    assert!(!h.cancel());
    assert!(!h.cancelled());
    assert_eq!(h.result().unwrap(), 5);
}

#[test]
fn cancelled_task_value_is_never_created_and_results_drop_once() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (pool, release, blocker) = busy_pool();
    let d = drops.clone();
    let cancelled = pool.submit(move || DropCount(d)).unwrap();
    let d = drops.clone();
    let kept = pool.submit(move || DropCount(d)).unwrap();
    let d = drops.clone();
    let detached = pool.submit(move || DropCount(d)).unwrap();
    assert!(cancelled.cancel());
    drop(detached);
    release.send(()).unwrap();
    blocker.result().unwrap();
    let value = kept.result().unwrap();
    pool.shutdown();
    // The detached task ran and nobody holds its cell: its value is gone.
    assert_eq!(drops.load(SeqCst), 1);
    drop(value);
    assert_eq!(drops.load(SeqCst), 2);
    drop((kept, cancelled));
    assert_eq!(
        drops.load(SeqCst),
        2,
        "each made value dropped once; the cancelled one never made"
    );
}

#[test]
fn concurrent_cancels_race_a_worker_and_exactly_one_side_wins() {
    let pool = ThreadPool::new(2).unwrap();
    for _ in 0..2000 {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let h = pool.submit(move || r.fetch_add(1, SeqCst)).unwrap();
        let won = h.cancel();
        match h.result() {
            Err(TaskError::Cancelled) => assert!(won && runs.load(SeqCst) == 0),
            Ok(_) => assert!(!won && runs.load(SeqCst) == 1),
            Err(other) => panic!("unexpected {other}"),
        }
    }
}

/// Submits a task that spins until it is asked to stop, and waits until it
/// runs; returns its handle (its value: the loop's rounds).
fn spinning_until_asked(pool: &ThreadPool) -> stealpool::TaskHandle<u64> {
    let (started_tx, started) = mpsc::channel();
    let handle = pool
        .submit(move || {
            started_tx.send(()).ok();
            let mut rounds = 0u64;
            while !stealpool::cancel_requested() {
                rounds += 1;
                std::thread::yield_now();
            }
            rounds
        })
        .unwrap();
    started
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("task started");
    handle
}

#[test]
fn cancel_on_a_running_task_asks_it_to_stop_and_returns_false() {
    let pool = ThreadPool::new(1).unwrap();
    assert!(!stealpool::cancel_requested(), "not in a task");
    let quiet = pool.submit(stealpool::cancel_requested).unwrap();
    assert!(!quiet.result().unwrap(), "nobody asked this one");
    let running = spinning_until_asked(&pool);
    assert!(!running.cancel_requested());
    assert!(!running.cancel(), "too late to cancel outright");
    assert!(running.cancel_requested());
    running
        .result()
        .expect("it ran and then stopped, with a value");
    assert!(!running.cancelled(), "it completed; it was not cancelled");
}

#[test]
fn a_request_is_seen_by_the_requested_task_only() {
    let pool = ThreadPool::new(2).unwrap();
    let asked = spinning_until_asked(&pool);
    let other = spinning_until_asked(&pool);
    assert!(!asked.cancel());
    asked.result().unwrap();
    assert!(
        !other.done(),
        "a request to one task is not a request to all"
    );
    assert!(!other.cancel());
    other.result().unwrap();
}

#[test]
fn a_cancelling_shutdown_asks_running_tasks_to_stop() {
    let pool = ThreadPool::new(1).unwrap();
    let running = spinning_until_asked(&pool);
    let queued = pool.submit(|| 5u64).unwrap();
    pool.shutdown_with(stealpool::ShutdownOptions::new().cancel_pending(true));
    assert!(queued.cancelled());
    running.result().expect("it stopped when asked");
}

#[test]
fn dropping_a_map_asks_its_running_items_to_stop() {
    let pool = ThreadPool::new(1).unwrap();
    let (started_tx, started) = mpsc::channel();
    let started_tx = std::sync::Mutex::new(started_tx);
    let stopped = Arc::new(AtomicUsize::new(0));
    let s = stopped.clone();
    let map = pool.map(
        move |_: u32| {
            started_tx.lock().unwrap().send(()).ok();
            while !stealpool::cancel_requested() {
                std::thread::yield_now();
            }
            s.fetch_add(1, SeqCst);
        },
        0..4,
    );
    started
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("an item started");
    drop(map);
    pool.shutdown();
    assert_eq!(
        stopped.load(SeqCst),
        1,
        "the running item stopped; none other ran"
    );
}

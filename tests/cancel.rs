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

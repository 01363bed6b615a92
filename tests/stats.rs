//! pool.stats() under known workloads: every field, gated by latches, never
//! by timing.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};
use stealpool::{ShutdownOptions, ThreadPool};

#[test]
fn totals_after_a_known_workload() {
    let pool = ThreadPool::new(2).unwrap();
    let ok: Vec<_> = (0..10).map(|i| pool.submit(move || i).unwrap()).collect();
    let bad: Vec<_> = (0..3)
        .map(|_| pool.submit(|| -> u8 { panic!("x") }).unwrap())
        .collect();
    ok.iter().for_each(|h| assert!(h.result().is_ok()));
    bad.iter().for_each(|h| assert!(h.result().is_err()));
    let stats = pool.stats();
    assert_eq!(stats.workers, 2);
    assert_eq!(stats.submitted, 13);
    assert_eq!(stats.completed, 10, "counted before the result is visible");
    assert_eq!(stats.panicked, 3);
    assert_eq!(stats.cancelled, 0);
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        (stats.tasks_running, stats.workers_busy, stats.tasks_queued),
        (0, 0, 0)
    );
    assert!(
        stats.sleeps >= 2,
        "both workers slept before exiting: {}",
        stats.sleeps
    );
}

#[test]
fn gauges_while_workers_are_held() {
    let pool = ThreadPool::new(2).unwrap();
    let started = Arc::new(Barrier::new(3));
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let held: Vec<_> = (0..2)
        .map(|_| {
            let (s, rx) = (started.clone(), rx.clone());
            pool.submit(move || {
                s.wait();
                rx.lock().unwrap().recv().unwrap();
            })
            .unwrap()
        })
        .collect();
    started.wait();
    let queued: Vec<_> = (0..5).map(|_| pool.submit(|| ()).unwrap()).collect();
    assert!(queued[0].cancel() && queued[1].cancel());
    let stats = pool.stats();
    assert_eq!(stats.workers_busy, 2);
    assert_eq!(stats.tasks_running, 2);
    assert_eq!(
        stats.tasks_queued, 5,
        "cancelled entries stay queued until skipped"
    );
    tx.send(()).unwrap();
    tx.send(()).unwrap();
    held.iter().for_each(|h| h.result().unwrap());
    queued[2..].iter().for_each(|h| h.result().unwrap());
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        stats.cancelled, 2,
        "skipped entries counted once queues drained"
    );
    assert_eq!(stats.completed, 5);
    assert_eq!(stats.submitted, 7);
}

#[test]
fn cancelling_shutdown_counts_cancels() {
    let pool = ThreadPool::new(1).unwrap();
    let started = Arc::new(Barrier::new(2));
    let (tx, rx) = mpsc::channel::<()>();
    let s = started.clone();
    let held = pool
        .submit(move || {
            s.wait();
            rx.recv().unwrap()
        })
        .unwrap();
    started.wait();
    let queued: Vec<_> = (0..4).map(|_| pool.submit(|| ()).unwrap()).collect();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    tx.send(()).unwrap();
    held.result().unwrap();
    pool.shutdown();
    assert!(queued.iter().all(|h| h.cancelled()));
    let stats = pool.stats();
    assert_eq!(
        (stats.cancelled, stats.completed, stats.submitted),
        (4, 1, 5)
    );
}

#[test]
fn nested_tasks_count_running_depth_and_steals_happen() {
    let pool = ThreadPool::new(2).unwrap();
    let h = pool
        .submit(|| {
            let pool = ThreadPool::current().unwrap();
            let inner = pool
                .submit(move || ThreadPool::current().unwrap().stats().tasks_running)
                .unwrap();
            inner.result().unwrap()
        })
        .unwrap();
    // The child ran inline inside its parent's wait (depth 2) or on the
    // other worker (two workers busy): two tasks running either way.
    assert_eq!(h.result().unwrap(), 2);
    // A child its parent waits for without running it (a spin on a flag,
    // not `result()`) sits in the parent's deque until the other worker
    // steals it: the only way it can run, so the steal is certain, not a
    // matter of timing.
    let stolen = pool
        .submit(|| {
            let ran = Arc::new(AtomicBool::new(false));
            let flag = ran.clone();
            let child = ThreadPool::current()
                .unwrap()
                .submit(move || flag.store(true, SeqCst))
                .unwrap();
            let give_up = Instant::now() + Duration::from_secs(60);
            while !ran.load(SeqCst) && Instant::now() < give_up {
                std::thread::yield_now();
            }
            child.result().is_ok() && ran.load(SeqCst)
        })
        .unwrap();
    assert!(
        stolen.result().unwrap(),
        "the other worker never stole the child"
    );
    // A nested graph: every task counted once.
    fn fib(n: u32) -> u64 {
        if n < 2 {
            return n as u64;
        }
        let pool = ThreadPool::current().unwrap();
        let a = pool.submit(move || fib(n - 1)).unwrap();
        let b = pool.submit(move || fib(n - 2)).unwrap();
        a.result().unwrap() + b.result().unwrap()
    }
    assert_eq!(pool.submit(|| fib(18)).unwrap().result().unwrap(), 2584);
    pool.shutdown();
    let stats = pool.stats();
    assert!(
        stats.stolen > 0,
        "a steal that ran the child was not counted"
    );
    assert_eq!(stats.submitted, stats.completed);
}

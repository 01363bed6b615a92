//! `ThreadPool::wait_idle` (a barrier that does not shut down) and
//! `yield_now` (a long task lets queued work run on its worker).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use stealpool::{yield_now, TaskError, ThreadPool, Yield};
use support::Latch;

/// Submits `n` fire-and-forget tasks that each submit one child; every
/// task and child bumps `count`.
fn spray(pool: &ThreadPool, n: usize, count: &Arc<AtomicUsize>) {
    for _ in 0..n {
        let c = count.clone();
        drop(
            pool.submit(move || {
                c.fetch_add(1, SeqCst);
                let c = c.clone();
                let pool = ThreadPool::current().unwrap();
                drop(pool.submit(move || c.fetch_add(1, SeqCst)).unwrap());
            })
            .unwrap(),
        );
    }
}

#[test]
fn wait_idle_waits_for_detached_tasks_and_their_children() {
    let pool = ThreadPool::new(2).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    for round in 1..=5 {
        spray(&pool, 500, &count);
        pool.wait_idle().unwrap();
        assert_eq!(count.load(SeqCst), round * 1000, "round {round}");
    }
    assert!(!pool.is_shutdown(), "wait_idle does not shut down");
}

#[test]
fn wait_idle_waits_for_a_blocked_task() {
    let pool = ThreadPool::new(2).unwrap();
    let (gate, finished) = (Latch::new(), Arc::new(AtomicUsize::new(0)));
    let (g, f) = (gate.clone(), finished.clone());
    drop(
        pool.submit(move || {
            g.wait();
            f.fetch_add(1, SeqCst);
        })
        .unwrap(),
    );
    let opener = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(20));
        gate.open();
    });
    pool.wait_idle().unwrap();
    assert_eq!(
        finished.load(SeqCst),
        1,
        "returned before the task finished"
    );
    opener.join().unwrap();
}

#[test]
fn wait_idle_returns_on_an_idle_new_and_a_shut_down_pool() {
    let pool = ThreadPool::new(3).unwrap();
    pool.wait_idle().unwrap();
    pool.wait_idle().unwrap();
    pool.shutdown();
    pool.wait_idle().unwrap();
}

#[test]
fn wait_idle_from_the_pools_own_task_is_a_deadlock_error() {
    let pool = ThreadPool::new(1).unwrap();
    let inner = pool
        .submit(|| ThreadPool::current().unwrap().wait_idle())
        .unwrap();
    assert!(matches!(inner.result().unwrap(), Err(TaskError::Deadlock)));
}

#[test]
fn yield_now_runs_a_queued_task_or_says_idle() {
    assert_eq!(yield_now(), None, "not on a worker");
    let pool = ThreadPool::new(1).unwrap();
    let outcome = pool
        .submit(|| {
            let idle = yield_now();
            let pool = ThreadPool::current().unwrap();
            let queued = pool.submit(|| 3).unwrap();
            let ran = yield_now();
            (idle, ran, queued.done())
        })
        .unwrap();
    assert_eq!(
        outcome.result().unwrap(),
        (Some(Yield::Idle), Some(Yield::Executed), true)
    );
}

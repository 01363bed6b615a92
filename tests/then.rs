//! Continuations: `then` and `when_all` receive every outcome, run on the
//! pool without blocking a thread or growing a stack, cancel alone, and
//! follow the shutdown rules.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::thread;
use stealpool::{ShutdownOptions, TaskError, TaskHandle, ThreadPool};
use support::{eventually, Latch, Watchdog, HANG};

fn on_pool() -> bool {
    ThreadPool::with_current(|_| ()).is_some()
}

#[test]
fn then_gets_the_value_of_a_pending_parent() {
    let pool = ThreadPool::new(2).unwrap();
    let gate = Latch::new();
    let g = gate.clone();
    let h = pool
        .submit(move || {
            g.wait();
            20
        })
        .unwrap();
    let c = h.then(|r| (r.unwrap() + 1, on_pool()));
    assert!(!c.done());
    gate.open();
    assert_eq!(c.result().unwrap(), (21, true));
}

#[test]
fn then_on_a_finished_parent_is_queued_on_the_pool() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 5).unwrap();
    h.wait();
    let me = thread::current().id();
    let c = h.then(move |r| (r.unwrap() * 2, on_pool(), thread::current().id() != me));
    assert_eq!(c.result().unwrap(), (10, true, true));
}

#[test]
fn a_panic_and_a_cancel_reach_the_continuation() {
    let pool = ThreadPool::new(1).unwrap();
    let failing = pool.submit(|| -> u32 { panic!("parent failed") }).unwrap();
    let seen = failing.then(|r| r.unwrap_err().panic_message().map(str::to_owned));
    assert_eq!(seen.result().unwrap().as_deref(), Some("parent failed"));

    let (busy, free) = (Latch::new(), Latch::new());
    let (b, f) = (busy.clone(), free.clone());
    let blocker = pool
        .submit(move || {
            b.open();
            f.wait();
        })
        .unwrap();
    busy.wait();
    let queued = pool.submit(|| 1).unwrap();
    let canceller = queued.clone();
    let seen = queued.then(|r| r.unwrap_err().is_cancelled());
    assert!(canceller.cancel());
    free.open();
    blocker.result().unwrap();
    assert!(seen.result().unwrap());
}

#[test]
fn cancelling_a_pending_continuation_cancels_that_node_only() {
    let pool = ThreadPool::new(2).unwrap();
    let gate = Latch::new();
    let g = gate.clone();
    let parent = pool
        .submit(move || {
            g.wait();
            7
        })
        .unwrap();
    let keep = parent.clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let child = parent.then(move |v| {
        r.fetch_add(1, SeqCst);
        v
    });
    let r = ran.clone();
    let grandchild = child.clone().then(move |v| {
        r.fetch_add(1, SeqCst);
        v.map(|_| ()).map_err(|e| e.is_cancelled())
    });
    assert!(child.cancel());
    assert!(child.cancelled());
    gate.open();
    assert_eq!(keep.result().unwrap(), 7, "the parent still ran");
    assert!(child.result().unwrap_err().is_cancelled());
    // The grandchild hears of the cancel, and runs.
    assert_eq!(grandchild.result().unwrap(), Err(true));
    assert_eq!(ran.load(SeqCst), 1, "only the grandchild ran");
}

#[test]
fn then_after_the_value_was_taken_passes_result_taken() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 3).unwrap();
    assert_eq!(h.clone().result().unwrap(), 3);
    let c = h.then(|r| matches!(r, Err(TaskError::ResultTaken)));
    assert!(c.result().unwrap());
}

#[test]
fn registered_before_shutdown_runs() {
    let pool = ThreadPool::new(1).unwrap();
    let gate = Latch::new();
    let g = gate.clone();
    let h = pool
        .submit(move || {
            g.wait();
            1
        })
        .unwrap();
    let c = h.then(|r| r.unwrap() + 1).then(|r| r.unwrap() + 1);
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(false));
    gate.open();
    assert_eq!(c.result().unwrap(), 3);
    pool.shutdown();
}

#[test]
fn registered_after_shutdown_resolves_shutdown() {
    let pool = ThreadPool::new(2).unwrap();
    let h = pool.submit(|| 1).unwrap();
    let pending = {
        let gate = Latch::new();
        let g = gate.clone();
        let p = pool
            .submit(move || {
                g.wait();
                2
            })
            .unwrap();
        (p, gate)
    };
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(false));
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let c = h.then(move |_| r.fetch_add(1, SeqCst));
    assert!(matches!(c.result(), Err(TaskError::Shutdown)));
    // On a still-pending parent too.
    let r = ran.clone();
    let (p, gate) = pending;
    let c = p.then(move |_| r.fetch_add(1, SeqCst));
    gate.open();
    assert!(matches!(c.result(), Err(TaskError::Shutdown)));
    pool.shutdown();
    assert_eq!(ran.load(SeqCst), 0);
}

#[test]
fn a_dropped_pool_refuses_new_continuations() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 1).unwrap();
    drop(pool); // the last handle: shuts down and waits
    assert!(matches!(h.then(|r| r).result(), Err(TaskError::Shutdown)));
}

#[test]
fn registered_by_a_worker_after_shutdown_runs() {
    let pool = ThreadPool::new(1).unwrap();
    let (started, go) = (Latch::new(), Latch::new());
    let (s, g) = (started.clone(), go.clone());
    let outer = pool
        .submit(move || {
            s.open();
            g.wait();
            let pool = ThreadPool::current().unwrap();
            let h = pool.submit(|| 20).unwrap();
            h.then(|r| r.unwrap() + 1).result()
        })
        .unwrap();
    started.wait();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(false));
    go.open();
    assert_eq!(outer.result().unwrap().unwrap(), 21);
}

const CHAIN: u64 = 1_000_000;

fn small_stack_pool(workers: usize) -> ThreadPool {
    ThreadPool::builder()
        .max_workers(workers)
        .stack_size(64 * 1024)
        .build()
        .unwrap()
}

#[test]
fn a_million_long_chain_built_ahead_runs_on_64k_stacks() {
    let _dog = Watchdog::new("million-long chain", HANG * 4);
    let pool = small_stack_pool(2);
    let gate = Latch::new();
    let g = gate.clone();
    let mut h = pool
        .submit(move || {
            g.wait();
            0u64
        })
        .unwrap();
    for _ in 0..CHAIN {
        h = h.then(|r| r.unwrap() + 1);
    }
    gate.open();
    assert_eq!(h.result().unwrap(), CHAIN);
}

#[test]
fn a_million_long_chain_built_on_a_worker_from_finished_parents() {
    // Each parent has finished, or finishes while the next link is added:
    // delivery queues the continuation, it never runs on this stack.
    let _dog = Watchdog::new("chain built on a worker", HANG * 4);
    let pool = small_stack_pool(1);
    let v = pool
        .submit(|| {
            let pool = ThreadPool::current().unwrap();
            let mut h = pool.submit(|| 0u64).unwrap();
            h.wait();
            for _ in 0..CHAIN {
                h = h.then(|r| r.unwrap() + 1);
            }
            h.result().unwrap()
        })
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(v, CHAIN);
}

/// Extends a chain from inside its own continuations, each time on a
/// handle that has already finished.
fn next_link(v: u64, left: u64, tx: mpsc::Sender<u64>) {
    if left == 0 {
        tx.send(v).unwrap();
        return;
    }
    let pool = ThreadPool::current().unwrap();
    let h = pool.submit(move || v + 1).unwrap();
    h.wait();
    drop(h.then(move |r| next_link(r.unwrap(), left - 1, tx)));
}

#[test]
fn a_continuation_of_a_finished_parent_never_runs_on_the_registering_stack() {
    // Were it run inline, each link would nest inside the previous one:
    // 100,000 frames on a 64 KiB stack.
    let pool = small_stack_pool(1);
    let (tx, rx) = mpsc::channel();
    pool.submit(move || next_link(0, 100_000, tx)).unwrap();
    assert_eq!(rx.recv_timeout(HANG * 2).unwrap(), 100_000);
}

#[test]
fn a_cancelling_shutdown_runs_a_pending_chain_without_recursion() {
    // The parent is cancelled on this thread by the shutdown; the pool has
    // shut down, so its continuations run here, one after another: 100,000
    // nested frames would overflow this thread's stack.
    let _dog = Watchdog::new("chain after cancelling shutdown", HANG);
    let pool = ThreadPool::new(1).unwrap();
    let (busy, free) = (Latch::new(), Latch::new());
    let (b, f) = (busy.clone(), free.clone());
    let blocker = pool
        .submit(move || {
            b.open();
            f.wait();
        })
        .unwrap();
    busy.wait();
    let mut h: TaskHandle<u64> = pool.submit(|| 0).unwrap();
    for _ in 0..100_000 {
        h = h.then(|r| r.map_or(1, |v| v + 1));
    }
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    assert_eq!(h.result().unwrap(), 100_000);
    free.open();
    blocker.result().unwrap();
}

#[test]
fn waiting_on_a_continuation_inside_a_task_on_one_worker() {
    let pool = ThreadPool::new(1).unwrap();
    let v = pool
        .submit(|| {
            let pool = ThreadPool::current().unwrap();
            let a = pool.submit(|| 4).unwrap();
            let b = a.then(|r| r.unwrap() * 10);
            b.result().unwrap()
        })
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(v, 40);
}

#[test]
fn every_continuation_runs_exactly_once_while_parents_race() {
    let pool = ThreadPool::new(2).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..2_000u64)
        .map(|i| {
            let r = runs.clone();
            pool.submit(move || i).unwrap().then(move |v| {
                r.fetch_add(1, SeqCst);
                v.unwrap()
            })
        })
        .collect();
    let sum: u64 = handles.into_iter().map(|h| h.result().unwrap()).sum();
    assert_eq!(sum, 2_000 * 1_999 / 2);
    assert_eq!(runs.load(SeqCst), 2_000);
}

#[test]
fn when_all_gets_outcomes_in_input_order() {
    let pool = ThreadPool::new(2).unwrap();
    let gates: Vec<Latch> = (0..4).map(|_| Latch::new()).collect();
    let handles: Vec<TaskHandle<u32>> = (0..4u32)
        .map(|i| {
            let g = gates[i as usize].clone();
            pool.submit(move || {
                g.wait();
                if i == 2 {
                    panic!("two");
                }
                i
            })
            .unwrap()
        })
        .collect();
    let all = pool
        .when_all(handles, |outcomes| {
            let shown: Vec<String> = outcomes
                .into_iter()
                .map(|o| match o {
                    Ok(v) => v.to_string(),
                    Err(e) => e.panic_message().unwrap_or("?").to_string(),
                })
                .collect();
            (shown.join(","), on_pool())
        })
        .unwrap();
    // Finish out of order.
    for i in [3, 1, 0, 2] {
        assert!(!all.done());
        gates[i].open();
    }
    assert_eq!(all.result().unwrap(), ("0,1,two,3".to_string(), true));
}

#[test]
fn when_all_of_nothing_runs_at_once_and_of_another_pools_tasks() {
    let pool = ThreadPool::new(1).unwrap();
    let none: Vec<TaskHandle<u8>> = Vec::new();
    assert_eq!(
        pool.when_all(none, |v| v.len()).unwrap().result().unwrap(),
        0
    );
    let other = ThreadPool::new(1).unwrap();
    let hs = vec![other.submit(|| 1).unwrap(), other.submit(|| 2).unwrap()];
    let sum = pool
        .when_all(hs, |v| v.into_iter().map(Result::unwrap).sum::<i32>())
        .unwrap();
    assert_eq!(sum.result().unwrap(), 3);
}

#[test]
fn when_all_after_shutdown_hands_f_back() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 1).unwrap();
    pool.shutdown();
    let err = pool
        .when_all(vec![h], |v: Vec<Result<i32, TaskError>>| v.len())
        .unwrap_err();
    assert!(err.is_shutdown());
    assert_eq!((err.into_inner())(Vec::new()), 0);
}

#[test]
fn cancelling_a_when_all_continuation_leaves_its_parents() {
    let pool = ThreadPool::new(2).unwrap();
    let gate = Latch::new();
    let g = gate.clone();
    let a = pool
        .submit(move || {
            g.wait();
            1
        })
        .unwrap();
    let keep = a.clone();
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let all = pool
        .when_all(vec![a], move |_| {
            r.fetch_add(1, SeqCst);
        })
        .unwrap();
    assert!(all.cancel());
    gate.open();
    assert_eq!(keep.result().unwrap(), 1);
    assert!(all.result().unwrap_err().is_cancelled());
    pool.shutdown();
    assert_eq!(ran.load(SeqCst), 0);
}

#[test]
fn a_diamond_of_continuations() {
    let pool = ThreadPool::new(2).unwrap();
    let top = pool.submit(|| 2u64).unwrap();
    let left = top.clone().then(|r| r.unwrap_or(0) * 3);
    let right = top.then(|r| matches!(r, Err(TaskError::ResultTaken)) as u64);
    // One of the two branches takes the value; the other sees ResultTaken.
    let bottom = pool
        .when_all(vec![left, right], |v| {
            v.into_iter().map(Result::unwrap).sum::<u64>()
        })
        .unwrap();
    let v = bottom.result().unwrap();
    assert!(v == 7 || v == 0, "{v}");
    assert!(eventually(|| pool.stats().tasks_queued == 0));
}

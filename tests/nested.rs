//! Nested submission: a task that waits on its children never deadlocks,
//! even with one worker.

use stealpool::ThreadPool;

fn pool_here() -> ThreadPool {
    ThreadPool::current().expect("called from a pool worker")
}

#[test]
fn one_worker_task_waits_on_its_child() {
    let pool = ThreadPool::new(1).unwrap();
    let parent = pool
        .submit(|| {
            let child = pool_here().submit(|| 41).unwrap();
            child.result().unwrap() + 1
        })
        .unwrap();
    assert_eq!(parent.result().unwrap(), 42);
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let pool = pool_here();
    let a = pool.submit(move || fib(n - 1)).unwrap();
    let b = pool.submit(move || fib(n - 2)).unwrap();
    a.result().unwrap() + b.result().unwrap()
}

#[test]
fn recursive_fib_20_on_two_workers() {
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(pool.submit(|| fib(20)).unwrap().result().unwrap(), 6765);
}

#[test]
fn recursive_fib_on_one_worker() {
    let pool = ThreadPool::new(1).unwrap();
    assert_eq!(pool.submit(|| fib(15)).unwrap().result().unwrap(), 610);
}

fn chain(depth: u32) -> u32 {
    if depth == 0 {
        return 0;
    }
    let child = pool_here().submit(move || chain(depth - 1)).unwrap();
    child.result().unwrap() + 1
}

#[test]
fn chain_of_1000_nested_waits_on_one_worker() {
    let pool = ThreadPool::new(1).unwrap();
    assert_eq!(pool.submit(|| chain(1000)).unwrap().result().unwrap(), 1000);
}

#[test]
fn waiting_on_a_task_stolen_by_another_worker() {
    // The parent blocks a child on a channel, so the child must run on the
    // other worker (stolen) while the parent waits and helps.
    let pool = ThreadPool::new(2).unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<u32>();
    let parent = pool
        .submit(move || {
            let pool = pool_here();
            let slow = pool.submit(move || rx.recv().unwrap()).unwrap();
            let feeder = pool.submit(move || tx.send(7).unwrap()).unwrap();
            feeder.result().unwrap();
            slow.result().unwrap()
        })
        .unwrap();
    assert_eq!(parent.result().unwrap(), 7);
}

#[test]
fn current_is_none_outside_and_same_pool_inside() {
    assert!(ThreadPool::current().is_none());
    let pool = ThreadPool::builder().max_workers(3).build().unwrap();
    let workers = pool
        .submit(|| pool_here().max_workers())
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(workers, 3);
}

#[test]
fn children_submitted_during_shutdown_still_run() {
    let pool = ThreadPool::new(1).unwrap();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let parent = pool
        .submit(move || {
            go_rx.recv().unwrap();
            // The pool is shut down by now; submissions from its own
            // workers are still accepted so the graph can finish.
            let child = pool_here().submit(|| 5).unwrap();
            child.result().unwrap()
        })
        .unwrap();
    let closer = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.shutdown())
    };
    while !pool.is_shutdown() {
        std::thread::yield_now();
    }
    go_tx.send(()).unwrap();
    assert_eq!(parent.result().unwrap(), 5);
    closer.join().unwrap();
}

/// fib through `with_current`, recording at every leaf how many queue
/// entries the pool holds (stale entries of finished nodes included).
fn fib_counting_queued(n: u64, most: &'static std::sync::atomic::AtomicUsize) -> u64 {
    use std::sync::atomic::Ordering::Relaxed;
    if n < 2 {
        let queued = ThreadPool::with_current(|p| p.stats().tasks_queued).unwrap();
        most.fetch_max(queued, Relaxed);
        return n;
    }
    let (a, b) = ThreadPool::with_current(|pool| {
        let a = pool
            .submit(move || fib_counting_queued(n - 1, most))
            .unwrap();
        let b = pool
            .submit(move || fib_counting_queued(n - 2, most))
            .unwrap();
        (a, b)
    })
    .unwrap();
    a.result().unwrap() + b.result().unwrap()
}

/// Waits run their children inline, which leaves queue entries behind;
/// they must stay bounded by the depth (fib(18) has 8,361 nodes, 18
/// levels), not pile up with the tree.
#[test]
fn nested_waits_keep_the_queues_short() {
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    static ONE: AtomicUsize = AtomicUsize::new(0);
    static TWO: AtomicUsize = AtomicUsize::new(0);
    for (workers, most) in [(1, &ONE), (2, &TWO)] {
        let pool = ThreadPool::new(workers).unwrap();
        let fib18 = pool.submit(move || fib_counting_queued(18, most));
        assert_eq!(fib18.unwrap().result().unwrap(), 2584);
        let most = most.load(Relaxed);
        // About two entries per level and worker (34 on one worker, 46-58
        // on two, in runs so far), against 8,360 without the pops.
        assert!(
            most <= 3 * 18 * workers,
            "{workers} worker(s): up to {most} entries queued"
        );
    }
}

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;
use stealpool::{TaskError, TaskHandle};
use support::{Latch, HANG};

#[test]
fn a_task_waiting_on_its_own_handle_gets_deadlock_at_once() {
    let pool = ThreadPool::new(1).unwrap();
    let me: Arc<Mutex<Option<TaskHandle<&str>>>> = Arc::default();
    let known = Latch::new();
    let (m, k) = (me.clone(), known.clone());
    let handle = pool
        .submit(move || {
            k.wait();
            let me = m.lock().unwrap().take().expect("handle stored");
            assert!(matches!(me.result(), Err(TaskError::Deadlock)));
            assert!(!me.wait_timeout(HANG), "a self-wait must not time out");
            me.wait(); // returns at once, unfinished
            assert!(!me.done());
            "returned"
        })
        .unwrap();
    *me.lock().unwrap() = Some(handle.clone());
    known.open();
    assert_eq!(handle.result_timeout(HANG).unwrap(), "returned");
}

#[test]
fn a_wait_on_a_task_the_waiter_ran_while_helping_is_a_deadlock() {
    // The outer task waits on a child that runs on the other worker; while
    // it helps, it runs `inner`, which waits on the outer task: below it on
    // the same stack, so that wait could never end.
    let pool = ThreadPool::new(2).unwrap();
    let outer_slot: Arc<Mutex<Option<TaskHandle<()>>>> = Arc::default();
    let (release, child_started, inner_ran) = (Latch::new(), Latch::new(), Latch::new());
    let (slot, rel, started, ran) = (
        outer_slot.clone(),
        release.clone(),
        child_started.clone(),
        inner_ran.clone(),
    );
    let outer = pool
        .submit(move || {
            let pool = ThreadPool::current().unwrap();
            let st = started.clone();
            let child = pool
                .submit(move || {
                    st.open();
                    rel.wait();
                })
                .unwrap();
            // This worker is busy until the other one has stolen the child.
            started.wait();
            let _inner = pool
                .submit(move || {
                    let outer = slot.lock().unwrap().clone().expect("outer stored");
                    let outcome = outer.result();
                    assert!(matches!(outcome, Err(TaskError::Deadlock)), "{outcome:?}");
                    ran.open();
                })
                .unwrap();
            child.result().unwrap();
        })
        .unwrap();
    *outer_slot.lock().unwrap() = Some(outer.clone());
    inner_ran.wait();
    release.open();
    outer.result_timeout(HANG).unwrap();
    outer_slot.lock().unwrap().take();
}

#[test]
fn a_timed_wait_on_a_worker_never_starts_unrelated_work() {
    let pool = ThreadPool::new(2).unwrap();
    let (x_started, x_may_end, unrelated_may_end) = (Latch::new(), Latch::new(), Latch::new());
    let (s, e) = (x_started.clone(), x_may_end.clone());
    // X occupies one worker until the end.
    let x = pool
        .submit(move || {
            s.open();
            e.wait();
        })
        .unwrap();
    x_started.wait();
    let hold = unrelated_may_end.clone();
    let waiter = pool
        .submit(move || {
            // Queued on this worker and unrelated to X: a wait that helped
            // would run it here and block until after this wait returned.
            let pool = ThreadPool::current().unwrap();
            let _unrelated = pool.submit(move || hold.wait()).unwrap();
            x.wait_timeout(Duration::from_millis(20))
        })
        .unwrap();
    assert!(
        !waiter.result_timeout(HANG).unwrap(),
        "X cannot have finished"
    );
    unrelated_may_end.open();
    x_may_end.open();
}

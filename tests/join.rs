//! `join` and `ThreadPool::join`: both closures run, may borrow, panics are
//! re-raised after both finished, and a join on a worker allocates nothing.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread::{self, ThreadId};
use stealpool::{join, ShutdownOptions, ThreadPool};
use support::{eventually, Latch, Watchdog, HANG};

/// Counts heap allocations made by each thread, so a test can see what its
/// own thread allocated while other threads do as they like.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: defers to `System`; the counter is a const-initialized
// thread-local `Cell`, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations_here() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = join(|| fib(n - 1), || fib(n - 2));
    a + b
}

#[test]
fn outside_any_pool_a_runs_then_b_on_the_caller() {
    let order = Mutex::new(Vec::new());
    let me = thread::current().id();
    let (a, b) = join(
        || {
            order.lock().unwrap().push("a");
            thread::current().id()
        },
        || {
            order.lock().unwrap().push("b");
            thread::current().id()
        },
    );
    assert_eq!((a, b), (me, me));
    assert_eq!(*order.lock().unwrap(), ["a", "b"]);
}

#[test]
fn fib_by_join_on_one_and_two_workers() {
    for workers in [1, 2] {
        let pool = ThreadPool::new(workers).unwrap();
        assert_eq!(pool.submit(|| fib(20)).unwrap().result().unwrap(), 6765);
        assert_eq!(pool.join(|| fib(18), || fib(19)), (2584, 4181));
    }
}

#[test]
fn closures_borrow_the_callers_stack_mutably() {
    let pool = ThreadPool::new(2).unwrap();
    let mut v: Vec<u64> = (0..10_000).rev().collect();
    let (left, right) = v.split_at_mut(5_000);
    let (l, r) = pool.join(
        || {
            left.sort_unstable();
            left.len()
        },
        || {
            right.sort_unstable();
            right.len()
        },
    );
    assert_eq!((l, r), (5_000, 5_000));
    assert!(v[..5_000].windows(2).all(|w| w[0] <= w[1]));
    assert!(v[5_000..].windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn pool_join_from_outside_runs_both_on_the_pool() {
    let pool = ThreadPool::new(2).unwrap();
    let (a, b) = pool.join(
        || ThreadPool::with_current(|_| ()).is_some(),
        || ThreadPool::with_current(|_| ()).is_some(),
    );
    assert!(a && b, "both halves ran on the pool's workers");
    // A worker of another pool hands the pair to this one.
    let other = ThreadPool::new(1).unwrap();
    let pool2 = pool.clone();
    let ids = other
        .submit(move || pool2.join(|| thread::current().id(), || thread::current().id()))
        .unwrap()
        .result()
        .unwrap();
    let other_worker = other
        .submit(|| thread::current().id())
        .unwrap()
        .result()
        .unwrap();
    assert_ne!(ids.0, other_worker);
}

#[test]
fn b_stolen_while_a_blocks_runs_on_the_other_worker() {
    let pool = ThreadPool::new(2).unwrap();
    let (a, b) = pool
        .submit(|| {
            let b_started = Latch::new();
            let seen = b_started.clone();
            join(
                move || {
                    // Only a thief can open this: `a` blocks this worker.
                    seen.wait();
                    thread::current().id()
                },
                move || {
                    b_started.open();
                    thread::current().id()
                },
            )
        })
        .unwrap()
        .result()
        .unwrap();
    assert_ne!(a, b, "b ran on the thief");
}

#[test]
fn owner_waits_for_a_stolen_b_that_is_still_running() {
    // a returns at once; b is stolen and held until the owner has found its
    // deque empty, so the owner must wait (helping, then parked) on the latch.
    let pool = ThreadPool::new(2).unwrap();
    let taken = Latch::new();
    let release = Latch::new();
    let (t, r) = (taken.clone(), release.clone());
    let h = pool
        .submit(move || {
            join(
                || 1,
                move || {
                    t.open();
                    r.wait();
                    2
                },
            )
        })
        .unwrap();
    taken.wait();
    assert!(!h.done());
    release.open();
    assert_eq!(h.result().unwrap(), (1, 2));
}

fn caught<R>(f: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_default()
    })
}

#[test]
fn a_panic_in_a_is_raised_after_b_finished() {
    for workers in [1, 2] {
        let pool = ThreadPool::new(workers).unwrap();
        let b_done = AtomicBool::new(false);
        let a_panicking = Latch::new();
        let err = caught(|| {
            pool.join(
                || -> () {
                    a_panicking.open();
                    panic!("a failed")
                },
                || {
                    // On two workers b may be stolen: it is still running
                    // when a's panic reaches join, which must wait for it.
                    a_panicking.wait();
                    b_done.store(true, SeqCst);
                },
            )
        })
        .unwrap_err();
        assert_eq!(err, "a failed");
        assert!(b_done.load(SeqCst), "b finished before the panic left join");
        // Outside any pool, the same.
        let b_done = AtomicBool::new(false);
        let err = caught(|| {
            join(
                || -> () { panic!("outside") },
                || b_done.store(true, SeqCst),
            )
        })
        .unwrap_err();
        assert_eq!(err, "outside");
        assert!(b_done.load(SeqCst));
    }
}

#[test]
fn a_panic_in_b_is_raised_and_a_panic_in_both_raises_as() {
    let pool = ThreadPool::new(2).unwrap();
    let a_done = AtomicBool::new(false);
    let err = caught(|| {
        pool.join(
            || a_done.store(true, SeqCst),
            || -> () { panic!("b failed") },
        )
    })
    .unwrap_err();
    assert_eq!(err, "b failed");
    assert!(a_done.load(SeqCst));
    let err = caught(|| {
        pool.submit(|| caught(|| join(|| -> () { panic!("first") }, || -> () { panic!("second") })))
            .unwrap()
            .result()
            .unwrap()
    })
    .unwrap()
    .unwrap_err();
    assert_eq!(err, "first");
    // The worker survived both.
    assert_eq!(pool.submit(|| fib(10)).unwrap().result().unwrap(), 55);
}

#[test]
fn a_join_on_a_worker_allocates_nothing() {
    let pool = ThreadPool::new(1).unwrap();
    let allocated = pool
        .submit(|| {
            fib(12); // warm up: the deque grows once
            let before = allocations_here();
            let v = fib(18); // 4,180 joins
            assert_eq!(v, 2584);
            allocations_here() - before
        })
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(allocated, 0, "allocations during 4,180 joins on one worker");
}

#[test]
fn joins_on_two_workers_allocate_far_less_than_once_per_call() {
    // With a thief about, this thread may still grow a deque or register
    // as a sleeper now and then; never once per join.
    let pool = ThreadPool::new(2).unwrap();
    let allocated = pool
        .submit(|| {
            fib(15);
            let before = allocations_here();
            assert_eq!(fib(20), 6765); // 10,945 joins
            allocations_here() - before
        })
        .unwrap()
        .result()
        .unwrap();
    assert!(allocated < 100, "{allocated} allocations for 10,945 joins");
}

#[test]
fn join_halves_are_not_counted_as_tasks() {
    let pool = ThreadPool::new(2).unwrap();
    pool.submit(|| fib(12)).unwrap().result().unwrap();
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!((stats.submitted, stats.completed), (1, 1));
}

#[test]
fn a_released_stack_job_runs_on_its_owner() {
    // One worker: nobody can steal b. A cancelling shutdown takes b's queue
    // entry while a blocks; the entry goes back to the join, which runs b
    // itself on the same thread.
    let _dog = Watchdog::new("released stack job", HANG);
    let pool = ThreadPool::new(1).unwrap();
    let (a_started, go) = (Latch::new(), Latch::new());
    let (s, g) = (a_started.clone(), go.clone());
    let h = pool
        .submit(move || {
            join(
                move || {
                    s.open();
                    g.wait();
                    thread::current().id()
                },
                || thread::current().id(),
            )
        })
        .unwrap();
    a_started.wait();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    go.open();
    let (a, b) = h.result().unwrap();
    assert_eq!(a, b);
    pool.shutdown();
    assert_eq!(
        pool.stats().cancelled,
        0,
        "a join's half is never cancelled"
    );
}

#[test]
fn pool_join_after_shutdown_runs_on_the_caller() {
    let pool = ThreadPool::new(2).unwrap();
    pool.shutdown();
    let me = thread::current().id();
    let (a, b) = pool.join(|| thread::current().id(), || thread::current().id());
    assert_eq!((a, b), (me, me));
}

#[test]
fn pool_join_whose_task_is_cancelled_runs_on_the_caller() {
    let _dog = Watchdog::new("cancelled pool join", HANG);
    let pool = ThreadPool::new(1).unwrap();
    let (busy, free) = (Latch::new(), Latch::new());
    let (b2, f2) = (busy.clone(), free.clone());
    let blocker = pool
        .submit(move || {
            b2.open();
            f2.wait();
        })
        .unwrap();
    busy.wait();
    let pool2 = pool.clone();
    let ran_on: Arc<Mutex<Vec<ThreadId>>> = Arc::default();
    let r = ran_on.clone();
    let joiner = thread::spawn(move || {
        let r2 = r.clone();
        pool2.join(
            move || r.lock().unwrap().push(thread::current().id()),
            move || r2.lock().unwrap().push(thread::current().id()),
        );
        thread::current().id()
    });
    // The pair's task is queued behind the blocker; cancel it.
    assert!(eventually(|| pool.stats().tasks_queued == 1));
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    let joiner_id = joiner.join().unwrap();
    assert_eq!(*ran_on.lock().unwrap(), [joiner_id, joiner_id]);
    free.open();
    blocker.result().unwrap();
}

#[test]
fn deep_and_wide_joins_count_every_leaf_once() {
    fn count(lo: usize, hi: usize, hits: &[AtomicUsize]) {
        if hi - lo == 1 {
            hits[lo].fetch_add(1, SeqCst);
            return;
        }
        let mid = (lo + hi) / 2;
        join(|| count(lo, mid, hits), || count(mid, hi, hits));
    }
    let pool = ThreadPool::new(2).unwrap();
    let hits: Vec<AtomicUsize> = (0..50_000).map(|_| AtomicUsize::new(0)).collect();
    pool.join(|| count(0, 25_000, &hits), || count(25_000, 50_000, &hits));
    assert!(hits.iter().all(|h| h.load(SeqCst) == 1));
}

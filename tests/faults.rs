//! Faults: panics in tasks, done callbacks, the panic handler, the
//! initializer and the drop of a task's closure or value are each contained
//! and reported as documented, and the pool keeps serving; a task blocked
//! forever stops neither a non-waiting shutdown nor the other workers.

mod support;

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use stealpool::{ShutdownOptions, TaskError, ThreadPool};
use support::{eventually, submit_after, Latch, Watchdog};

/// Panics with a `&str` without the panic hook's stderr line.
fn quiet_panic(message: &'static str) -> ! {
    resume_unwind(Box::new(message))
}

/// Counts its drops, then panics.
struct PanicOnDrop(Arc<AtomicUsize>);

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
        quiet_panic("drop");
    }
}

/// The pool still runs plain work, on every one of its workers' queues.
fn assert_serves(pool: &ThreadPool) {
    let handles: Vec<_> = (0..64u64)
        .map(|i| pool.submit(move || i).unwrap())
        .collect();
    let sum: u64 = handles.iter().map(|h| h.result().unwrap()).sum();
    assert_eq!(sum, 2016);
}

#[test]
fn task_panics_resolve_handles_and_reach_the_panic_handler() {
    let seen = Arc::new(AtomicUsize::new(0));
    let s = seen.clone();
    let pool = ThreadPool::builder()
        .max_workers(2)
        .panic_handler(move |p| {
            assert_eq!(p.message(), "task");
            s.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();
    let handles: Vec<_> = (0..100u32)
        .map(|i| {
            pool.submit(move || if i % 2 == 0 { quiet_panic("task") } else { i })
                .unwrap()
        })
        .collect();
    for (i, h) in handles.iter().enumerate() {
        match h.result() {
            Ok(v) => assert_eq!(v as usize, i),
            Err(e) => assert!(i % 2 == 0 && e.panic_message() == Some("task")),
        }
        assert_eq!(h.failed(), i % 2 == 0);
    }
    // The handler runs before the handle resolves.
    assert_eq!(seen.load(SeqCst), 50);
    assert_eq!(pool.stats().panicked, 50);
    assert_serves(&pool);
}

#[test]
fn a_panicking_panic_handler_is_contained() {
    let pool = ThreadPool::builder()
        .max_workers(1)
        .panic_handler(|_| quiet_panic("handler"))
        .build()
        .unwrap();
    for _ in 0..10 {
        let err = pool
            .submit(|| quiet_panic("task"))
            .unwrap()
            .result()
            .unwrap_err();
        assert_eq!(
            err.panic_message(),
            Some("task"),
            "the task's own panic is kept"
        );
    }
    assert_serves(&pool);
}

#[test]
fn a_panicking_done_callback_is_contained_and_the_others_run() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, || 7);
    let ran = Arc::new(AtomicUsize::new(0));
    for i in 0..3 {
        let ran = ran.clone();
        handle.add_done_callback(move |_| {
            if i == 1 {
                quiet_panic("callback");
            }
            ran.fetch_add(1, SeqCst);
        });
    }
    hold.open();
    assert_eq!(handle.result().unwrap(), 7, "the value survives");
    assert!(eventually(|| ran.load(SeqCst) == 2));
    // Added after completion, it runs here, and its panic stays contained.
    let here = catch_unwind(AssertUnwindSafe(|| {
        handle.add_done_callback(|_| quiet_panic("late callback"));
    }));
    assert!(here.is_ok(), "a late callback's panic reached the caller");
    assert_serves(&pool);
}

#[test]
fn an_initializer_panic_breaks_the_pool() {
    let _watchdog = Watchdog::new("broken pool", Duration::from_secs(60));
    let go = Latch::new();
    let g = go.clone();
    let pool = ThreadPool::builder()
        .max_workers(2)
        .initializer(move || {
            g.wait();
            quiet_panic("init");
        })
        .build()
        .unwrap();
    // Accepted before any initializer finished: none of them may run.
    let runs = Arc::new(AtomicUsize::new(0));
    let pending: Vec<_> = (0..20)
        .map(|_| {
            let r = runs.clone();
            pool.submit(move || r.fetch_add(1, SeqCst)).unwrap()
        })
        .collect();
    go.open();
    for h in &pending {
        assert!(matches!(h.result(), Err(TaskError::PoolBroken)));
        assert!(h.failed() && h.done());
    }
    assert_eq!(runs.load(SeqCst), 0);
    assert!(eventually(|| pool.submit(|| ()).is_err()));
    match pool.submit(|| 5) {
        Err(e) => {
            assert!(e.is_broken(), "refused with {e:?}");
            assert_eq!(e.into_inner()(), 5, "the closure comes back");
        }
        Ok(_) => panic!("a broken pool accepted work"),
    }
    pool.shutdown(); // returns: the workers exit
    assert_serves(&ThreadPool::new(2).unwrap()); // other pools are unaffected
}

#[test]
fn one_worker_initializer_panic_breaks_the_whole_pool() {
    let _watchdog = Watchdog::new("half-broken pool", Duration::from_secs(60));
    let pool = ThreadPool::builder()
        .max_workers(3)
        .on_worker_start(|index| {
            if index == 1 {
                quiet_panic("init 1");
            }
        })
        .build()
        .unwrap();
    // Until the broken flag lands a healthy worker may run some tasks;
    // each handle still resolves, with its value or PoolBroken.
    let mut broken = 0;
    for i in 0..1000u32 {
        match pool.submit(move || i) {
            Ok(h) => match h.result() {
                Ok(v) => assert_eq!(v, i),
                Err(TaskError::PoolBroken) => broken += 1,
                Err(e) => panic!("unexpected {e}"),
            },
            Err(e) => {
                assert!(e.is_broken());
                break;
            }
        }
    }
    assert!(eventually(|| pool.submit(|| ()).is_err()));
    println!("{broken} tasks resolved PoolBroken before submits were refused");
    drop(pool);
}

#[test]
fn a_panicking_drop_of_a_value_on_a_worker_is_contained() {
    let pool = ThreadPool::new(1).unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let hold = Latch::new();
    let d = drops.clone();
    let handle = submit_after(&pool, &hold, move || PanicOnDrop(d));
    drop(handle); // the worker holds the last reference: it drops the value
    hold.open();
    assert!(eventually(|| drops.load(SeqCst) == 1));
    assert_serves(&pool); // the only worker survived it
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn a_panicking_drop_of_a_cancelled_closure_is_contained() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || ());
    let drops = Arc::new(AtomicUsize::new(0));
    let captured = PanicOnDrop(drops.clone());
    let queued = pool
        .submit(move || {
            let _keep = &captured;
        })
        .unwrap();
    let cancelled = catch_unwind(AssertUnwindSafe(|| queued.cancel()));
    assert_eq!(cancelled.ok(), Some(true), "cancel returned normally");
    assert_eq!(drops.load(SeqCst), 1, "the closure was dropped at once");
    assert!(matches!(queued.result(), Err(TaskError::Cancelled)));
    hold.open();
    blocker.result().unwrap();
    assert_serves(&pool);
}

#[test]
fn a_panicking_drop_inside_a_task_is_the_tasks_panic() {
    let pool = ThreadPool::new(1).unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    // The capture is dropped as the closure returns: that is the task's code.
    let h = pool.submit(move || drop(PanicOnDrop(d))).unwrap();
    assert_eq!(h.result().unwrap_err().panic_message(), Some("drop"));
    assert_eq!(drops.load(SeqCst), 1);
    assert_serves(&pool);
}

#[test]
fn a_panicking_value_dropped_with_the_last_handle_leaves_the_pool_serving() {
    let pool = ThreadPool::new(1).unwrap();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let handle = pool.submit(move || PanicOnDrop(d)).unwrap();
    handle.wait();
    // Most likely the worker has let go of the task by now: the handle is last.
    assert!(eventually(|| pool.stats().workers_busy == 0));
    let outcome = catch_unwind(AssertUnwindSafe(|| drop(handle)));
    println!(
        "value's Drop panic on the last handle's drop: {}",
        if outcome.is_err() {
            "reaches the dropper"
        } else {
            "contained"
        }
    );
    // If the worker still held a reference, it drops (and contains) it.
    assert!(eventually(|| drops.load(SeqCst) == 1));
    assert_serves(&pool);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn a_task_blocked_forever_stops_neither_shutdown_nor_other_workers() {
    for cancel_pending in [false, true] {
        let _watchdog = Watchdog::new("blocked-forever task", Duration::from_secs(60));
        let pool = ThreadPool::new(2).unwrap();
        let (started, forever) = (Latch::new(), Latch::new());
        let (s, f) = (started.clone(), forever.clone());
        let stuck = pool
            .submit(move || {
                s.open();
                f.wait(); // opened only at the very end
                "released"
            })
            .unwrap();
        started.wait();
        // The other worker runs everything else meanwhile.
        assert_serves(&pool);
        let more: Vec<_> = (0..100u32)
            .map(|i| pool.submit(move || i).unwrap())
            .collect();
        pool.shutdown_with(
            ShutdownOptions::new()
                .wait(false)
                .cancel_pending(cancel_pending),
        );
        assert!(pool.is_shutdown());
        assert!(pool.submit(|| ()).unwrap_err().is_shutdown());
        for (i, h) in more.iter().enumerate() {
            match h.result() {
                Ok(v) => assert_eq!(v as usize, i),
                Err(TaskError::Cancelled) => assert!(cancel_pending),
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert!(!stuck.done());
        forever.open();
        assert_eq!(stuck.result().unwrap(), "released");
        pool.shutdown();
    }
}

#[test]
fn a_pool_freed_on_its_own_worker_contains_a_panicking_drop_of_its_hooks() {
    // The hook's capture panics when the pool's state is dropped, which
    // happens on the last worker to exit: the task below holds the only
    // handle, so nothing outside keeps the state alive. The process must
    // not abort (the worker's exit path is inside AbortOnPanic).
    let drops = Arc::new(AtomicUsize::new(0));
    let capture = PanicOnDrop(drops.clone());
    let pool = ThreadPool::builder()
        .max_workers(2)
        .before_task(move |_| {
            let _ = &capture;
        })
        .build()
        .unwrap();
    let (outside_dropped, done) = (Latch::new(), Latch::new());
    let (o, d) = (outside_dropped.clone(), done.clone());
    let moved = pool.clone();
    pool.submit(move || {
        o.wait();
        drop(moved); // the last handle: a non-waiting shutdown, on a worker
        d.open();
    })
    .unwrap();
    drop(pool);
    outside_dropped.open();
    done.wait();
    assert!(
        eventually(|| drops.load(SeqCst) == 1),
        "the hooks were never dropped"
    );
}

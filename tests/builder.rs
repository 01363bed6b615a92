//! Builder settings and their validation.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use stealpool::{SubmitError, TaskError, ThreadPool, MAX_WORKERS, MIN_STACK_SIZE};
use support::HANG;

#[test]
fn zero_workers_is_an_error_not_a_panic() {
    let err = ThreadPool::new(0).unwrap_err();
    assert_eq!(err.to_string(), "max_workers must be at least 1");
    let err = ThreadPool::builder()
        .max_workers(MAX_WORKERS + 1)
        .build()
        .unwrap_err();
    assert!(err.to_string().starts_with("max_workers must be at most"));
}

#[test]
fn default_uses_available_parallelism() {
    let pool = ThreadPool::builder().build().unwrap();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(pool.max_workers(), cpus);
}

#[test]
fn threads_are_named_with_the_prefix() {
    let pool = ThreadPool::builder()
        .max_workers(3)
        .thread_name_prefix("crawler")
        .build()
        .unwrap();
    let names = Arc::new(Mutex::new(Vec::new()));
    let n = names.clone();
    let start = Arc::new(std::sync::Barrier::new(3));
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let n = n.clone();
            let start = start.clone();
            pool.submit(move || {
                start.wait(); // one task per worker
                n.lock()
                    .unwrap()
                    .push(std::thread::current().name().unwrap().to_owned());
            })
            .unwrap()
        })
        .collect();
    handles.iter().for_each(|h| h.result().unwrap());
    let mut names = names.lock().unwrap().clone();
    names.sort();
    assert_eq!(names, ["crawler-0", "crawler-1", "crawler-2"]);
}

#[test]
fn stack_size_the_os_refuses_is_a_build_error() {
    let err = ThreadPool::builder()
        .max_workers(2)
        .stack_size(usize::MAX / 2)
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("failed to spawn a worker thread"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn a_stack_below_the_minimum_is_a_build_error() {
    for size in [0, 1, 16 << 10, MIN_STACK_SIZE - 1] {
        let err = ThreadPool::builder()
            .max_workers(1)
            .stack_size(size)
            .build()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("stack_size must be at least {MIN_STACK_SIZE} bytes (got {size})")
        );
        assert!(std::error::Error::source(&err).is_none());
    }
}

/// What `MIN_STACK_SIZE` promises: on exactly that stack a worker (and an
/// extra worker for a blocking section) starts, runs a task that panics
/// through the default hook, runs a nested wait with done callbacks, and
/// shuts down. A stack too small aborts this test binary.
#[test]
fn the_minimum_stack_runs_panics_nested_waits_callbacks_and_shutdown() {
    let stops = Arc::new(AtomicUsize::new(0));
    let s = stops.clone();
    let pool = ThreadPool::builder()
        .max_workers(1)
        .max_blocking(1)
        .stack_size(MIN_STACK_SIZE)
        .on_worker_stop(move |_| {
            s.fetch_add(1, SeqCst);
        })
        .build()
        .unwrap();

    let panicked = pool.submit(|| -> u32 { panic!("on a small stack") });
    assert_eq!(
        panicked.unwrap().result().unwrap_err().panic_message(),
        Some("on a small stack")
    );

    let callbacks = Arc::new(AtomicUsize::new(0));
    let c = callbacks.clone();
    let outer = pool.submit(move || {
        let pool = ThreadPool::current().expect("on a worker");
        let inner = pool.submit(|| 20).unwrap();
        let c1 = c.clone();
        inner.add_done_callback(move |h| {
            assert!(h.done());
            c1.fetch_add(1, SeqCst);
        });
        let value = inner.result().unwrap(); // runs `inner` on this stack
        inner.add_done_callback(move |_| {
            c.fetch_add(1, SeqCst); // runs here, at once: already done
        });
        value + 1
    });
    assert_eq!(outer.unwrap().result().unwrap(), 21);
    assert_eq!(callbacks.load(SeqCst), 2);

    // The one worker blocks; the task that unblocks it can only run on an
    // extra worker, started with the same stack size.
    let (tx, rx) = std::sync::mpsc::channel::<u32>();
    let blocked = pool
        .submit(move || stealpool::blocking(|| rx.recv_timeout(HANG)))
        .unwrap();
    let sender = pool.submit(move || tx.send(7)).unwrap();
    assert_eq!(blocked.result().unwrap(), Ok(7));
    assert!(sender.result().unwrap().is_ok());

    pool.shutdown();
    assert!(stops.load(SeqCst) >= 1, "the regular worker stopped");
}

#[test]
fn initializer_runs_once_per_worker_before_any_task() {
    thread_local!(static READY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) });
    let inits = Arc::new(AtomicUsize::new(0));
    let i = inits.clone();
    let pool = ThreadPool::builder()
        .max_workers(4)
        .initializer(move || {
            i.fetch_add(1, SeqCst);
            READY.with(|r| r.set(true));
        })
        .build()
        .unwrap();
    let handles: Vec<_> = (0..100)
        .map(|_| pool.submit(|| READY.with(|r| r.get())).unwrap())
        .collect();
    assert!(handles.iter().all(|h| h.result().unwrap()));
    pool.shutdown();
    assert_eq!(inits.load(SeqCst), 4);
}

#[test]
fn panicking_initializer_breaks_the_pool() {
    let pool = ThreadPool::builder()
        .max_workers(1)
        .initializer(|| panic!("no database"))
        .build()
        .unwrap();
    // Whether a submission races the broken flag or not, it never runs: it
    // is refused, or its handle resolves PoolBroken.
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    match pool.submit(move || r.fetch_add(1, SeqCst)) {
        Err(e) => assert!(e.is_broken()),
        Ok(h) => assert!(matches!(h.result(), Err(TaskError::PoolBroken))),
    }
    pool.shutdown();
    assert!(matches!(pool.submit(|| ()), Err(SubmitError::Broken(_))));
    assert_eq!(runs.load(SeqCst), 0);
}

//! The public API's shape, checked where a user meets it: `?` from submit
//! to a wait's error type, the error predicates and messages, the shutdown
//! options builder, and the auto traits the types promise.

use std::error::Error;
use std::panic::{catch_unwind, RefUnwindSafe, UnwindSafe};
use stealpool::{Builder, PoolStats, ShutdownOptions, TaskError, TaskHandle, ThreadPool};

/// Submits and waits with `?` throughout: one error type for both steps.
fn square_on(pool: &ThreadPool, x: u64) -> Result<u64, TaskError> {
    pool.submit(move || x * x)?.result()
}

/// The same into a boxed error that can cross threads.
fn square_boxed(pool: &ThreadPool, x: u64) -> Result<u64, Box<dyn Error + Send + Sync>> {
    Ok(pool.submit(move || x * x)?.result()?)
}

#[test]
fn question_mark_turns_a_refused_submit_into_the_task_error_type() {
    let pool = ThreadPool::new(1).unwrap();
    assert_eq!(square_on(&pool, 7).unwrap(), 49);
    assert_eq!(square_boxed(&pool, 8).unwrap(), 64);
    pool.shutdown();
    let err = square_on(&pool, 7).unwrap_err();
    assert!(err.is_shutdown(), "{err:?}");
    assert_eq!(err.to_string(), "not submitted: the pool was shut down");
    let err = square_boxed(&pool, 7).unwrap_err();
    assert_eq!(err.to_string(), "submit after shutdown");
}

#[test]
fn a_broken_pool_converts_to_pool_broken() {
    let pool = ThreadPool::builder()
        .max_workers(1)
        .initializer(|| std::panic::resume_unwind(Box::new("no database")))
        .build()
        .unwrap();
    pool.shutdown(); // returns once the worker has broken the pool and exited
    let refused = pool.submit(|| 1).unwrap_err();
    assert!(refused.is_broken());
    let err = TaskError::from(refused);
    assert!(err.is_pool_broken(), "{err:?}");
    assert!(square_on(&pool, 2).unwrap_err().is_pool_broken());
}

#[test]
fn the_conversion_drops_the_closure_unrun() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    struct CountsDrop(Arc<AtomicUsize>);
    impl Drop for CountsDrop {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let pool = ThreadPool::new(1).unwrap();
    pool.shutdown();
    let drops = Arc::new(AtomicUsize::new(0));
    let guard = CountsDrop(drops.clone());
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    let refused = pool
        .submit(move || {
            let _guard = guard;
            r.fetch_add(1, SeqCst);
        })
        .unwrap_err();
    assert_eq!(drops.load(SeqCst), 0, "the error still holds the closure");
    assert!(TaskError::from(refused).is_shutdown());
    assert_eq!(drops.load(SeqCst), 1, "dropped once, by the conversion");
    assert_eq!(ran.load(SeqCst), 0, "never run");
}

/// Each variant answers true to its own predicate and to no other.
#[test]
fn every_task_error_variant_has_its_own_predicate() {
    let pool = ThreadPool::new(1).unwrap();
    let panicked = pool
        .submit(|| -> u8 { std::panic::resume_unwind(Box::new("quiet")) })
        .unwrap()
        .result()
        .unwrap_err();
    let errors = [
        TaskError::Cancelled,
        panicked,
        TaskError::Timeout,
        TaskError::ResultTaken,
        TaskError::PoolBroken,
        TaskError::Shutdown,
        TaskError::Deadlock,
    ];
    for (i, err) in errors.iter().enumerate() {
        let answers = [
            err.is_cancelled(),
            err.is_panic(),
            err.is_timeout(),
            err.is_result_taken(),
            err.is_pool_broken(),
            err.is_shutdown(),
            err.is_deadlock(),
        ];
        let mut expected = [false; 7];
        expected[i] = true;
        assert_eq!(answers, expected, "{err:?}");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn a_panic_displays_as_its_message() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool
        .submit(|| -> u8 { std::panic::resume_unwind(Box::new(String::from("disk full"))) })
        .unwrap();
    match h.result() {
        Err(TaskError::Panicked(p)) => {
            assert_eq!(p.to_string(), "disk full");
            assert_eq!(format!("{p}"), p.message());
        }
        other => panic!("expected a panic, got {other:?}"),
    }
}

#[test]
fn shutdown_options_chain_from_new_and_default_to_waiting() {
    // `const`: options can be named once and reused.
    const DRAIN: ShutdownOptions = ShutdownOptions::new();
    const ABANDON: ShutdownOptions = ShutdownOptions::new().wait(false).cancel_pending(true);
    assert_eq!(DRAIN, ShutdownOptions::default());
    assert_eq!((DRAIN.wait, DRAIN.cancel_pending), (true, false));
    assert_eq!((ABANDON.wait, ABANDON.cancel_pending), (false, true));
    let back = ABANDON.wait(true).cancel_pending(false);
    assert_eq!(back, DRAIN);

    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 5).unwrap();
    pool.shutdown_with(DRAIN);
    assert!(h.done(), "a waiting shutdown returns once queued work ran");
    assert_eq!(h.result().unwrap(), 5);
    pool.shutdown_with(ABANDON); // idempotent in any mode
}

fn unwind_safe<T: UnwindSafe + RefUnwindSafe>() {}
fn send_sync<T: Send + Sync>() {}

/// Compile-time checks: these fail to build, not to run.
const _: fn() = || {
    unwind_safe::<ThreadPool>();
    unwind_safe::<TaskHandle<u32>>();
    // For any value type, even one that is itself not unwind safe.
    unwind_safe::<TaskHandle<std::cell::Cell<u32>>>();
    // Send + Sync of the pool, handles and errors: tests/submit_result.rs.
    send_sync::<PoolStats>();
    send_sync::<ShutdownOptions>();
    send_sync::<Builder>();
};

/// Unwind safety in use: a closure that borrows the pool and a handle
/// goes straight into `catch_unwind`, and both work after it panicked.
#[test]
fn pool_and_handles_are_usable_after_a_caught_panic() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 1).unwrap();
    let caught = catch_unwind(|| {
        let again = pool.submit(|| 2).unwrap();
        assert_eq!(h.result().unwrap() + again.result().unwrap(), 3);
        std::panic::resume_unwind(Box::new("after using both"));
    });
    assert!(caught.is_err());
    assert!(h.done() && h.result().unwrap_err().is_result_taken());
    assert_eq!(pool.submit(|| 4).unwrap().result().unwrap(), 4);
}

//! `ThreadPool::install` (run one borrowing closure on the pool) and the
//! combinators taking borrowed handles.

use std::panic::{catch_unwind, AssertUnwindSafe};
use stealpool::{as_completed, as_completed_timeout, wait, ReturnWhen, TaskError, ThreadPool};

#[test]
fn install_runs_on_a_worker_borrows_and_returns_the_value() {
    let pool = ThreadPool::new(2).unwrap();
    let data = [1u64, 2, 3, 4];
    let (on_worker, sum) = pool
        .install(|| {
            (
                stealpool::current_thread_index().is_some(),
                data.iter().sum::<u64>(),
            )
        })
        .unwrap();
    assert!(on_worker);
    assert_eq!(sum, 10);
    // Nested: a worker of the pool runs it at once, on itself.
    let nested = pool
        .install(|| {
            let me = stealpool::current_thread_index();
            let pool = ThreadPool::current().unwrap();
            pool.install(|| stealpool::current_thread_index() == me)
                .unwrap()
        })
        .unwrap();
    assert!(nested);
}

#[test]
fn install_resumes_a_panic_and_refuses_after_shutdown() {
    let pool = ThreadPool::new(1).unwrap();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        pool.install(|| -> u8 { std::panic::resume_unwind(Box::new("inside install")) })
    }));
    let payload = caught.expect_err("the panic reached the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"inside install"));
    assert_eq!(pool.install(|| 5).unwrap(), 5, "the pool still serves");
    pool.shutdown();
    assert!(matches!(pool.install(|| 5), Err(TaskError::Shutdown)));
}

#[test]
fn wait_and_as_completed_take_borrowed_handles() {
    let pool = ThreadPool::new(2).unwrap();
    let handles: Vec<_> = (0..5u32).map(|i| pool.submit(move || i).unwrap()).collect();
    let waited = wait(&handles, ReturnWhen::AllCompleted, None);
    assert_eq!(waited.done.len(), 5);
    assert_eq!(as_completed(&handles).count(), 5);
    assert_eq!(
        as_completed_timeout(handles.iter(), stealpool_hang()).count(),
        5
    );
    // Still ours: each value is there to take once.
    let total: u32 = handles.iter().map(|h| h.result().unwrap()).sum();
    assert_eq!(total, 10);
}

fn stealpool_hang() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

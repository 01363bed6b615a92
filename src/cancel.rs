//! Cooperative cancellation of running work: a task asks whether it should
//! stop.
//!
//! `cancel()` wins outright only while a task is pending. Once the task
//! runs, nothing can interrupt it safely, so `cancel()` records a request
//! instead (a bit in the task's state word) and the closure polls
//! [`cancel_requested`] where stopping early makes sense. A cancelling
//! shutdown asks every running task of its pool the same way.

use crate::worker;

/// True if the task calling this has been asked to stop: `cancel()` was
/// called on its handle after it started, or its pool was shut down with
/// [`cancel_pending`](crate::ShutdownOptions::cancel_pending). False outside
/// a pool task. Cheap enough to poll in a loop: a thread-local read and two
/// loads.
///
/// Python's executor has nothing like it (Java's
/// `cancel(mayInterruptIfRunning)` is the nearest). The task decides what
/// stopping means: it still completes with whatever it returns, and its
/// handle does not report it as cancelled.
///
/// ```
/// use std::sync::mpsc;
/// let pool = stealpool::ThreadPool::new(1)?;
/// let (started_tx, started) = mpsc::channel();
/// let counter = pool.submit(move || {
///     started_tx.send(()).ok();
///     let mut n = 0u64;
///     while !stealpool::cancel_requested() {
///         n += 1; // work in small steps, checking between them
///         std::hint::spin_loop();
///     }
///     n
/// })?;
/// started.recv()?;
/// assert!(!counter.cancel()); // too late to stop it starting...
/// let _rounds = counter.result()?; // ...but it saw the request and returned
/// assert!(!stealpool::cancel_requested()); // not in a task here
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn cancel_requested() -> bool {
    worker::with_worker(worker::WorkerCtx::cancel_requested).unwrap_or(false)
}

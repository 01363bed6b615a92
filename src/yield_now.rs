//! `yield_now`: a long task lets queued work run on its worker.

use crate::worker;

/// What [`yield_now`] did.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Yield {
    /// It ran one queued task to completion on this thread.
    Executed,
    /// It found no task it could run (none queued, or this worker's stack
    /// already holds as many tasks as a waiting task may nest; see
    /// DESIGN.md, "The helping wait").
    Idle,
}

/// On a pool worker, runs one queued task of the pool on the calling thread,
/// if there is one, and returns what it did; outside every pool, does
/// nothing and returns `None`. The same reentrancy rules as a wait apply
/// (a held lock or a live `RefCell` borrow may meet the task it runs), and
/// the same bounds: it only runs work while this stack has room for it.
///
/// ```
/// use stealpool::{yield_now, ThreadPool, Yield};
/// let pool = ThreadPool::new(1)?;
/// let outcome = pool.submit(|| {
///     let pool = ThreadPool::current().expect("on a worker");
///     let queued = pool.submit(|| 7).expect("accepted");
///     // The only worker is busy here; let the queued task run.
///     let ran = yield_now();
///     (ran, queued.done())
/// })?;
/// assert_eq!(outcome.result()?, (Some(Yield::Executed), true));
/// assert_eq!(yield_now(), None); // not on a worker
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "it says whether a task ran"]
pub fn yield_now() -> Option<Yield> {
    worker::with_worker(|ctx| {
        if ctx.yield_one() {
            Yield::Executed
        } else {
            Yield::Idle
        }
    })
}

//! `ThreadPool::install`: run one closure on the pool and return its value.

use crate::error::TaskError;
use crate::pool::ThreadPool;
use crate::worker;

impl ThreadPool {
    /// Runs `f` on one of the pool's workers and returns its value, blocking
    /// the caller meanwhile (a worker of this pool calling it runs `f` at
    /// once, on itself). `f` may borrow from the caller, as with
    /// [`scope`](Self::scope), which this is built on; inside `f`,
    /// [`ThreadPool::current`], [`join`](crate::join) and
    /// [`current_thread_index`](crate::current_thread_index) see this pool.
    /// rayon's `ThreadPool::install` does the same.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let words = vec!["a", "bb", "ccc"];
    /// let (index, total) = pool.install(|| {
    ///     let lens = stealpool::join(|| words[0].len(), || words[1].len() + words[2].len());
    ///     (stealpool::current_thread_index(), lens.0 + lens.1)
    /// })?;
    /// assert!(index.is_some()); // it ran on a worker
    /// assert_eq!(total, 6);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TaskError::Shutdown`] if the pool has shut down (and this is not
    /// one of its workers), [`TaskError::PoolBroken`] if it is broken: `f`
    /// did not run.
    ///
    /// # Panics
    ///
    /// If `f` panics, the panic is resumed on the caller once `f` has
    /// unwound.
    pub fn install<F, R>(&self, f: F) -> Result<R, TaskError>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let here = worker::with_worker(|ctx| ctx.pool_id() == self.shared().id()).unwrap_or(false);
        if here {
            return Ok(f());
        }
        self.scope(|s| match s.submit(f).result() {
            Err(TaskError::Panicked(panic)) => std::panic::resume_unwind(panic.into_payload()),
            other => other,
        })
    }
}

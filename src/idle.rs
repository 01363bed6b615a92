//! `ThreadPool::wait_idle`: wait for the pool to drain without shutting
//! it down.

use crate::error::TaskError;
use crate::pool::ThreadPool;

impl ThreadPool {
    /// Blocks until the pool is idle: every task queued or running when
    /// (or after) this is called has finished, every worker is asleep, and
    /// nothing is queued. Unlike [`shutdown`](Self::shutdown), the pool
    /// keeps accepting and running work afterwards, so this is a barrier
    /// between phases, or the end of a test. Tasks submitted concurrently
    /// from other threads may or may not be waited for; a terminated pool
    /// returns at once. It never polls: the last worker to go idle wakes it.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let done = Arc::new(AtomicUsize::new(0));
    /// for _ in 0..100 {
    ///     let done = done.clone();
    ///     pool.submit(move || done.fetch_add(1, Ordering::SeqCst))?; // handles dropped
    /// }
    /// pool.wait_idle()?;
    /// assert_eq!(done.load(Ordering::SeqCst), 100);
    /// pool.submit(|| ())?.result()?; // still serving
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TaskError::Deadlock`] at once if called from one of this pool's own
    /// threads: the calling task keeps the pool from ever being idle.
    pub fn wait_idle(&self) -> Result<(), TaskError> {
        let shared = self.shared();
        if shared.sleep.is_own_thread() {
            return Err(TaskError::Deadlock);
        }
        shared.sleep.wait_idle(&|| shared.has_work());
        Ok(())
    }
}

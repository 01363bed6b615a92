//! `ThreadPool`: submit, shutdown, and shutdown on drop.

mod batch;

use crate::builder::Builder;
use crate::error::{BuildError, SubmitError};
use crate::shared::Shared;
use crate::sleep::Flags;
use crate::stats::PoolStats;
use crate::sync::{Arc, TaskArc};
use crate::task::cell::{Fallible, Plain, TaskCell, Verdict};
use crate::task::handle::TaskHandle;
use crate::task::Job;
use crate::worker;
use std::fmt;
use std::sync::atomic::Ordering::{AcqRel, Relaxed};

/// A work-stealing thread pool with `concurrent.futures`-style handles.
///
/// Cloning is cheap (all clones drive the same workers). When the last
/// clone is dropped the pool shuts down and waits for queued work, like
/// Python's `with ThreadPoolExecutor() as pool:` block.
///
/// ```
/// let pool = stealpool::ThreadPool::new(4)?;
/// let mut handles = Vec::new();
/// for i in 0..10u64 {
///     handles.push(pool.submit(move || i * i)?);
/// }
/// let mut total = 0;
/// for h in &handles {
///     total += h.result()?;
/// }
/// assert_eq!(total, 285);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ThreadPool {
    pub(crate) shared: Arc<Shared>,
    /// Whether this value is counted in `Shared::handles`. Only the copy a
    /// worker keeps for [`with_current`](Self::with_current) is not: it is
    /// lent out by reference, never moved, and must not keep the pool up.
    counted: bool,
}

/// How [`ThreadPool::shutdown_with`] behaves, like the two arguments of
/// Python's `Executor.shutdown(wait, cancel_futures)`.
///
/// Built with chained setters from [`new`](Self::new) (or `default()`, the
/// same thing: wait, cancel nothing). It is `#[non_exhaustive]`, so options
/// added later (a shutdown timeout, say) break no caller: outside this crate
/// it cannot be written as a struct literal, only built and read:
///
/// ```
/// use stealpool::ShutdownOptions;
/// let options = ShutdownOptions::new().wait(false).cancel_pending(true);
/// assert!(!options.wait && options.cancel_pending);
/// assert_eq!(ShutdownOptions::new(), ShutdownOptions::default());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownOptions {
    /// Block until every accepted task has finished and the workers exited.
    /// Ignored (treated as false) when called from one of the pool's own
    /// workers, which cannot wait for itself.
    pub wait: bool,
    /// Cancel every task that has not started; their handles resolve
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled).
    pub cancel_pending: bool,
}

impl ShutdownOptions {
    /// Wait, and run everything already accepted: what
    /// [`ThreadPool::shutdown`] does.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            wait: true,
            cancel_pending: false,
        }
    }

    /// Sets [`wait`](Self#structfield.wait): whether `shutdown_with` blocks
    /// until every accepted task has finished and the workers exited.
    #[must_use = "the options take effect only when passed to `shutdown_with`"]
    pub const fn wait(mut self, wait: bool) -> Self {
        self.wait = wait;
        self
    }

    /// Sets [`cancel_pending`](Self#structfield.cancel_pending): whether
    /// tasks that have not started are cancelled.
    #[must_use = "the options take effect only when passed to `shutdown_with`"]
    pub const fn cancel_pending(mut self, cancel_pending: bool) -> Self {
        self.cancel_pending = cancel_pending;
        self
    }
}

impl Default for ShutdownOptions {
    /// [`ShutdownOptions::new`]: wait, and run everything already accepted.
    fn default() -> Self {
        Self::new()
    }
}

impl ThreadPool {
    /// A pool of `max_workers` threads with default settings.
    ///
    /// # Errors
    ///
    /// A [`BuildError`] if `max_workers` is 0 or above
    /// [`MAX_WORKERS`](crate::MAX_WORKERS), or if the OS fails to spawn a
    /// thread; [`Builder::build`] lists every case.
    pub fn new(max_workers: usize) -> Result<Self, BuildError> {
        Builder::new().max_workers(max_workers).build()
    }

    /// A [`Builder`] for the other settings.
    pub fn builder() -> Builder {
        Builder::new()
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            counted: true,
        }
    }

    /// What the pool's workers share.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The worker's own copy: not counted as a handle, so a pool whose user
    /// handles are all gone still shuts down.
    pub(crate) fn uncounted(shared: Arc<Shared>) -> Self {
        Self {
            shared,
            counted: false,
        }
    }

    /// The pool the calling task runs on, if it runs on one: nested
    /// submission needs no plumbing. The handle is owned (it may be moved
    /// out of the task), so getting it costs two atomic increments on
    /// counters every worker shares; a task graph that asks for its pool
    /// at every node should use [`with_current`](Self::with_current).
    ///
    /// ```
    /// use stealpool::{TaskError, ThreadPool};
    /// let pool = ThreadPool::new(1)?;
    /// let outer = pool.submit(|| -> Result<u32, TaskError> {
    ///     let pool = ThreadPool::current().expect("on a worker");
    ///     let inner = pool.submit(|| 20)?;
    ///     Ok(inner.result()? + 1) // runs `inner` here: no deadlock on 1 worker
    /// })?;
    /// assert_eq!(outer.result()??, 21);
    /// assert!(ThreadPool::current().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn current() -> Option<ThreadPool> {
        Self::with_current(ThreadPool::clone)
    }

    /// Calls `f` with the pool the calling task runs on, if it runs on one,
    /// lent by reference: no reference count is touched, so this is the
    /// cheap way for every node of a task graph to submit its children.
    /// Returns `None` (without calling `f`) off the pool's workers.
    ///
    /// ```
    /// use stealpool::{TaskError, ThreadPool};
    /// fn fib(n: u64) -> Result<u64, TaskError> {
    ///     if n < 2 {
    ///         return Ok(n);
    ///     }
    ///     let (a, b) = ThreadPool::with_current(|pool| -> Result<_, TaskError> {
    ///         let a = pool.submit(move || fib(n - 1))?;
    ///         let b = pool.submit(move || fib(n - 2))?;
    ///         Ok((a, b))
    ///     })
    ///     .expect("runs on the pool")?;
    ///     // The first `?` is the wait's error, the second the child's own.
    ///     Ok(a.result()?? + b.result()??)
    /// }
    /// let pool = ThreadPool::new(2)?;
    /// assert_eq!(pool.submit(|| fib(15))?.result()??, 610);
    /// assert_eq!(ThreadPool::with_current(|_| ()), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_current<R>(f: impl FnOnce(&ThreadPool) -> R) -> Option<R> {
        worker::with_worker(|ctx| f(ctx.pool()))
    }

    /// The number of regular worker threads.
    #[must_use]
    pub fn max_workers(&self) -> usize {
        self.shared.workers
    }

    /// The number of regular worker threads: rayon's name for
    /// [`max_workers`](Self::max_workers), the same number, fixed when the
    /// pool is built. It is how many values
    /// [`broadcast`](Self::broadcast) returns. It does not count the extra
    /// workers that [`blocking`](crate::blocking) sections start for as
    /// long as they block ([`PoolStats::blocking_workers`] does), and it
    /// does not drop after shutdown.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(3)?;
    /// assert_eq!(pool.current_num_threads(), 3);
    /// assert_eq!(pool.current_num_threads(), pool.max_workers());
    /// # Ok::<(), stealpool::BuildError>(())
    /// ```
    #[must_use]
    pub fn current_num_threads(&self) -> usize {
        self.shared.workers
    }

    /// A snapshot of the pool's gauges and totals; see [`PoolStats`] for
    /// what each field means and how exact it is.
    #[must_use]
    pub fn stats(&self) -> PoolStats {
        let shared = &self.shared;
        let blocking = shared.blocking.snapshot();
        let mut stats = PoolStats {
            workers: shared.workers,
            blocking_workers: blocking.extras,
            blocked: blocking.blocked,
            tasks_queued: shared.queued(),
            ..PoolStats::default()
        };
        shared.stats.sum_into(&mut stats);
        stats
    }

    /// Submits `f` and returns a handle to its result at once.
    ///
    /// From outside the pool the task goes to the global queue; from one of
    /// the pool's workers it goes to that worker's own deque (so a task's
    /// children run close to it) and is accepted even after shutdown, so
    /// in-flight task graphs can finish.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let handle = pool.submit(|| "hello".len())?;
    /// assert_eq!(handle.result()?, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The error hands `f` back, unrun: [`SubmitError::Shutdown`] after
    /// [`shutdown`](Self::shutdown) (from outside the pool),
    /// [`SubmitError::Broken`] if a worker initializer panicked. `?` turns
    /// it into a [`TaskError`](crate::TaskError) or any
    /// `Box<dyn Error + Send + Sync>`.
    pub fn submit<F, T>(&self, f: F) -> Result<TaskHandle<T>, SubmitError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.submit_judged::<Plain, F, T>(f)
    }

    /// Like [`submit`](Self::submit), for a task that reports failure by
    /// returning `Err`: such a task counts as failed (it stops
    /// [`wait`](crate::wait) with [`ReturnWhen::FirstError`](crate::ReturnWhen),
    /// and [`TaskHandle::failed`] is true), as a panicking one does. The
    /// value itself is returned unchanged.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let h = pool.submit_fallible(|| "x".parse::<u32>())?;
    /// h.wait();
    /// assert!(h.failed());
    /// assert!(h.result()?.is_err()); // the Err is the task's value
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit): the closure comes back in a
    /// [`SubmitError`] if the pool is shut down or broken.
    pub fn submit_fallible<F, T, E>(&self, f: F) -> Result<TaskHandle<Result<T, E>>, SubmitError<F>>
    where
        F: FnOnce() -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
    {
        self.submit_judged::<Fallible, F, Result<T, E>>(f)
    }

    fn submit_judged<V, F, T>(&self, f: F) -> Result<TaskHandle<T>, SubmitError<F>>
    where
        V: Verdict<T>,
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &self.shared;
        let flags = shared.sleep.flags();
        if flags.broken() {
            return Err(SubmitError::Broken(f));
        }
        let inside = worker::with_worker(|w| w.pool_id() == shared.id()).unwrap_or(false);
        if !inside && flags.shutdown() {
            return Err(SubmitError::Shutdown(f));
        }
        let cell = TaskArc::new(TaskCell::<F, T, V>::new(f, shared.id()));
        shared.mark_if_late(cell.state());
        // Two references: the queue entry now, and `cell` itself, which
        // becomes the handle at the end (one count increment per task).
        let job = Job::new(cell.clone());
        if inside {
            // `inside` was just seen on this thread, so the closure runs (if
            // it could not, dropping `job` would resolve the task abandoned).
            let _ = worker::with_worker(move |ctx| ctx.push_local(job));
        } else {
            let flags = shared.push_outside(job, 1);
            if flags.shutdown() {
                // Raced with shutdown: take the task back if no worker
                // has claimed it; if one has, it was accepted and runs.
                if let Some(f) = cell.retract() {
                    return Err(refusal(flags, f));
                }
            }
        }
        Ok(TaskHandle::new(cell))
    }

    /// Stops accepting work from outside the pool, lets everything already
    /// accepted finish, and waits for the workers to exit. Idempotent.
    ///
    /// Called on one of this pool's own threads (from a task or a hook) it
    /// cannot wait for itself: it stops the pool and returns at once.
    pub fn shutdown(&self) {
        self.shutdown_with(ShutdownOptions::default());
    }

    /// Shutdown with Python's two knobs; see [`ShutdownOptions`].
    ///
    /// ```
    /// use stealpool::{ShutdownOptions, ThreadPool};
    /// use std::sync::{mpsc, Arc, Barrier};
    /// let pool = ThreadPool::new(1)?;
    /// let (started, (tx, rx)) = (Arc::new(Barrier::new(2)), mpsc::channel::<()>());
    /// let s = started.clone();
    /// let blocker = pool.submit(move || { s.wait(); rx.recv() })?;
    /// started.wait(); // the only worker is busy now
    /// let queued = pool.submit(|| "never runs")?;
    /// pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    /// assert!(queued.result().unwrap_err().is_cancelled());
    /// tx.send(())?;
    /// blocker.result()??;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_with(&self, options: ShutdownOptions) {
        let shared = &self.shared;
        shared.sleep.shutdown();
        if options.cancel_pending {
            shared.request_cancel_all();
            shared.cancel_queued();
        }
        // A pool thread cannot wait for the pool's threads: it would wait
        // for itself (also from a stop hook, past its main loop).
        if options.wait && !shared.sleep.is_own_thread() {
            // Holding the lock while joining makes a second waiting caller
            // wait for the same joins instead of returning early.
            let mut threads = shared.threads.lock();
            for handle in threads.drain(..) {
                // Workers never unwind (user panics are caught), so a join
                // error cannot happen; there is nothing to report if it did.
                let _ = handle.join();
            }
            // The regular workers exit only once every extra has retired.
            shared.blocking.join_all();
        }
    }

    /// True once [`shutdown`](Self::shutdown) (or a broken initializer) has
    /// stopped the pool from accepting outside work.
    #[must_use]
    pub fn is_shutdown(&self) -> bool {
        self.shared.sleep.flags().shutdown()
    }
}

// Unwind safety. A panic that unwinds out of a `catch_unwind` closure that
// used a pool cannot leave the pool half updated for whoever uses it next:
// - the pool's shared state is atomics, lock-free queues and locks that
//   ignore poisoning and never run user code while held;
// - user code the pool runs (tasks, callbacks, hooks, the panic handler) runs
//   inside `catch_unwind` on the thread that runs it, and its panic becomes
//   a task's outcome or is contained; the hooks are only ever called that
//   way, never through a `&ThreadPool`;
// - the user code a method runs on the caller's thread without catching its
//   panic (`with_current`'s closure) runs between pool operations, not in
//   the middle of one;
// - the pool's own code does not panic (a broken invariant aborts).
impl std::panic::UnwindSafe for ThreadPool {}
impl std::panic::RefUnwindSafe for ThreadPool {}

/// Why a submission that raced shutdown was taken back, from the flags the
/// submitter's announcement read.
fn refusal<F>(flags: Flags, f: F) -> SubmitError<F> {
    if flags.broken() {
        SubmitError::Broken(f)
    } else {
        SubmitError::Shutdown(f)
    }
}

impl Clone for ThreadPool {
    fn clone(&self) -> Self {
        // ORDERING: the count only decides who runs the shutdown-on-drop;
        // the increment publishes nothing. Cloning a counted handle keeps it
        // above zero; cloning a worker's uncounted copy (`current`) may bring
        // it back from zero while the last outside handle drops: that
        // handle's drop then runs shutdown a second time, which is idempotent.
        self.shared.handles.fetch_add(1, Relaxed);
        Self::from_shared(self.shared.clone())
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        // ORDERING: AcqRel so the last dropper sees every other handle's
        // work before shutting down, as `Arc`'s drop does.
        if self.shared.handles.fetch_sub(1, AcqRel) == 1 {
            self.shutdown();
            crate::pools::deregister(self.shared.id());
        }
    }
}

impl fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPool")
            .field("max_workers", &self.max_workers())
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

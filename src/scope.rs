//! `ThreadPool::scope`: tasks that borrow from the caller, with handles.
//!
//! A scope counts its tasks ([`ScopeCount`]); `scope` returns only once the
//! count is zero, so a task's closure and value may borrow anything that
//! outlives the call, as with `std::thread::scope`. The tasks themselves
//! are ordinary pool tasks (`task/scoped.rs`): they queue, run, are waited
//! on, helped with and cancelled like `submit`'s. DESIGN.md, "Task graphs".

use crate::error::TaskError;
use crate::shared::Shared;
use crate::sync::{Instant, TaskArc};
use crate::task::scoped::{ScopeCount, ScopedCell, ScopedOutput};
use crate::task::wait::WaitEnd;
use crate::task::{wait, CancelOutcome, Job, RawTask};
use crate::unwind::{self, AbortOnPanic};
use crate::worker;
use crate::ThreadPool;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

/// Tasks submitted here may borrow from outside the scope; see
/// [`ThreadPool::scope`].
///
/// `'scope` is the scope's own lifetime (tasks and handles live within
/// it); `'env` is what the tasks may borrow, which outlives the scope.
pub struct Scope<'scope, 'env: 'scope> {
    pool: &'scope ThreadPool,
    count: ScopeCount,
    /// Invariant in both, as `std::thread::Scope`: a scope's lifetimes are
    /// exactly what `scope` chose.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// A handle to a task of a [`Scope`]: [`TaskHandle`](crate::TaskHandle)'s
/// waits and queries for a task that may borrow. It cannot leave the
/// scope.
///
/// Dropping it detaches the task (it still runs). If such a task panics
/// and nobody took the panic (with [`result`](Self::result) or
/// [`result_timeout`](Self::result_timeout)), the scope re-raises it.
pub struct ScopedHandle<'scope, T> {
    task: TaskArc<dyn ScopedOutput<T> + 'scope>,
}

impl ThreadPool {
    /// Runs `f` with a [`Scope`] whose tasks may borrow from the caller's
    /// stack, and returns once `f` and every task submitted in the scope
    /// have finished.
    ///
    /// While it waits for the scope's tasks, a worker of this pool runs them
    /// (and other work); any other thread blocks. A panic of `f` is
    /// re-raised once all the tasks have finished; otherwise the first
    /// panic of a task whose handle did not take it is. Scopes nest: from
    /// outside the pool and from inside its tasks, on any number of
    /// workers, one included.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let mut parts = vec![0u64; 8];
    /// let total = pool.scope(|s| {
    ///     let handles: Vec<_> = parts
    ///         .chunks_mut(2)
    ///         .map(|c| s.submit(move || { c[0] = 1; c.len() }))
    ///         .collect();
    ///     handles.into_iter().map(|h| h.result().unwrap()).sum::<usize>()
    /// });
    /// assert_eq!(total, 8);
    /// assert_eq!(parts, [1, 0, 1, 0, 1, 0, 1, 0]);
    /// # Ok::<(), stealpool::BuildError>(())
    /// ```
    ///
    /// A task may not capture what is not `Send`:
    ///
    /// ```compile_fail
    /// let pool = stealpool::ThreadPool::new(1).unwrap();
    /// let rc = std::rc::Rc::new(1);
    /// pool.scope(|s| {
    ///     s.submit(|| *rc + 1);
    /// });
    /// ```
    ///
    /// and a handle cannot escape its scope:
    ///
    /// ```compile_fail
    /// let pool = stealpool::ThreadPool::new(1).unwrap();
    /// let x = 5;
    /// let escaped = pool.scope(|s| s.submit(|| x + 1));
    /// escaped.result().unwrap();
    /// ```
    pub fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        let scope = Scope {
            pool: self,
            count: ScopeCount::new(),
            scope: PhantomData,
            env: PhantomData,
        };
        let outcome = unwind::catch(|| f(&scope));
        {
            // Tasks still point into `scope`: unwinding past it now would
            // free what they borrow. Nothing below runs user code.
            let _guard = AbortOnPanic("a scope's wait for its tasks");
            if !scope.count.closure_done() {
                finish_tasks(&scope.count);
            }
        }
        match outcome {
            Err(panic) => std::panic::resume_unwind(panic.into_payload()),
            Ok(value) => match scope.count.take_panic() {
                Some(panic) => std::panic::resume_unwind(panic.into_payload()),
                None => value,
            },
        }
    }
}

/// Waits until the scope's count is zero. On a worker, first runs what is
/// on this worker's deque (the scope's tasks submitted from here are on
/// top), then waits with the helping wait, which runs other work and parks
/// when there is none.
fn finish_tasks(count: &ScopeCount) {
    use crate::task::wait::Awaited;
    worker::with_worker(|ctx| {
        while !count.is_ready() {
            match ctx.pop_local() {
                Some(job) => ctx.execute(job),
                None => break,
            }
        }
    });
    wait::wait_until(count, None);
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Submits `f` to the scope's pool and returns a handle to its result.
    /// `f` may borrow anything that outlives the scope.
    ///
    /// From one of the pool's workers the task goes to that worker's deque
    /// (and is accepted after shutdown, so a running graph can finish);
    /// from elsewhere, to the pool's global queue. If the pool does not
    /// take it (it has shut down, or is broken), the handle is still
    /// returned and resolves to [`TaskError::Shutdown`] (or
    /// [`TaskError::PoolBroken`]).
    pub fn submit<F, T>(&'scope self, f: F) -> ScopedHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let shared: &Shared = &self.pool.shared;
        let flags = shared.sleep.flags();
        self.count.add();
        let cell = TaskArc::new(ScopedCell::new(f, shared.id(), &self.count));
        shared.mark_if_late(cell.state());
        let handle = ScopedHandle { task: cell.clone() };
        if flags.broken() {
            cell.resolve_unrun(TaskError::PoolBroken);
            return handle;
        }
        let raw: TaskArc<dyn RawTask + 'scope> = cell;
        // SAFETY: only the lifetime changes (same pointer, same vtable).
        // The queue may hold the entry past `'scope`, but the task touches
        // borrowed data only between its claim and its decrement of
        // `self.count`, and `scope` returns only after every decrement;
        // after it, the cell holds no borrowed value (scoped.rs rules 4-5)
        // and a stale entry's run loses its claim without touching any.
        let raw: TaskArc<dyn RawTask> = unsafe {
            std::mem::transmute::<TaskArc<dyn RawTask + 'scope>, TaskArc<dyn RawTask>>(raw)
        };
        let mut job = Some(Job::new(raw));
        // From one of the pool's workers: its own deque, even after shutdown.
        let id = shared.id();
        worker::with_worker(|ctx| {
            if ctx.pool_id() == id {
                if let Some(job) = job.take() {
                    ctx.push_local(job);
                }
            }
        });
        let Some(job) = job else {
            return handle;
        };
        if flags.shutdown() {
            // Dropping the entry unrun resolves the task (`abandon`) with
            // PoolBroken; resolve it first, so it says why.
            handle.task.refuse(TaskError::Shutdown);
            drop(job);
            return handle;
        }
        let flags = shared.push_outside(job, 1);
        if flags.shutdown() {
            // Raced with shutdown (DESIGN.md section 7): take it back
            // unless a worker already claimed it.
            handle.task.refuse(if flags.broken() {
                TaskError::PoolBroken
            } else {
                TaskError::Shutdown
            });
        }
        handle
    }

    /// The pool the scope's tasks run on.
    pub fn pool(&self) -> &ThreadPool {
        self.pool
    }
}

impl<'scope, T: Send + 'scope> ScopedHandle<'scope, T> {
    /// Blocks until the task finishes and moves its value out; on a worker
    /// it runs the task inline if it has not started, or other work, as
    /// [`TaskHandle::result`](crate::TaskHandle::result) does.
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] (the panic is then yours, and the scope does
    /// not re-raise it), [`TaskError::Cancelled`], [`TaskError::Shutdown`]
    /// or [`TaskError::PoolBroken`] if the pool did not take it,
    /// [`TaskError::ResultTaken`] on a second call, and
    /// [`TaskError::Deadlock`] at once if the task waits on itself.
    pub fn result(&self) -> Result<T, TaskError> {
        self.finish_wait(None)
    }

    /// Like [`result`](Self::result), but gives up after `timeout` with
    /// [`TaskError::Timeout`], leaving the task and the handle as they were.
    ///
    /// # Errors
    ///
    /// [`TaskError::Timeout`] if the task has not finished within
    /// `timeout`; otherwise those of [`result`](Self::result).
    pub fn result_timeout(&self, timeout: Duration) -> Result<T, TaskError> {
        self.finish_wait(Instant::now().checked_add(timeout))
    }

    /// Waits until the task finishes or `deadline` passes, then takes its
    /// outcome (as `TaskHandle`'s does).
    fn finish_wait(&self, deadline: Option<Instant>) -> Result<T, TaskError> {
        match wait::wait_finished(self.task.as_raw(), deadline) {
            WaitEnd::Finished => self.take(),
            WaitEnd::TimedOut => Err(TaskError::Timeout),
            WaitEnd::Deadlock => Err(TaskError::Deadlock),
        }
    }

    /// Blocks until the task finishes, without taking its value (a task
    /// waiting on itself returns at once, as for `TaskHandle::wait`).
    pub fn wait(&self) {
        let _ = wait::wait_finished(self.task.as_raw(), None);
    }

    /// Waits at most `timeout` for the task to finish; true if it has. A
    /// timed wait never starts unrelated work on a worker.
    #[must_use = "false means the task has not finished"]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        wait::wait_finished(self.task.as_raw(), Instant::now().checked_add(timeout))
            == WaitEnd::Finished
    }

    /// Cancels the task if it has not started; true if it is cancelled now
    /// (by this call or an earlier one). Cancelling one task of a scope
    /// cancels nothing else.
    pub fn cancel(&self) -> bool {
        self.task.as_raw().cancel() != CancelOutcome::TooLate
    }

    /// True once the task has finished: returned, panicked or was cancelled.
    pub fn done(&self) -> bool {
        self.task.as_raw().header().state.load().is_finished()
    }

    /// True while the task's closure is executing.
    pub fn running(&self) -> bool {
        self.task.as_raw().header().state.load().is_running()
    }

    /// True if the task was cancelled before it started.
    pub fn cancelled(&self) -> bool {
        self.task.as_raw().header().state.load().is_cancelled()
    }

    /// True once the task has finished with a failure: it panicked, or the
    /// pool did not run it (shut down or broken). A cancelled task has not
    /// failed.
    pub fn failed(&self) -> bool {
        self.task.as_raw().header().state.load().is_failed()
    }

    /// Moves the outcome out; call only once the task has finished.
    fn take(&self) -> Result<T, TaskError> {
        self.task.take_result()
    }
}

impl<T> Drop for ScopedHandle<'_, T> {
    fn drop(&mut self) {
        self.task.detach();
    }
}

impl<T> fmt::Debug for ScopedHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.task.as_raw().header().state.load().lifecycle_name();
        f.debug_struct("ScopedHandle")
            .field("state", &format_args!("{state}"))
            .finish()
    }
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").field("pool", self.pool).finish()
    }
}

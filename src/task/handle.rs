//! `TaskHandle`: the user's side of a submitted task.

use super::cell::TaskOutput;
use super::state::TakeOutcome;
use super::wait;
use super::{Header, RawTask};
use crate::error::TaskError;
use crate::sync::{Instant, TaskArc};
use std::fmt;
use std::time::Duration;

/// A handle to a submitted task: wait for its value, cancel it, ask about
/// it, or `.await` it.
///
/// The value is moved out by the first successful wait ([`result`],
/// [`result_timeout`] or `.await`); later waits return
/// [`TaskError::ResultTaken`]. Handles are cheap to clone (all clones share
/// one task and one value). Dropping every handle detaches the task: it still
/// runs.
///
/// ```
/// let pool = stealpool::ThreadPool::new(2)?;
/// let handle = pool.submit(|| 6 * 7).unwrap();
/// assert_eq!(handle.result()?, 42);
/// assert!(handle.done());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`result`]: TaskHandle::result
/// [`result_timeout`]: TaskHandle::result_timeout
pub struct TaskHandle<T> {
    pub(super) task: TaskArc<dyn TaskOutput<T>>,
}

impl<T: Send + 'static> TaskHandle<T> {
    pub(crate) fn new(task: TaskArc<dyn TaskOutput<T>>) -> Self {
        Self { task }
    }

    /// Blocks until the task finishes and moves its value out.
    ///
    /// On a worker of the pool the task belongs to, this runs the task
    /// inline if it has not started, and otherwise runs other queued work
    /// while waiting, so nested waits never deadlock. Elsewhere it parks.
    ///
    /// Errors: [`TaskError::Panicked`], [`TaskError::Cancelled`] (every time
    /// it is asked), [`TaskError::PoolBroken`], or [`TaskError::ResultTaken`]
    /// if an earlier wait already moved the value or the panic out.
    pub fn result(&self) -> Result<T, TaskError> {
        self.wait();
        self.take()
    }

    /// Like [`result`](Self::result), but gives up after `timeout` with
    /// [`TaskError::Timeout`], leaving the task and the handle as they were.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let h = pool.submit(move || rx.recv().is_ok()).unwrap();
    /// assert!(h.result_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// tx.send(()).unwrap();
    /// assert!(h.result_timeout(Duration::from_secs(60)).unwrap());
    /// # Ok::<(), stealpool::BuildError>(())
    /// ```
    pub fn result_timeout(&self, timeout: Duration) -> Result<T, TaskError> {
        if self.wait_timeout(timeout) {
            self.take()
        } else {
            Err(TaskError::Timeout)
        }
    }

    /// Blocks until the task finishes (done, panicked or cancelled) without
    /// taking its value. Helps like [`result`](Self::result) on a worker.
    pub fn wait(&self) {
        self.wait_until(None);
    }

    /// Waits at most `timeout` for the task to finish; true if it has.
    /// A timeout too large to represent waits forever.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    /// Waits until the task finishes or `deadline` passes (never, if
    /// `None`); true if it has finished.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        wait::wait_finished(self.task.as_raw(), deadline)
    }

    /// Cancels the task if it has not started. Returns true if the task is
    /// now cancelled (by this call or an earlier one): it never runs, and its
    /// closure has been dropped. Returns false if it is running or finished.
    pub fn cancel(&self) -> bool {
        self.task.cancel() != super::CancelOutcome::TooLate
    }

    /// True once the task has finished: returned, panicked or was cancelled.
    pub fn done(&self) -> bool {
        self.task.header().state.load().is_finished()
    }

    /// True while the task's closure is executing.
    pub fn running(&self) -> bool {
        self.task.header().state.load().is_running()
    }

    /// True once the task has finished with a failure: it panicked, its pool
    /// broke before it could run, or (submitted with
    /// [`submit_fallible`](crate::ThreadPool::submit_fallible)) it returned
    /// `Err`. A cancelled task has not failed. This is what
    /// [`ReturnWhen::FirstError`](crate::ReturnWhen::FirstError) looks at.
    pub fn failed(&self) -> bool {
        self.task.header().state.load().is_failed()
    }

    /// True if the task was cancelled before it started.
    pub fn cancelled(&self) -> bool {
        self.task.header().state.load().is_cancelled()
    }

    /// Runs `callback` exactly once when the task finishes (done, panicked
    /// or cancelled): on the thread that finishes it, or right away on this
    /// thread if it already has. Callbacks added before completion run in
    /// the order they were added. A panicking callback is caught and
    /// reported on stderr; the others still run.
    ///
    /// The callback gets a handle to the task; taking the value there (with
    /// `result`) moves it out for every other handle too.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let seen = Arc::new(AtomicBool::new(false));
    /// let h = pool.submit(|| 1).unwrap();
    /// let s = seen.clone();
    /// h.add_done_callback(move |h| s.store(h.done(), Ordering::SeqCst));
    /// h.wait();
    /// pool.shutdown(); // the callback has run once the pool has drained
    /// assert!(seen.load(Ordering::SeqCst));
    /// # Ok::<(), stealpool::BuildError>(())
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&TaskHandle<T>) + Send + 'static) {
        // Weak, so a callback never keeps its own task alive: whoever
        // finishes the task holds a strong reference while callbacks run.
        let weak = TaskArc::downgrade(&self.task);
        self.task.header().add_callback(Box::new(move || {
            if let Some(task) = weak.upgrade() {
                callback(&TaskHandle { task });
            }
        }));
    }

    /// Moves the outcome out; call only once the task has finished.
    pub(super) fn take(&self) -> Result<T, TaskError> {
        let state = &self.task.header().state;
        if state.load().is_cancelled() {
            // Nothing to move out: every wait can report it, as Python does.
            return Err(TaskError::Cancelled);
        }
        match state.take() {
            TakeOutcome::AlreadyTaken => Err(TaskError::ResultTaken),
            TakeOutcome::Taken(prev) if prev.is_cancelled() => Err(TaskError::Cancelled),
            TakeOutcome::Taken(_) => {
                // SAFETY: `take` returned `Taken`, so this thread alone may
                // read the result slot (rule 2 of the task module).
                let output = unsafe { self.task.take_output() };
                output.unwrap_or_else(|| crate::unwind::invariant_broken("done task has no output"))
            }
        }
    }

    /// The type-erased task, for running it inline.
    pub(crate) fn raw(&self) -> &dyn RawTask {
        self.task.as_raw()
    }

    pub(crate) fn header(&self) -> &Header {
        self.task.header()
    }
}

impl<T> Clone for TaskHandle<T> {
    fn clone(&self) -> Self {
        Self {
            task: self.task.clone(),
        }
    }
}

impl<T: 'static> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.task.header().state.load();
        // A failure is finished too, but reads apart from a plain `Done`.
        let state = if snapshot.is_failed() {
            "Failed"
        } else {
            snapshot.lifecycle_name()
        };
        f.debug_struct("TaskHandle")
            .field("state", &format_args!("{state}"))
            .finish()
    }
}

impl<T> TaskHandle<T> {
    /// True if both handles are clones of one task (the same submission).
    /// The same relation is [`PartialEq`] and [`Hash`], so handles work as
    /// keys of a `HashSet` or `HashMap` the way Python's futures do.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let a = pool.submit(|| 1).unwrap();
    /// let b = pool.submit(|| 1).unwrap();
    /// assert!(a.ptr_eq(&a.clone()));
    /// assert!(!a.ptr_eq(&b));
    /// assert_ne!(a, b); // same closure, same value: still two tasks
    /// # Ok::<(), stealpool::BuildError>(())
    /// ```
    pub fn ptr_eq(&self, other: &Self) -> bool {
        self.identity() == other.identity()
    }

    /// The task allocation's address: stable while any handle lives, and
    /// the data address alone (comparing the `dyn` pointers whole would also
    /// compare vtables, which may differ between codegen units).
    fn identity(&self) -> *const () {
        TaskArc::as_ptr(&self.task).cast::<()>()
    }
}

/// Equal when both are handles to the same task, not when the values are
/// equal.
impl<T> PartialEq for TaskHandle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.ptr_eq(other)
    }
}

impl<T> Eq for TaskHandle<T> {}

/// Hashes the task's identity, consistent with [`PartialEq`].
impl<T> std::hash::Hash for TaskHandle<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.identity().hash(state);
    }
}

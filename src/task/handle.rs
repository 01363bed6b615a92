//! `TaskHandle`: the user's side of a submitted task.

use super::cell::TaskOutput;
use super::wait::{self, WaitEnd};
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
/// let handle = pool.submit(|| 6 * 7)?;
/// assert_eq!(handle.result()?, 42);
/// assert!(handle.done());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`result`]: TaskHandle::result
/// [`result_timeout`]: TaskHandle::result_timeout
pub struct TaskHandle<T> {
    pub(super) task: TaskArc<dyn TaskOutput<T>>,
    /// This clone's registration as an awaiter (`impl Future`), made by its
    /// first `Pending` poll: the task's waiter list holds the same slot, and
    /// dropping the clone takes it out again.
    pub(super) waker: Option<super::future::AwaitSlot>,
}

impl<T: Send + 'static> TaskHandle<T> {
    pub(crate) fn new(task: TaskArc<dyn TaskOutput<T>>) -> Self {
        Self { task, waker: None }
    }

    /// Blocks until the task finishes and moves its value out.
    ///
    /// On a worker of the pool the task belongs to, this runs the task
    /// inline if it has not started, and otherwise runs other queued work
    /// while waiting, so nested waits never deadlock. Elsewhere it parks.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let h = pool.submit(|| 6 * 7)?;
    /// assert_eq!(h.result()?, 42);
    /// assert!(h.result().unwrap_err().is_result_taken()); // moved out already
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TaskError::Panicked`] if the task panicked, [`TaskError::Cancelled`]
    /// (every time it is asked) if it was cancelled,
    /// [`TaskError::PoolBroken`] if its pool broke before running it,
    /// [`TaskError::Deadlock`] if a task waits on itself, or
    /// [`TaskError::ResultTaken`] if an earlier wait already moved the value
    /// or the panic out.
    ///
    /// # Reentrancy
    ///
    /// On a worker, this call may run other tasks of the pool on the
    /// calling thread before it returns: the awaited task if it has not
    /// started, then queued work. Do not wait while holding anything those
    /// tasks may also take: a `Mutex` guard (a task that locks it deadlocks
    /// the worker), a live `RefCell` borrow (a task that borrows it panics),
    /// or thread-local state in the middle of a change (a task sees it half
    /// done). Release them before waiting. Outside the pool the call just
    /// parks, and `.await` never runs other tasks.
    #[doc(alias = "join")]
    pub fn result(&self) -> Result<T, TaskError> {
        self.finish_wait(None)
    }

    /// Like [`result`](Self::result), but gives up after `timeout` with
    /// [`TaskError::Timeout`], leaving the task and the handle as they were.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let h = pool.submit(move || rx.recv().is_ok())?;
    /// assert!(h.result_timeout(Duration::from_millis(10)).unwrap_err().is_timeout());
    /// tx.send(())?;
    /// assert!(h.result_timeout(Duration::from_secs(60))?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TaskError::Timeout`] if the task has not finished within
    /// `timeout`; otherwise those of [`result`](Self::result).
    ///
    /// # Reentrancy
    ///
    /// On a worker, a timed wait may run the awaited task itself on the
    /// calling thread if it has not started (the same hazards as for
    /// [`result`](Self::result)), but never unrelated work, which it could
    /// not stop at the deadline.
    pub fn result_timeout(&self, timeout: Duration) -> Result<T, TaskError> {
        self.finish_wait(Instant::now().checked_add(timeout))
    }

    /// Waits until the task finishes or `deadline` passes, then takes its
    /// outcome.
    fn finish_wait(&self, deadline: Option<Instant>) -> Result<T, TaskError> {
        match self.wait_until(deadline) {
            WaitEnd::Finished => self.take(),
            WaitEnd::TimedOut => Err(TaskError::Timeout),
            WaitEnd::Deadlock => Err(TaskError::Deadlock),
        }
    }

    /// Blocks until the task finishes (done, panicked or cancelled) without
    /// taking its value. Helps like [`result`](Self::result) on a worker.
    /// A task waiting on itself returns at once, unfinished (`result` says
    /// [`TaskError::Deadlock`]).
    ///
    /// # Reentrancy
    ///
    /// On a worker, this call may run other tasks of the pool on the
    /// calling thread before it returns: the awaited task if it has not
    /// started, then queued work. Do not wait while holding anything those
    /// tasks may also take: a `Mutex` guard (a task that locks it deadlocks
    /// the worker), a live `RefCell` borrow (a task that borrows it panics),
    /// or thread-local state in the middle of a change (a task sees it half
    /// done). Release them before waiting. Outside the pool the call just
    /// parks, and `.await` never runs other tasks.
    pub fn wait(&self) {
        let _ = self.wait_until(None);
    }

    /// Waits at most `timeout` for the task to finish; true if it has.
    /// A timeout too large to represent waits forever. The value stays in
    /// the handle, for [`result`](Self::result). A task waiting on itself
    /// gets false at once.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let h = pool.submit(move || rx.recv().is_ok())?;
    /// assert!(!h.wait_timeout(Duration::from_millis(10))); // blocked on `rx`
    /// tx.send(())?;
    /// assert!(h.wait_timeout(Duration::from_secs(60)));
    /// assert!(h.result()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Reentrancy
    ///
    /// On a worker, a timed wait may run the awaited task itself on the
    /// calling thread if it has not started (the same hazards as for
    /// [`wait`](Self::wait)), but never unrelated work, which it could not
    /// stop at the deadline.
    #[must_use = "false means the task has not finished"]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.wait_until(Instant::now().checked_add(timeout)) == WaitEnd::Finished
    }

    /// Waits until the task finishes or `deadline` passes (never, if
    /// `None`).
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> WaitEnd {
        wait::wait_finished(self.task.as_raw(), deadline)
    }

    /// Cancels the task if it has not started. Returns true if the task is
    /// now cancelled (by this call or an earlier one): it never runs, and its
    /// closure has been dropped. Returns false if it is running or finished;
    /// a running task is then *asked* to stop: its closure sees
    /// [`cancel_requested`](crate::cancel_requested) turn true and may
    /// return early (cooperative cancellation; nothing is interrupted, and
    /// the task still completes with whatever it returns).
    ///
    /// ```
    /// use std::sync::mpsc;
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (release, release_rx) = mpsc::channel::<()>();
    /// let busy = pool.submit(move || {
    ///     started_tx.send(()).ok();
    ///     release_rx.recv().is_ok()
    /// })?;
    /// started.recv()?; // the only worker now runs `busy`
    /// let queued = pool.submit(|| "never runs")?;
    /// assert!(queued.cancel()); // still pending: it never runs
    /// assert!(queued.cancelled());
    /// assert!(queued.result().unwrap_err().is_cancelled());
    /// assert!(!busy.cancel()); // running: too late
    /// release.send(())?;
    /// assert!(busy.result()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) -> bool {
        match self.task.cancel() {
            super::CancelOutcome::TooLate => {
                self.task.header().state.request_cancel();
                false
            }
            super::CancelOutcome::Won(_) | super::CancelOutcome::AlreadyCancelled => true,
        }
    }

    /// True once [`cancel`](Self::cancel) has been called on the task after
    /// it started (the request its closure can poll with
    /// [`cancel_requested`](crate::cancel_requested)).
    #[must_use]
    pub fn cancel_requested(&self) -> bool {
        self.task.header().state.cancel_requested()
    }

    /// True once the task has finished: returned, panicked or was cancelled.
    /// (Python's name; `is_finished` in Rust's `JoinHandle`.)
    #[doc(alias = "is_finished")]
    #[must_use]
    pub fn done(&self) -> bool {
        self.task.header().state.load().is_finished()
    }

    /// True while the task's closure is executing.
    #[doc(alias = "is_running")]
    #[must_use]
    pub fn running(&self) -> bool {
        self.task.header().state.load().is_running()
    }

    /// True once the task has finished with a failure: it panicked, its pool
    /// broke before it could run, or (submitted with
    /// [`submit_fallible`](crate::ThreadPool::submit_fallible)) it returned
    /// `Err`. A cancelled task has not failed. This is what
    /// [`ReturnWhen::FirstError`](crate::ReturnWhen::FirstError) looks at.
    #[doc(alias = "is_failed")]
    #[must_use]
    pub fn failed(&self) -> bool {
        self.task.header().state.load().is_failed()
    }

    /// True if the task was cancelled before it started.
    #[doc(alias = "is_cancelled")]
    #[must_use]
    pub fn cancelled(&self) -> bool {
        self.task.header().state.load().is_cancelled()
    }

    /// Runs `callback` exactly once when the task finishes (done, panicked
    /// or cancelled): on the thread that finishes it, or right away on this
    /// thread if it already has. Callbacks added before completion run in
    /// the order they were added. A panicking callback is caught and
    /// reported (to the pool's
    /// [`panic_handler`](crate::Builder::panic_handler), else on stderr);
    /// the others still run.
    ///
    /// The callback gets a handle to the task; taking the value there (with
    /// `result`) moves it out for every other handle too.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicBool, Ordering};
    /// use std::sync::Arc;
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let seen = Arc::new(AtomicBool::new(false));
    /// let h = pool.submit(|| 1)?;
    /// let s = seen.clone();
    /// h.add_done_callback(move |h| s.store(h.done(), Ordering::SeqCst));
    /// h.wait();
    /// pool.shutdown(); // the callback has run once the pool has drained
    /// assert!(seen.load(Ordering::SeqCst));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_done_callback(&self, callback: impl FnOnce(&TaskHandle<T>) + Send + 'static) {
        // Weak, so a callback never keeps its own task alive: whoever
        // finishes the task holds a strong reference while callbacks run.
        let weak = TaskArc::downgrade(&self.task);
        self.task.header().add_callback(Box::new(move || {
            if let Some(task) = weak.upgrade() {
                callback(&TaskHandle::new(task));
            }
        }));
    }

    /// Moves the outcome out; call only once the task has finished.
    pub(super) fn take(&self) -> Result<T, TaskError> {
        self.task.take_result()
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
    /// Another handle to the same task. A clone starts unregistered: it
    /// registers its own waker if it is awaited.
    fn clone(&self) -> Self {
        Self {
            task: self.task.clone(),
            waker: None,
        }
    }
}

impl<T> Drop for TaskHandle<T> {
    fn drop(&mut self) {
        if let Some(slot) = &self.waker {
            self.task.header().remove_waker(slot);
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

// Unwind safety. A panic that unwinds out of a `catch_unwind` closure that
// used a handle cannot leave the handle, or the task it shares, half
// updated for whoever looks at it afterwards:
// - every change to the task is one atomic transition of its state word, or
//   a push or drain under a lock that ignores poisoning and never runs user
//   code while held;
// - the user code a handle can run on the caller's thread (the task itself,
//   run inline by a wait on a worker, and done callbacks) runs inside
//   `catch_unwind`: its panic becomes the task's outcome or is contained;
// - the pool's own code does not panic (a broken invariant aborts);
// - the value is never lent out by reference: it moves out whole, once,
//   so a `T` with interior mutability is never observed through a handle.
// So `TaskHandle<T>` is unwind safe for every `T`, as tokio's `JoinHandle`.
impl<T> std::panic::UnwindSafe for TaskHandle<T> {}
impl<T> std::panic::RefUnwindSafe for TaskHandle<T> {}

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

/// A [`TaskHandle`], owned or borrowed: what [`wait`](crate::wait),
/// [`as_completed`](crate::as_completed) and
/// [`as_completed_timeout`](crate::as_completed_timeout) take, so a caller
/// can keep its handles and pass `&handles` (each is cloned: a clone shares
/// its task and value). Sealed: only the two implementations below.
///
/// ```
/// use stealpool::{wait, ReturnWhen};
/// let pool = stealpool::ThreadPool::new(2)?;
/// let handles: Vec<_> = (0..4u32).map(|i| pool.submit(move || i)).collect::<Result<_, _>>()?;
/// let waited = wait(&handles, ReturnWhen::AllCompleted, None); // borrowed
/// assert_eq!(waited.done.len(), 4);
/// assert_eq!(handles[3].result()?, 3); // still ours
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait IntoTaskHandle: sealed::Sealed {
    /// The task's value type.
    type Output: Send + 'static;

    /// The handle, or a clone of the borrowed one.
    fn into_task_handle(self) -> TaskHandle<Self::Output>;
}

impl<T: Send + 'static> IntoTaskHandle for TaskHandle<T> {
    type Output = T;

    fn into_task_handle(self) -> TaskHandle<T> {
        self
    }
}

impl<T: Send + 'static> IntoTaskHandle for &TaskHandle<T> {
    type Output = T;

    fn into_task_handle(self) -> TaskHandle<T> {
        self.clone()
    }
}

mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for super::TaskHandle<T> {}
    impl<T> Sealed for &super::TaskHandle<T> {}
}

//! Tasks: one heap allocation holding the state word, the closure, the
//! result slot and the ways to be told of completion.
//!
//! A submitted closure becomes a [`TaskCell`](cell::TaskCell) inside one
//! `Arc`. The pool holds it as a [`Job`] (type-erased, in a queue); the user
//! holds it as a [`TaskHandle`](handle::TaskHandle) (typed by the output).
//! The state machine is in [`state`]; DESIGN.md has the long story.
//!
//! The closure and the outcome share one `UnsafeCell` slot (a task holds
//! one of them at a time, and the cell stays small). Access rules for it
//! (each SAFETY comment cites one):
//! 1. The constructor puts the closure in. Afterwards only the thread whose
//!    CAS moved the state out of PENDING (claim -> RUNNING, or cancel ->
//!    CANCELLED) may touch the slot, first to move the closure out. The CAS
//!    makes that thread unique.
//! 2. The outcome is written only by the claimer, before `complete` (a
//!    Release RMW), and is the claimer's last touch of the slot. It is read
//!    only by the thread whose `take` set TAKEN on a terminal state (an
//!    Acquire RMW that follows `complete` in the modification order). TAKEN
//!    is set once, so that thread is unique; a cancelled task's slot (empty)
//!    is never read.
//! 3. `Drop` of the cell has `&mut self`: whatever rules 1-2 left behind (a
//!    never-claimed closure, a never-taken value) is dropped there.

mod callbacks;
pub(crate) mod cell;
mod future;
pub(crate) mod handle;
mod header;
pub(crate) mod inbox;
mod listeners;
pub(crate) mod state;
pub(crate) mod wait;
pub(crate) mod watch;

use crate::error::Panic;
use crate::sync::TaskArc;
use cell::TaskOutput;
pub(crate) use header::Header;
pub(crate) use state::CancelOutcome;

/// What the thread running tasks is told about each run: hooks and
/// statistics hang off these. Each is called on the running thread.
pub(crate) trait Runner {
    /// The task was claimed and its closure is about to run. `frame` lives
    /// on the stack of the run until `after` is called with it. Returns
    /// false if the pool withdraws the task instead (its cancelling shutdown
    /// began before the claim): then nothing was recorded, `after` is not
    /// called, and the task ends cancelled without running.
    #[must_use]
    fn before(&self, frame: &RunFrame) -> bool;
    /// The closure returned (`None`) or panicked; the outcome is not yet
    /// visible to waiters.
    fn after(&self, frame: &RunFrame, panic: Option<&Panic>);
    /// The queue entry was stale: its task had been cancelled.
    fn skipped_cancelled(&self);
}

/// One task running on a thread, as a node of that thread's stack of runs:
/// a waiting task runs others on its own stack, so a worker can be inside
/// several runs at once. The worker links each frame to the one below it
/// (`Runner::before`) and unlinks it (`Runner::after`); a wait walks the
/// chain to find a task that waits, directly or through tasks it ran while
/// helping, on a task still below it on the same stack, which cannot finish
/// before the wait returns ([`TaskError::Deadlock`](crate::TaskError)).
pub(crate) struct RunFrame {
    task: *const Header,
    below: std::cell::Cell<*const RunFrame>,
}

impl RunFrame {
    pub(crate) fn new(task: &Header) -> Self {
        Self {
            task: std::ptr::from_ref(task),
            below: std::cell::Cell::new(std::ptr::null()),
        }
    }

    /// True if this frame runs `task`.
    pub(crate) fn runs(&self, task: &Header) -> bool {
        std::ptr::eq(self.task, task)
    }

    /// The task of this frame.
    pub(crate) fn header(&self) -> &Header {
        // SAFETY: a frame lives on the stack of its task's run, which
        // borrows the task (`TaskCell::run(&self)`) for the frame's whole
        // life, so the header outlives every borrow of the frame.
        unsafe { &*self.task }
    }

    /// Links this frame above `below` (a null pointer: none).
    pub(crate) fn set_below(&self, below: *const RunFrame) {
        self.below.set(below);
    }

    /// The frame this one was linked above.
    pub(crate) fn below(&self) -> *const RunFrame {
        self.below.get()
    }
}

/// The type-erased side of a task, as queues and workers see it.
///
/// # Safety
/// An implementor is `#[repr(C)]` with a [`Header`] as its first field, so
/// that the address of the task is the address of its header:
/// [`header`](Self::header) reads it through the data pointer alone, with
/// no call through the vtable (it is on every wait's and every queue
/// check's path). [`TaskCell`](cell::TaskCell) is the one implementor.
pub(crate) unsafe trait RawTask: Send + Sync + 'static {
    /// Claims the task and runs it to completion on this thread; does nothing
    /// but tell `runner` if the claim loses (already cancelled, or claimed by
    /// a waiter). By reference: a wait runs its task inline through the
    /// handle's reference without touching the count.
    fn run(&self, runner: &dyn Runner);

    /// Claims the task and resolves it with `TaskError::PoolBroken` without
    /// running it; does nothing if the claim loses.
    fn abandon(&self);

    /// PENDING -> CANCELLED; if this call won, drops the closure and notifies.
    fn cancel(&self) -> CancelOutcome;
}

impl dyn RawTask {
    /// The untyped part: state word, waiters, waker, callbacks.
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        header_at(self)
    }
}

impl<T: 'static> dyn TaskOutput<T> {
    /// The untyped part, as [`<dyn RawTask>::header`](RawTask) gives it.
    #[inline]
    pub(crate) fn header(&self) -> &Header {
        header_at(self)
    }
}

/// The header of a typed task, for code with no `T: 'static` bound to call
/// [`<dyn TaskOutput<T>>::header`](TaskOutput) (`TaskHandle`'s `Drop`).
pub(crate) fn header_of_output<T>(task: &TaskArc<dyn TaskOutput<T>>) -> &Header {
    let at = TaskArc::as_ptr(task).cast::<Header>();
    // SAFETY: `TaskOutput` extends `RawTask`, whose contract puts the
    // `Header` first in a `#[repr(C)]` task, so `at` points to it; the task
    // is alive while the `TaskArc` is borrowed.
    unsafe { &*at }
}

/// The header a task starts with.
#[inline]
fn header_at<R: RawTask + ?Sized>(task: &R) -> &Header {
    // The cast keeps the data pointer and drops the vtable.
    let at = (task as *const R).cast::<Header>();
    // SAFETY: `RawTask`'s contract: the task is `#[repr(C)]` and starts with
    // a `Header`, so `at` points to one, alive and shared for as long as
    // `task` is borrowed.
    unsafe { &*at }
}

/// A reference to a queued task. Dropping a `Job` that never ran resolves its
/// task as abandoned, so no handle can wait forever on a lost queue entry.
pub(crate) struct Job(Option<TaskArc<dyn RawTask>>);

impl Job {
    pub(crate) fn new(task: TaskArc<dyn RawTask>) -> Self {
        Self(Some(task))
    }

    /// Runs the task (a no-op for a stale entry of a cancelled task).
    #[inline]
    pub(crate) fn run(mut self, runner: &dyn Runner) {
        if let Some(task) = self.0.take() {
            task.run(runner);
        }
    }

    /// True while the task may still be claimed through this entry; false
    /// for a stale entry (its task ran inline, finished or was cancelled).
    #[inline]
    pub(crate) fn is_pending(&self) -> bool {
        self.0
            .as_ref()
            .is_some_and(|task| task.header().state.load().is_pending())
    }

    /// True if this entry refers to `task`.
    #[inline]
    pub(crate) fn is(&self, task: &dyn RawTask) -> bool {
        self.0.as_ref().is_some_and(|mine| {
            std::ptr::addr_eq(TaskArc::as_ptr(mine), task as *const dyn RawTask)
        })
    }

    /// Resolves the task as abandoned if it has not started.
    pub(crate) fn abandon(mut self) {
        if let Some(task) = self.0.take() {
            task.abandon();
        }
    }

    /// Cancels the task if it has not started. True if it is cancelled now
    /// (by this call or earlier): this entry was its last queue entry.
    pub(crate) fn cancel(mut self) -> bool {
        self.0
            .take()
            .is_some_and(|task| task.cancel() != CancelOutcome::TooLate)
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        if let Some(task) = self.0.take() {
            task.abandon();
        }
    }
}

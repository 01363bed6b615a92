//! The typed task allocation: header, closure slot, result slot.

use super::header::Header;
use super::slot::TaskSlot;
use super::state::{CancelOutcome, TakeOutcome};
use super::{RawTask, RunFrame, Runner};
use crate::error::{PanicOrigin, TaskError};
use crate::unwind;
use std::marker::PhantomData;

/// Decides whether a returned value counts as a failure, for the FAILED
/// flag (`wait`'s `FirstError`, `TaskHandle::failed`). Zero-sized, so the
/// plain path pays nothing.
pub(crate) trait Verdict<T>: 'static {
    fn failed(value: &T) -> bool;
}

/// `submit`: only panics fail.
pub(crate) struct Plain;

impl<T> Verdict<T> for Plain {
    #[inline]
    fn failed(_: &T) -> bool {
        false
    }
}

/// `submit_fallible`: an `Err` value fails too.
pub(crate) struct Fallible;

impl<T, E> Verdict<Result<T, E>> for Fallible {
    #[inline]
    fn failed(value: &Result<T, E>) -> bool {
        value.is_err()
    }
}

/// One submitted task. Lives in a single `Arc` shared by its queue entry
/// and its handles. See the access rules in the [module docs](super).
/// `repr(C)` with the header first, as `RawTask` requires.
#[repr(C)]
pub(crate) struct TaskCell<F, T, V = Plain> {
    header: Header,
    slot: TaskSlot<F, T>,
    /// `fn() -> V`: the verdict is a type-level choice, never a value, and
    /// leaves the cell's `Send`/`Sync` alone.
    verdict: PhantomData<fn() -> V>,
}

// SAFETY: rules 1-2 of the module docs give each slot one accessing thread at
// a time, handed over by the state word's AcqRel RMWs; the closure and the
// value move between threads, hence the `Send` bounds.
unsafe impl<F: Send, T: Send, V> Sync for TaskCell<F, T, V> {}

/// The typed side of a task, as its handles see it.
pub(crate) trait TaskOutput<T>: RawTask {
    /// Moves the outcome out of the result slot.
    ///
    /// # Safety
    /// The caller's `State::take` must have returned `Taken` (rule 2): no
    /// other thread may read or write the slot.
    unsafe fn take_output(&self) -> Option<Result<T, TaskError>>;

    /// The same task, type-erased, for running it inline.
    fn as_raw(&self) -> &dyn RawTask;

    /// A handle's take of the outcome: the value or error on the first
    /// call, `Cancelled` on every call for a cancelled task, `ResultTaken`
    /// after the first. Call only once the task has finished.
    fn take_result(&self) -> Result<T, TaskError> {
        let state = &self.as_raw().header().state;
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
                let output = unsafe { self.take_output() };
                output.unwrap_or_else(|| unwind::invariant_broken("done task has no output"))
            }
        }
    }
}

impl<F, T, V> TaskCell<F, T, V>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    V: Verdict<T>,
{
    pub(crate) fn new(func: F, pool_id: usize) -> Self {
        Self {
            header: Header::new(pool_id),
            slot: TaskSlot::new(func),
            verdict: PhantomData,
        }
    }

    /// Moves the closure out. Only the winner of the PENDING transition
    /// may call this (rule 1).
    fn take_func(&self) -> F {
        // SAFETY: rule 1: every caller has just won claim or cancel, the only
        // ways out of PENDING, so no other thread touches the slot.
        unsafe { self.slot.take_func() }
    }

    /// Stores the outcome, completes, notifies. Only the claimer calls it.
    fn finish(&self, outcome: Result<T, TaskError>) {
        let failed = outcome.as_ref().map_or(true, V::failed);
        // SAFETY: rule 2: we are the claimer, have taken the closure and have
        // not completed yet.
        unsafe { self.slot.put_outcome(outcome) };
        let prev = self.header.state.complete(failed);
        self.header.notify(prev);
    }

    /// The task's state word (for marking it LATE before it is shared).
    pub(crate) fn state(&self) -> &super::state::State {
        &self.header.state
    }

    /// Ends a claimed task as cancelled before its closure ran.
    fn withdraw(&self, func: F) {
        unwind::contain(
            self.header.pool(),
            PanicOrigin::Drop,
            "dropping a cancelled task's closure",
            || drop(func),
        );
        let prev = self.header.state.withdraw();
        self.header.notify(prev);
    }

    /// If the task is still pending, cancels it and gives the closure back
    /// instead of dropping it (submit's rollback when it raced shutdown).
    pub(crate) fn retract(&self) -> Option<F> {
        match self.header.state.cancel() {
            CancelOutcome::Won(prev) => {
                let func = self.take_func();
                self.header.notify(prev);
                Some(func)
            }
            CancelOutcome::AlreadyCancelled | CancelOutcome::TooLate => None,
        }
    }
}

/// For continuations (`then.rs`), whose task may be refused after it was
/// created.
impl<F, T, V> TaskCell<F, T, V>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    V: Verdict<T>,
{
    /// If no thread has claimed the task, claims it and resolves it with
    /// `err` without running it (as `abandon` does with `PoolBroken`).
    pub(crate) fn resolve_unrun(&self, err: TaskError) {
        if self.header.state.claim() {
            let func = self.take_func();
            unwind::contain(
                self.header.pool(),
                PanicOrigin::Drop,
                "dropping a refused task's closure",
                || drop(func),
            );
            self.finish(Err(err));
        }
    }
}

// SAFETY: `TaskCell` is `#[repr(C)]` and its first field is its `Header`.
unsafe impl<F, T, V> RawTask for TaskCell<F, T, V>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    V: Verdict<T>,
{
    fn run(&self, runner: &dyn Runner) {
        if !self.header.state.claim_by(runner.id()) {
            if self.header.state.load().is_cancelled() {
                runner.skipped_cancelled();
            }
            return;
        }
        let func = self.take_func();
        let frame = RunFrame::new(&self.header);
        if !runner.before(&frame) {
            self.withdraw(func);
            runner.skipped_cancelled();
            return;
        }
        let outcome = unwind::catch(func);
        runner.after(&frame, outcome.as_ref().err());
        self.finish(outcome.map_err(TaskError::Panicked));
    }

    fn abandon(&self) {
        if !self.header.state.claim() {
            return;
        }
        let func = self.take_func();
        unwind::contain(
            self.header.pool(),
            PanicOrigin::Drop,
            "dropping an abandoned task's closure",
            || drop(func),
        );
        self.finish(Err(TaskError::PoolBroken));
    }

    fn cancel(&self) -> CancelOutcome {
        let outcome = self.header.state.cancel();
        if let CancelOutcome::Won(prev) = outcome {
            let func = self.take_func();
            unwind::contain(
                self.header.pool(),
                PanicOrigin::Drop,
                "dropping a cancelled task's closure",
                || drop(func),
            );
            self.header.notify(prev);
        }
        outcome
    }
}

impl<F, T, V> TaskOutput<T> for TaskCell<F, T, V>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    V: Verdict<T>,
{
    unsafe fn take_output(&self) -> Option<Result<T, TaskError>> {
        // SAFETY: rule 2, upheld by this function's caller (see `# Safety`).
        unsafe { self.slot.take_outcome() }
    }

    fn as_raw(&self) -> &dyn RawTask {
        self
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod size_tests {
    use super::{Plain, TaskCell};

    /// The whole allocation is this plus the two `Arc` counts: 56 bytes, a
    /// 64-byte malloc chunk, for the tiny-task benchmark's tasks (it was 96
    /// and 112 while the waiter list, waker and callbacks lived inline).
    #[test]
    fn a_word_sized_task_cell_stays_small() {
        let x = 5u64;
        let cell = TaskCell::<_, u64, Plain>::new(move || x, 0);
        assert_eq!(std::mem::size_of_val(&cell), 40);
    }
}

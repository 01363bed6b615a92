//! The one slot a task's closure and then its outcome share, for every task
//! cell (`TaskCell`, `ScopedCell`): the closure until a thread moves it
//! out, then nothing, then (if it ran) the outcome until a wait takes it.
//! Each method is one of the accesses the rules of the task module allow
//! (`src/task/mod.rs`, rules 1-3); its `# Safety` says which.

use crate::error::TaskError;
use crate::sync::UnsafeCell;
use crate::unwind;

enum Slot<F, T> {
    Func(F),
    Empty,
    Out(Result<T, TaskError>),
}

/// A task's closure-then-outcome slot.
pub(crate) struct TaskSlot<F, T>(UnsafeCell<Slot<F, T>>);

impl<F, T> TaskSlot<F, T> {
    pub(crate) fn new(func: F) -> Self {
        Self(UnsafeCell::new(Slot::Func(func)))
    }

    /// Moves the slot's content out, leaving it empty.
    ///
    /// # Safety
    /// The caller is the slot's one accessing thread: under rule 1 (it won
    /// claim or cancel) or rule 2 (its `take` returned `Taken`).
    unsafe fn take(&self) -> Slot<F, T> {
        // SAFETY: this function's caller holds the slot alone (`# Safety`).
        self.0
            .with_mut(|s| unsafe { std::mem::replace(&mut *s, Slot::Empty) })
    }

    /// Moves the closure out (an internal invariant breach if it is gone).
    ///
    /// # Safety
    /// Rule 1: the caller has just won the task's claim or cancel, the only
    /// ways out of PENDING, so no other thread touches the slot.
    pub(crate) unsafe fn take_func(&self) -> F {
        // SAFETY: rule 1, upheld by this function's caller.
        match unsafe { self.take() } {
            Slot::Func(func) => func,
            _ => unwind::invariant_broken("task closure taken twice"),
        }
    }

    /// Stores the outcome in the (empty) slot.
    ///
    /// # Safety
    /// Rule 2: the caller is the claimer and has not completed the task yet,
    /// so no reader can have won `take`; it took the closure already, so
    /// nothing is dropped here.
    pub(crate) unsafe fn put_outcome(&self, outcome: Result<T, TaskError>) {
        // SAFETY: rule 2, upheld by this function's caller.
        self.0
            .with_mut(|slot| unsafe { *slot = Slot::Out(outcome) });
    }

    /// Moves the outcome out; `None` if there is none (never ran).
    ///
    /// # Safety
    /// Rule 2: the caller's `State::take` returned `Taken`.
    pub(crate) unsafe fn take_outcome(&self) -> Option<Result<T, TaskError>> {
        // SAFETY: rule 2, upheld by this function's caller.
        match unsafe { self.take() } {
            Slot::Out(outcome) => Some(outcome),
            _ => None,
        }
    }
}

//! Scoped tasks: a task cell whose closure and value may borrow from a
//! [`scope`](crate::ThreadPool::scope), and the scope's completion count.
//!
//! A [`ScopedCell`] is a task like any other (header first, one slot, the
//! same state machine), queued as `dyn RawTask + 'static` after its
//! lifetime is erased. What makes the erasure sound is the [`ScopeCount`]:
//! the scope's owner does not return (and nothing the tasks borrow goes
//! away) until every task of the scope has made its terminal transition
//! and disposed of any value nobody can take any more, and a task touches
//! nothing borrowed after the decrement that ends its part. A queue entry
//! or an `Arc` may still hold the cell afterwards; by then its slot holds
//! nothing borrowed (rule 5), so dropping it later touches no borrowed data.
//!
//! The cell's slot follows the task module's rules 1-3 (claim or cancel
//! owns the closure, the claimer writes the outcome before `complete`,
//! `take` reads it). Added here:
//! 4. `scope` is dereferenced only by the thread that made the task's
//!    terminal transition, after it (in [`ScopedCell::leave`]), and by the
//!    task's handle while it exists. The handle cannot outlive the scope,
//!    and `leave`'s last access is the count's decrement (count rule 2).
//! 5. An outcome nobody took is disposed of before the scope ends, by
//!    exactly one thread: the handle's drop sets `DETACHED` with an RMW on
//!    the state word; if that RMW finds the task finished, the handle
//!    disposes; otherwise the terminal transition's RMW finds `DETACHED`
//!    and the finishing thread disposes, before its decrement. (The same
//!    flag-then-check argument as every registration; DESIGN.md section 3.)
//!
//! Access rules of the [`ScopeCount`]:
//! 1. `owner` is written by the scope's owner only while `WAITER` is clear,
//!    before the RMW that sets it (Release); the task whose decrement
//!    reaches zero reads it only after observing `WAITER` (Acquire), before
//!    that RMW. The owner drops it after observing zero.
//! 2. A task's last access to the count is its decrement: after it the
//!    owner may return and the count be gone. It unparks the owner through
//!    a `Thread` cloned before that RMW.
//! 3. `panic` is written under its lock by tasks before their decrement,
//!    and by handles while they exist; the owner reads it after zero.

use super::cell::TaskOutput;
use super::slot::TaskSlot;
use super::state::{CancelOutcome, TakeOutcome, DETACHED};
use super::wait::Awaited;
use super::{Header, RawTask, RunFrame, Runner};
use crate::error::{Panic, PanicOrigin, TaskError};
use crate::sync::{AtomicUsize, Mutex, Thread, UnsafeCell};
use crate::unwind;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// The count's flags; the count itself is shifted above them.
/// The owner may park: the decrement to zero must unpark it.
const WAITER: usize = 1;
/// `panic` holds a panic (so the owner locks it only then).
const PANICKED: usize = 2;
const ONE: usize = 4;

/// The count in a state word.
fn count(state: usize) -> usize {
    state / ONE
}

/// How many tasks of a scope have not finished, plus one for the scope's
/// own closure while it runs. See the access rules above.
pub(crate) struct ScopeCount {
    state: AtomicUsize,
    owner: UnsafeCell<Option<Thread>>,
    /// The first panic of a task whose handle did not take it.
    panic: Mutex<Option<Panic>>,
}

// SAFETY: `state` and `panic` are synchronized types; `owner` is accessed by
// one thread at a time under rule 1, handed over by RMWs on `state`.
unsafe impl Sync for ScopeCount {}
// SAFETY: as above; a `Thread` may move between threads.
unsafe impl Send for ScopeCount {}

impl ScopeCount {
    /// Counting the scope's closure, which the owner runs.
    pub(crate) fn new() -> Self {
        Self {
            state: AtomicUsize::new(ONE),
            owner: UnsafeCell::new(None),
            panic: Mutex::new(None),
        }
    }

    /// One more task. Called by a task or the closure of the scope, which
    /// are counted themselves, so the count cannot be zero here.
    pub(crate) fn add(&self) {
        // ORDERING: the count only needs its modification order here: this
        // increment precedes the caller's own decrement (program order on
        // one atomic), and the new task's decrement follows its start.
        self.state.fetch_add(ONE, Relaxed);
    }

    /// The owner's decrement once the scope's closure returned. True if
    /// that was the last count: nothing to wait for.
    pub(crate) fn closure_done(&self) -> bool {
        // ORDERING: Acquire, so a zero seen here makes every task's effects
        // visible (their decrements are Release); Release for symmetry.
        count(self.state.fetch_sub(ONE, AcqRel)) == 1
    }

    /// A task is over. Unparks the owner if this is the last count and it
    /// waits.
    ///
    /// # Safety
    /// `this` points to a live count that counted the caller; it stays alive
    /// until the RMW below and is not touched after it (rule 2).
    pub(crate) unsafe fn done(this: *const ScopeCount) {
        // SAFETY: alive until our RMW (the contract); only the atomic is
        // borrowed, and not after the RMW.
        let state = unsafe { &(*this).state };
        // ORDERING: Acquire pairs with the owner's WAITER RMW (rule 1).
        let mut cur = state.load(Acquire);
        loop {
            let owner = if count(cur) == 1 && cur & WAITER != 0 {
                // SAFETY: rule 1: WAITER observed, so the slot is written and
                // stays as it is until the owner sees zero, after our RMW.
                unsafe { (*this).owner.with_mut(|slot| (*slot).clone()) }
            } else {
                None
            };
            // ORDERING: Release publishes the task's effects (and its panic
            // record) to the owner's Acquire of zero.
            match state.compare_exchange_weak(cur, cur - ONE, AcqRel, Acquire) {
                Ok(_) => {
                    // Rule 2: the count may be gone now.
                    if let Some(thread) = owner {
                        thread.unpark();
                    }
                    return;
                }
                Err(now) => cur = now,
            }
        }
    }

    /// Keeps the first panic nobody took, to re-raise from the scope.
    pub(crate) fn record_panic(&self, panic: Panic) {
        let mut slot = self.panic.lock();
        if slot.is_none() {
            *slot = Some(panic);
            // ORDERING: the lock publishes the panic; the flag only spares
            // the owner the lock when there is none, and is read after zero,
            // which the recorder's later decrement orders after this.
            self.state.fetch_or(PANICKED, Relaxed);
        }
    }

    /// The panic to re-raise, once the count is zero.
    pub(crate) fn take_panic(&self) -> Option<Panic> {
        // ORDERING: Acquire as `is_ready`; see `record_panic`.
        if self.state.load(Acquire) & PANICKED == 0 {
            return None;
        }
        self.panic.lock().take()
    }
}

/// The owner waits for zero with the pool's helping wait; there is no task
/// to run inline through it (a waiting worker finds the scope's tasks in
/// its deque).
impl Awaited for ScopeCount {
    fn is_ready(&self) -> bool {
        // ORDERING: Acquire pairs with the last decrement's Release.
        count(self.state.load(Acquire)) == 0
    }

    fn pending_task(&self, _pool_id: usize) -> Option<&dyn RawTask> {
        None
    }

    fn add_waiter(&self, thread: &Thread) -> bool {
        // ORDERING: as `is_ready`; only the owner sets WAITER.
        let cur = self.state.load(Acquire);
        if count(cur) == 0 {
            return false;
        }
        if cur & WAITER != 0 {
            return true;
        }
        // SAFETY: rule 1: WAITER is clear and only the owner writes the slot.
        self.owner
            .with_mut(|slot| unsafe { *slot = Some(thread.clone()) });
        // ORDERING: Release publishes the slot; Acquire makes a zero found
        // here a synchronized one.
        count(self.state.fetch_or(WAITER, AcqRel)) != 0
    }

    fn remove_waiter(&self, _thread: &Thread) {
        // The slot may not change once WAITER is set (rule 1); a late unpark
        // is a spurious wake-up.
    }
}

/// One task of a scope. `repr(C)` with the header first, as `RawTask`
/// requires.
#[repr(C)]
pub(crate) struct ScopedCell<F, T> {
    header: Header,
    slot: TaskSlot<F, T>,
    scope: NonNull<ScopeCount>,
}

// SAFETY: the slot is handed between threads by the state word (task rules
// 1-3, rule 5), hence `F: Send, T: Send`; `scope` points to a `Sync` count
// used under rule 4.
unsafe impl<F: Send, T: Send> Sync for ScopedCell<F, T> {}
// SAFETY: as above.
unsafe impl<F: Send, T: Send> Send for ScopedCell<F, T> {}

/// The typed side a `ScopedHandle` sees.
pub(crate) trait ScopedOutput<T>: TaskOutput<T> {
    /// The handle is gone: dispose of the outcome now if the task has
    /// finished and nobody took it, or leave that to the finishing thread.
    fn detach(&self);

    /// The pool will not run it: resolve it with `err` unless a worker
    /// claimed it first ([`ScopedCell::resolve_unrun`]).
    fn refuse(&self, err: TaskError);
}

impl<F, T> ScopedCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    /// A task counted in `scope` (the caller has called `add`).
    pub(crate) fn new(func: F, pool_id: usize, scope: &ScopeCount) -> Self {
        Self {
            header: Header::new(pool_id),
            slot: TaskSlot::new(func),
            scope: NonNull::from(scope),
        }
    }

    /// The task's state word (for marking it LATE before it is shared).
    pub(crate) fn state(&self) -> &super::state::State {
        &self.header.state
    }

    /// Only the winner of the PENDING transition calls this (task rule 1).
    fn take_func(&self) -> F {
        // SAFETY: task rule 1: every caller has just won claim or cancel.
        unsafe { self.slot.take_func() }
    }

    /// Stores the outcome, completes, notifies, leaves the scope. Only the
    /// claimer calls it.
    fn finish(&self, outcome: Result<T, TaskError>) {
        let failed = outcome.is_err();
        // SAFETY: task rule 2: the claimer, with the closure taken, before
        // `complete`.
        unsafe { self.slot.put_outcome(outcome) };
        let prev = self.header.state.complete(failed);
        self.header.notify(prev);
        self.leave(prev.has(DETACHED));
    }

    /// Resolves a task that will not run (its pool refused it) with `err`,
    /// if it has not been claimed; the closure is dropped here.
    pub(crate) fn resolve_unrun(&self, err: TaskError) {
        if self.header.state.claim() {
            let func = self.take_func();
            unwind::contain(
                self.header.pool(),
                PanicOrigin::Drop,
                "dropping a refused scoped task's closure",
                || drop(func),
            );
            self.finish(Err(err));
        }
    }

    /// Drops a closure that will not run, containing its panic.
    fn drop_closure(&self, func: F, what: &str) {
        unwind::contain(self.header.pool(), PanicOrigin::Drop, what, || drop(func));
    }

    /// After the terminal transition: dispose of the outcome if the handle
    /// is gone (rule 5), then give back the task's count (rule 4).
    fn leave(&self, detached: bool) {
        if detached {
            if let Some(outcome) = self.take_untaken() {
                self.dispose(outcome, true);
            }
        }
        // SAFETY: rule 4: the scope counted this task and waits for this
        // decrement, our last access to it.
        unsafe { ScopeCount::done(self.scope.as_ptr()) }
    }

    /// Moves out an outcome nobody took; `None` if it was taken or the
    /// task was cancelled. Only rule 5's disposer calls it.
    fn take_untaken(&self) -> Option<Result<T, TaskError>> {
        match self.header.state.take() {
            TakeOutcome::Taken(prev) if !prev.is_cancelled() => {
                // SAFETY: `take` returned `Taken`: task rule 2.
                unsafe { self.take_output() }
            }
            _ => None,
        }
    }

    /// Drops an untaken outcome, keeping a panic for the scope to re-raise.
    /// `on_pool`: contain a panicking drop (we are the finishing thread),
    /// rather than unwinding from a handle's drop on the user's thread.
    fn dispose(&self, outcome: Result<T, TaskError>, on_pool: bool) {
        match outcome {
            Err(TaskError::Panicked(panic)) => {
                // SAFETY: rule 4: the finisher before its decrement, or the
                // handle while it exists.
                unsafe { self.scope.as_ref() }.record_panic(panic);
            }
            other if on_pool => {
                unwind::contain(
                    self.header.pool(),
                    PanicOrigin::Drop,
                    "dropping a scoped task's value",
                    || drop(other),
                );
            }
            other => drop(other),
        }
    }
}

// SAFETY: `ScopedCell` is `#[repr(C)]` and its first field is its `Header`.
unsafe impl<F, T> RawTask for ScopedCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
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
            // Withdrawn by a cancelling shutdown that began before the
            // claim (as `TaskCell::run`).
            self.drop_closure(func, "dropping a cancelled task's closure");
            let prev = self.header.state.withdraw();
            self.header.notify(prev);
            self.leave(prev.has(DETACHED));
            runner.skipped_cancelled();
            return;
        }
        let outcome = unwind::catch(func);
        runner.after(&frame, outcome.as_ref().err());
        self.finish(outcome.map_err(TaskError::Panicked));
    }

    fn abandon(&self) {
        self.resolve_unrun(TaskError::PoolBroken);
    }

    fn cancel(&self) -> CancelOutcome {
        let outcome = self.header.state.cancel();
        if let CancelOutcome::Won(prev) = outcome {
            let func = self.take_func();
            self.drop_closure(func, "dropping a cancelled task's closure");
            self.header.notify(prev);
            self.leave(prev.has(DETACHED));
        }
        outcome
    }
}

impl<F, T> TaskOutput<T> for ScopedCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    unsafe fn take_output(&self) -> Option<Result<T, TaskError>> {
        // SAFETY: task rule 2, upheld by the caller.
        unsafe { self.slot.take_outcome() }
    }

    fn as_raw(&self) -> &dyn RawTask {
        self
    }
}

impl<F, T> ScopedOutput<T> for ScopedCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn refuse(&self, err: TaskError) {
        self.resolve_unrun(err);
    }

    fn detach(&self) {
        let now = self.header.state.load();
        if now.is_finished() && (now.is_taken() || now.is_cancelled()) {
            // Nothing left to dispose of (the common case: the handle took
            // the value), so no RMW.
            return;
        }
        if self.header.state.register(DETACHED).is_finished() {
            if let Some(outcome) = self.take_untaken() {
                self.dispose(outcome, false);
            }
        }
    }
}

//! Stack jobs: the second half of a [`join`](crate::join), queued as a
//! pointer into its caller's stack frame instead of as a heap task.
//!
//! `join(a, b)` on a worker keeps `b` in a [`StackJob`] in its own frame,
//! pushes one [`Job`] entry pointing at it, and runs `a`. That entry is the
//! job's only handle. Whoever consumes it decides what happens to `b`:
//! a thief that stole it runs it and sets DONE; the owner, popping it back,
//! runs it inline; a queue that drops it unrun (a cancelling shutdown, a
//! broken pool) sets RELEASED, and the owner then runs it. The owner's frame
//! must outlive every access, so the owner returns only once it ran `b`
//! itself or the latch says DONE or RELEASED, and the thread that sets the
//! latch touches nothing of the job after that RMW (rayon's latches follow
//! the same rule).
//!
//! Access rules (each SAFETY comment in this module cites one):
//! 1. `func` is moved out once: by the thread that consumes the job's one
//!    entry by running it, or by the owner after it popped the entry itself
//!    or observed RELEASED (the entry was consumed unrun). A `Job` is not
//!    `Clone`, so exactly one of these happens.
//! 2. `result` is written only by the thread that ran `func` from the
//!    entry, before its RMW that sets DONE (Release); the owner reads it
//!    only after it observed DONE (Acquire). When the owner runs `func`
//!    itself, `result` stays empty.
//! 3. `owner` (the thread to unpark) is written by the owner only while
//!    WAITER is clear, before the RMW that sets WAITER (Release); the thread
//!    setting the latch reads it only after observing WAITER (Acquire), and
//!    before its own RMW. The owner drops it with the job, after observing
//!    DONE or RELEASED.
//! 4. The latch setter's last access to the job is the RMW that sets DONE
//!    or RELEASED; after it the owner may return and the frame be reused.
//!    It unparks through a `Thread` it cloned before that RMW.

use super::wait::Awaited;
use super::{Job, RawTask};
use crate::error::Panic;
use crate::sync::{AtomicUsize, Thread, UnsafeCell};
use crate::unwind;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire};

/// `b` ran from its entry and its outcome is in `result`.
const DONE: usize = 1;
/// The entry was dropped unrun: the owner must run `b`.
const RELEASED: usize = 2;
/// The owner may park: whoever sets DONE or RELEASED must unpark `owner`.
const WAITER: usize = 4;

/// DONE or RELEASED, and the registered owner. See the access rules above.
pub(crate) struct Latch {
    state: AtomicUsize,
    owner: UnsafeCell<Option<Thread>>,
}

/// What a stack job's latch says, to its owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Progress {
    /// The entry is still somewhere: queued, or running on a thief.
    Out,
    /// A thief ran it; the outcome waits in the job.
    Done,
    /// The entry was dropped unrun; the owner runs it.
    Released,
}

impl Latch {
    fn new() -> Self {
        Self {
            state: AtomicUsize::new(0),
            owner: UnsafeCell::new(None),
        }
    }

    pub(crate) fn progress(&self) -> Progress {
        // ORDERING: Acquire pairs with the setter's release RMW: DONE makes
        // `result` readable (rule 2).
        let s = self.state.load(Acquire);
        if s & DONE != 0 {
            Progress::Done
        } else if s & RELEASED != 0 {
            Progress::Released
        } else {
            Progress::Out
        }
    }

    /// Sets `flag` (DONE or RELEASED) and unparks the owner if it
    /// registered. A raw pointer, not `&self`: the owner may free the latch
    /// as soon as the RMW lands, while this call is still running.
    ///
    /// # Safety
    /// `this` points to a live latch whose job's entry the caller has just
    /// consumed (so the caller is its one setter); it stays alive until the
    /// RMW below, and is not touched after it (rule 4).
    unsafe fn set(this: *const Latch, flag: usize) {
        // SAFETY: alive until our RMW (this function's contract); only the
        // atomic is borrowed, and not used after the RMW.
        let state = unsafe { &(*this).state };
        // ORDERING: Acquire pairs with the owner's WAITER RMW (Release), so
        // the `owner` slot written before it is visible here (rule 3).
        let mut cur = state.load(Acquire);
        loop {
            let owner = if cur & WAITER != 0 {
                // SAFETY: rule 3: we observed WAITER, so the owner wrote the
                // slot before and will not write it again; it drops it only
                // after our RMW below.
                unsafe { (*this).owner.with_mut(|slot| (*slot).clone()) }
            } else {
                None
            };
            // ORDERING: Release publishes `result` (rule 2) and every effect
            // of `b` to the owner's Acquire; Acquire on failure, as above.
            match state.compare_exchange_weak(cur, cur | flag, AcqRel, Acquire) {
                Ok(_) => {
                    // Rule 4: the job may be gone now; `owner` is our clone.
                    if let Some(thread) = owner {
                        thread.unpark();
                    }
                    return;
                }
                Err(now) => cur = now,
            }
        }
    }
}

/// The owner waits on the latch with the pool's helping wait: it is ready
/// once DONE or RELEASED. There is never a task to run inline: the job is
/// reachable only through its entry, which is elsewhere.
impl Awaited for Latch {
    fn is_ready(&self) -> bool {
        self.progress() != Progress::Out
    }

    fn pending_task(&self, _pool_id: usize) -> Option<&dyn RawTask> {
        None
    }

    fn add_waiter(&self, thread: &Thread) -> bool {
        // ORDERING: Acquire as in `progress`; only the owner sets WAITER, so
        // reading our own flag needs nothing more.
        let cur = self.state.load(Acquire);
        if cur & (DONE | RELEASED) != 0 {
            return false;
        }
        if cur & WAITER != 0 {
            // Registered on an earlier round of the same wait.
            return true;
        }
        // SAFETY: rule 3: WAITER is clear and only this (the owner's) thread
        // writes the slot, so no setter reads it yet.
        self.owner
            .with_mut(|slot| unsafe { *slot = Some(thread.clone()) });
        // ORDERING: Release publishes the slot to the setter's Acquire;
        // Acquire lets a flag already set make `result` readable.
        let prev = self.state.fetch_or(WAITER, AcqRel);
        prev & (DONE | RELEASED) == 0
    }

    fn remove_waiter(&self, _thread: &Thread) {
        // The registration stays until the job is dropped: the slot may not
        // be written again once WAITER is set (rule 3). A late unpark is a
        // spurious wake-up, which every park loop tolerates.
    }
}

/// The start of every stack job: what an entry needs without knowing the
/// closure's type.
#[repr(C)]
struct StackHead {
    latch: Latch,
    /// `StackJob::<F, R>::execute`.
    execute: unsafe fn(StackRef),
}

/// The pointer a stack job's entry holds.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct StackRef(NonNull<StackHead>);

impl StackRef {
    /// Runs the job from its entry and sets DONE.
    ///
    /// # Safety
    /// The caller has just consumed the job's one entry (rule 1), so the
    /// job is alive: its owner waits for the latch.
    pub(crate) unsafe fn execute(self) {
        // SAFETY: alive (this function's contract); the fn pointer is read
        // out before the call, so no reference outlives the job.
        let execute = unsafe { (*self.0.as_ptr()).execute };
        // SAFETY: `execute` is the job's own, and the contract passes on.
        unsafe { execute(self) }
    }

    /// Hands the job back to its owner unrun: sets RELEASED.
    ///
    /// # Safety
    /// The caller has just consumed the job's one entry without running it
    /// (rule 1); the job is alive until the latch is set.
    pub(crate) unsafe fn release(self) {
        let head = self.0.as_ptr();
        // SAFETY: the job is alive until this RMW and we are its one setter
        // (this function's contract); `addr_of!` borrows nothing.
        unsafe { Latch::set(ptr::addr_of!((*head).latch), RELEASED) }
    }
}

/// `b` of a `join`, living in the caller's stack frame. `repr(C)` with the
/// head first, so a `StackRef` to the head is a pointer to the job.
#[repr(C)]
pub(crate) struct StackJob<F, R> {
    head: StackHead,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<Result<R, Panic>>>,
}

impl<F, R> StackJob<F, R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    pub(crate) fn new(func: F) -> Self {
        Self {
            head: StackHead {
                latch: Latch::new(),
                execute: Self::execute,
            },
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(None),
        }
    }

    /// The pointer this job's entry holds (derived from the whole job, so
    /// it may reach every field).
    pub(crate) fn as_ref(&self) -> StackRef {
        StackRef(NonNull::from(self).cast::<StackHead>())
    }

    /// The one queue entry for this job.
    ///
    /// # Safety
    /// The job must not move or be dropped until its owner has run `func`
    /// itself (it popped this entry with [`Job::take_if_stack`], or saw
    /// RELEASED) or has observed DONE.
    pub(crate) unsafe fn as_job(&self) -> Job {
        // SAFETY: this function's contract is `Job::stack`'s.
        unsafe { Job::stack(self.as_ref()) }
    }

    pub(crate) fn latch(&self) -> &Latch {
        &self.head.latch
    }

    /// Moves the closure out.
    ///
    /// # Safety
    /// The caller holds rule 1's right to run the job.
    unsafe fn take_func(&self) -> F {
        // SAFETY: rule 1: the caller is the one thread that moves it out.
        let func = self.func.with_mut(|f| unsafe { (*f).take() });
        func.unwrap_or_else(|| unwind::invariant_broken("stack job run twice"))
    }

    /// The entry's side: run, store the outcome, set DONE.
    ///
    /// # Safety
    /// As [`StackRef::execute`], and `this` points to a `StackJob<F, R>`.
    unsafe fn execute(this: StackRef) {
        let job = this.0.cast::<Self>().as_ptr();
        // SAFETY: rule 1: our caller consumed the entry; the job is alive
        // until we set the latch (rule 4).
        let func = unsafe { (*job).take_func() };
        let outcome = unwind::catch(func);
        // SAFETY: rule 2: we ran it from the entry and have not set DONE, so
        // the owner does not read the slot yet.
        unsafe { (*job).result.with_mut(|r| *r = Some(outcome)) };
        // SAFETY: rule 4: this RMW is our last access to the job.
        unsafe { Latch::set(ptr::addr_of!((*job).head.latch), DONE) }
    }

    /// The owner runs `func` itself, catching a panic.
    ///
    /// # Safety
    /// The caller is the owner and has popped the job's entry itself, or
    /// observed [`Progress::Released`] (rule 1).
    pub(crate) unsafe fn run_here(&self) -> Result<R, Panic> {
        // SAFETY: the caller holds rule 1's right (this function's contract).
        let func = unsafe { self.take_func() };
        unwind::catch(func)
    }

    /// The outcome a thief left. Call after observing [`Progress::Done`].
    pub(crate) fn take_result(&self) -> Result<R, Panic> {
        if self.latch().progress() != Progress::Done {
            unwind::invariant_broken("stack job result read before DONE");
        }
        // SAFETY: rule 2: DONE was observed with Acquire just now, and the
        // thief wrote the slot before it; nobody touches it after DONE but
        // the owner, which is this thread.
        let result = self.result.with_mut(|r| unsafe { (*r).take() });
        result.unwrap_or_else(|| unwind::invariant_broken("stack job done without a result"))
    }
}

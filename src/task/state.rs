//! The task state word: a lifecycle in the low two bits and notification
//! flags above it.
//!
//! | from      | event    | to        | who                                   | operation      | ordering |
//! |-----------|----------|-----------|---------------------------------------|----------------|----------|
//! | PENDING   | claim    | RUNNING   | a worker that popped it; a waiter that runs it inline | CAS | SeqCst / Acquire |
//! | PENDING   | cancel   | CANCELLED | `cancel()`, cancelling shutdown, submit rollback | CAS  | SeqCst / Acquire |
//! | RUNNING   | complete | DONE (+ FAILED) | the thread that claimed it      | `fetch_add`    | AcqRel |
//! | DONE, CANCELLED | take | + TAKEN | the first wait that returns the outcome | `fetch_or`   | AcqRel |
//! | any       | register | + WAITERS / CALLBACKS | a blocking waiter, a watching set, a poll; `add_done_callback` | `fetch_or` | AcqRel |
//! | RUNNING (or later) | request cancel | + CANCEL_REQUESTED | `cancel()` that found the task no longer pending | `fetch_or` | Release |
//! | any (scoped tasks) | detach | + DETACHED | the `ScopedHandle`'s drop | `fetch_or` | AcqRel |
//! | RUNNING   | withdraw | CANCELLED | the claimer, before the closure starts, when a cancelling shutdown began before the claim | `fetch_add` | AcqRel |
//!
//! DONE and CANCELLED are terminal. The lifecycle values are chosen so that
//! completion, the one transition on every task's path that cannot fail, is a
//! single `fetch_add` that leaves the flag bits alone (FAILED, when the
//! outcome is a failure, is added in the same `fetch_add`: nothing sets it
//! earlier, so adding it is setting it). Claim and cancel go
//! through the one CAS loop in [`State::transition`]; it only retries when a
//! flag bit changed under it.
//!
//! Flag invariants:
//! - `FAILED` is set only by `complete`, together with DONE, when the task
//!   panicked, was abandoned by a broken pool, or returned a value its
//!   submitter classed as a failure (`submit_fallible` and `Err`).
//! - `TAKEN` is set at most once, only on a terminal state; the setter is the
//!   only thread that may move the outcome out of the result slot.
//! - `WAITERS` and `CALLBACKS` are set before a waiter parks, before a
//!   poll returns `Pending`, and before a callback is pushed. The thread that
//!   makes the terminal transition sees every flag set before it, and notifies
//!   through each; a flag set after it returns a terminal snapshot, and its
//!   setter does not wait.

use crate::sync::AtomicUsize;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};

const LIFECYCLE: usize = 0b11;
const PENDING: usize = 0;
const RUNNING: usize = 1;
const DONE: usize = 2;
const CANCELLED: usize = 3;

/// The outcome has been moved out to a waiter.
const TAKEN: usize = 1 << 2;
/// A blocking waiter may be parked, a watching set or an async waker
/// registered: the completer must drain the waiter list.
pub(crate) const WAITERS: usize = 1 << 3;
/// Done callbacks were pushed: the completer must run them.
pub(crate) const CALLBACKS: usize = 1 << 4;
/// The task completed with a failure (see the flag invariants above).
const FAILED: usize = 1 << 5;
/// `cancel()` was called after the task had started: the running closure
/// may notice (`stealpool::cancel_requested`) and stop early. Set only by
/// `request_cancel`; it changes nothing else (the task still completes).
const CANCEL_REQUESTED: usize = 1 << 6;
/// Set at submission, before the task is shared, when its pool's cancelling
/// shutdown had already begun (a child submitted by a running task then):
/// that shutdown does not withdraw it. Never changes afterwards.
const LATE: usize = 1 << 7;
/// Scoped tasks only: the task's handle is gone, so the thread that
/// finishes the task disposes of its outcome (`task/scoped.rs`, rule 5).
/// Set with [`State::register`], like the notification flags.
pub(crate) const DETACHED: usize = 1 << 8;
/// From bit 16 up: which worker claimed the task (its index + 1; 0 for none
/// recorded: not claimed, or claimed off a worker), written by the claim
/// CAS itself and never changed after. A wait reads it to tell which
/// worker's stack the awaited task is on (DESIGN.md, section 6: wait
/// cycles across workers).
const RUNNER_SHIFT: u32 = 16;

/// One read of the state word.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    pub(crate) fn is_pending(self) -> bool {
        self.0 & LIFECYCLE == PENDING
    }

    pub(crate) fn is_running(self) -> bool {
        self.0 & LIFECYCLE == RUNNING
    }

    pub(crate) fn is_cancelled(self) -> bool {
        self.0 & LIFECYCLE == CANCELLED
    }

    /// DONE or CANCELLED: nothing will change the outcome any more.
    pub(crate) fn is_finished(self) -> bool {
        self.0 & LIFECYCLE >= DONE
    }

    /// DONE with a failure: a panic, a broken pool, or a failing value.
    pub(crate) fn is_failed(self) -> bool {
        self.0 & FAILED != 0
    }

    pub(crate) fn is_taken(self) -> bool {
        self.0 & TAKEN != 0
    }

    pub(crate) fn has(self, flag: usize) -> bool {
        self.0 & flag != 0
    }

    /// The worker that claimed the task (index + 1), or 0.
    pub(crate) fn runner(self) -> usize {
        self.0 >> RUNNER_SHIFT
    }

    /// Submitted after its pool's cancelling shutdown began.
    pub(crate) fn is_late(self) -> bool {
        self.0 & LATE != 0
    }
}

impl Snapshot {
    /// The lifecycle alone, as users see it.
    pub(crate) fn lifecycle_name(self) -> &'static str {
        ["Pending", "Running", "Done", "Cancelled"][self.0 & LIFECYCLE]
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.lifecycle_name())?;
        for (bit, label) in [
            (TAKEN, "TAKEN"),
            (WAITERS, "WAITERS"),
            (CALLBACKS, "CALLBACKS"),
            (FAILED, "FAILED"),
            (CANCEL_REQUESTED, "CANCEL_REQUESTED"),
            (LATE, "LATE"),
            (DETACHED, "DETACHED"),
        ] {
            if self.0 & bit != 0 {
                write!(f, "|{label}")?;
            }
        }
        Ok(())
    }
}

/// What [`State::cancel`] did.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CancelOutcome {
    /// This call cancelled the task: the caller owns the closure slot and must
    /// drop the closure and notify with the returned previous snapshot.
    Won(Snapshot),
    /// It was cancelled before.
    AlreadyCancelled,
    /// It is running or done; nothing changed.
    TooLate,
}

/// What [`State::take`] did.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TakeOutcome {
    /// The caller now owns the result slot.
    Taken(Snapshot),
    /// An earlier call took it.
    AlreadyTaken,
}

/// The atomic state word of one task.
pub(crate) struct State(AtomicUsize);

impl State {
    pub(crate) fn new() -> Self {
        Self(AtomicUsize::new(PENDING))
    }

    /// Marks a task not yet shared with any other thread as LATE.
    pub(crate) fn mark_late(&self) {
        // ORDERING: the task is not shared yet; publishing it (the queue
        // push) orders this before any other thread's read.
        self.0.fetch_or(LATE, Relaxed);
    }

    /// RUNNING -> CANCELLED, by the claimer before the closure starts: its
    /// pool's cancelling shutdown began before the claim, so the task is
    /// treated as cancelled while pending. Returns the previous snapshot,
    /// for `notify`.
    #[must_use]
    pub(crate) fn withdraw(&self) -> Snapshot {
        // ORDERING: as `complete` (the claimer's last write, published to
        // whoever acquires the terminal state; flags set before it are seen).
        let prev = Snapshot(self.0.fetch_add(CANCELLED - RUNNING, AcqRel));
        debug_assert!(prev.is_running(), "withdraw from {prev:?}");
        prev
    }

    pub(crate) fn load(&self) -> Snapshot {
        // ORDERING: Acquire pairs with the AcqRel of `complete`/`cancel`, so a
        // reader that sees a terminal state also sees the result slot written.
        Snapshot(self.0.load(Acquire))
    }

    /// PENDING -> RUNNING. True if this call won the task: the caller now
    /// owns the closure slot and must run it and then call [`complete`](Self::complete).
    #[must_use]
    pub(crate) fn claim(&self) -> bool {
        self.claim_by(0)
    }

    /// [`claim`](Self::claim), recording the claiming worker (`runner`: its
    /// index + 1) in the same CAS.
    #[must_use]
    pub(crate) fn claim_by(&self, runner: usize) -> bool {
        self.transition(|s| {
            s.is_pending()
                .then_some(s.0 | RUNNING | runner << RUNNER_SHIFT)
        })
        .is_ok()
    }

    /// PENDING -> CANCELLED.
    pub(crate) fn cancel(&self) -> CancelOutcome {
        match self.transition(|s| s.is_pending().then_some(s.0 | CANCELLED)) {
            Ok(prev) => CancelOutcome::Won(prev),
            Err(now) if now.is_cancelled() => CancelOutcome::AlreadyCancelled,
            Err(_) => CancelOutcome::TooLate,
        }
    }

    /// RUNNING -> DONE, plus FAILED if `failed`. Only the claimer calls it,
    /// once, after writing the result slot. Returns the previous snapshot:
    /// its flags say whom to notify.
    #[must_use]
    pub(crate) fn complete(&self, failed: bool) -> Snapshot {
        let delta = DONE - RUNNING + if failed { FAILED } else { 0 };
        // ORDERING: Release publishes the result slot to whoever acquires a
        // terminal state; Acquire pairs with `register`'s release so the flags
        // read here cover every registration made before this point.
        let prev = Snapshot(self.0.fetch_add(delta, AcqRel));
        debug_assert!(
            prev.is_running() && !prev.is_failed(),
            "complete from {prev:?}"
        );
        prev
    }

    /// Records a cancellation request for a task that is no longer pending
    /// (a running task may poll it; a finished one ignores it).
    pub(crate) fn request_cancel(&self) {
        // ORDERING: Release so a closure that sees the request (Relaxed or
        // Acquire load) also sees what the canceller did before asking;
        // the flag itself guards no data.
        self.0.fetch_or(CANCEL_REQUESTED, Release);
    }

    /// Reads only the request flag: the running task's cheap poll.
    pub(crate) fn cancel_requested(&self) -> bool {
        // ORDERING: Acquire pairs with `request_cancel`'s Release.
        self.0.load(Acquire) & CANCEL_REQUESTED != 0
    }

    /// Sets a notification flag and returns the snapshot before it. If that
    /// snapshot is terminal, nobody will notify through the flag: the caller
    /// must not wait on it.
    pub(crate) fn register(&self, flag: usize) -> Snapshot {
        // ORDERING: Release orders the registration (waker, list push) before
        // the flag for the completer's Acquire; Acquire lets a caller that
        // finds a terminal state read the outcome.
        Snapshot(self.0.fetch_or(flag, AcqRel))
    }

    /// Claims the right to move the outcome out. Call only on a terminal
    /// state.
    pub(crate) fn take(&self) -> TakeOutcome {
        // ORDERING: Acquire pairs with `complete`'s Release (the result slot);
        // Release is not needed by anyone but keeps the RMW in one class.
        let prev = Snapshot(self.0.fetch_or(TAKEN, AcqRel));
        if !prev.is_finished() {
            // Rule 2 hands out the result slot only on a terminal state.
            crate::unwind::invariant_broken("take on a task that has not finished");
        }
        if prev.is_taken() {
            TakeOutcome::AlreadyTaken
        } else {
            TakeOutcome::Taken(prev)
        }
    }

    /// The one CAS loop: applies `next` to the current snapshot until the
    /// CAS succeeds (Ok(previous)) or `next` declines (Err(current)).
    fn transition(
        &self,
        mut next: impl FnMut(Snapshot) -> Option<usize>,
    ) -> Result<Snapshot, Snapshot> {
        // ORDERING: success is SeqCst: AcqRel for the table above (the
        // winner owns the closure slot and must see flags set before), and
        // in the single total order so that a claim and the SeqCst load of
        // the pool's cancelling-shutdown flag after it pair with that flag's
        // SeqCst store (DESIGN.md, section 7; the same instruction as AcqRel
        // on x86). Failure is Acquire (the loser may read a terminal outcome).
        let mut cur = self.0.load(Acquire);
        loop {
            let Some(new) = next(Snapshot(cur)) else {
                return Err(Snapshot(cur));
            };
            match self.0.compare_exchange_weak(cur, new, SeqCst, Acquire) {
                Ok(_) => return Ok(Snapshot(cur)),
                Err(actual) => cur = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_done(s: Snapshot) -> bool {
        s.is_finished() && !s.is_cancelled()
    }

    #[test]
    fn claim_then_complete() {
        let s = State::new();
        assert!(s.load().is_pending());
        assert!(s.claim());
        assert!(!s.claim(), "a second claim must lose");
        assert!(s.load().is_running());
        assert_eq!(s.cancel(), CancelOutcome::TooLate);
        let prev = s.complete(false);
        assert!(prev.is_running());
        assert!(is_done(s.load()) && !s.load().is_failed());
        assert!(!s.claim());
    }

    #[test]
    fn cancel_wins_only_while_pending() {
        let s = State::new();
        assert!(matches!(s.cancel(), CancelOutcome::Won(p) if p.is_pending()));
        assert_eq!(s.cancel(), CancelOutcome::AlreadyCancelled);
        assert!(!s.claim(), "a cancelled task is never claimed");
        assert!(s.load().is_cancelled() && s.load().is_finished());
    }

    #[test]
    fn flags_survive_transitions() {
        let s = State::new();
        assert!(s.register(WAITERS).is_pending());
        assert!(s.register(WAITERS).has(WAITERS));
        assert!(s.claim());
        let prev = s.complete(true);
        assert!(s.load().is_failed() && !prev.is_failed());
        assert!(prev.has(WAITERS) && !prev.has(CALLBACKS));
        assert!(is_done(s.load()) && s.load().has(WAITERS));
        assert!(s.register(CALLBACKS).is_finished());
    }

    #[test]
    fn take_once() {
        let s = State::new();
        assert!(s.claim());
        let _ = s.complete(false);
        assert!(matches!(s.take(), TakeOutcome::Taken(_)));
        assert_eq!(s.take(), TakeOutcome::AlreadyTaken);
        assert!(s.load().is_taken() && is_done(s.load()));
    }

    #[test]
    fn cancelled_outcome_can_be_taken_once() {
        let s = State::new();
        let _ = s.cancel();
        assert!(matches!(s.take(), TakeOutcome::Taken(p) if p.is_cancelled()));
        assert_eq!(s.take(), TakeOutcome::AlreadyTaken);
    }

    #[test]
    fn debug_names_lifecycle_and_flags() {
        let s = State::new();
        let _ = s.register(WAITERS);
        assert_eq!(format!("{:?}", s.load()), "Pending|WAITERS");
    }
}

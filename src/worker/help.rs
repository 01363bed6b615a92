//! The helping wait: what a worker runs while a task on it waits.
//!
//! A worker that waits must not simply block: the awaited task may sit in
//! its own deque. So, in order:
//! 1. an awaited task that has not started runs here, inline (what makes
//!    nested waits deadlock-free, even with one worker);
//! 2. otherwise, if the wait may help, other queued work runs here while the
//!    awaited tasks run elsewhere, and with none the worker parks as a
//!    *helper* on its pool's idle list, so new work or completion wakes it;
//! 3. a wait that may not help (it has a deadline, or this stack holds too
//!    many tasks or has too little room left) parks as a plain waiter, not
//!    searching and off the idle list, so submissions go to idle workers;
//!    an untimed one counts as a blocked worker, and the pool starts an
//!    extra worker for it as it does for a `blocking` section.
//!
//! Parked either way, a worker publishes which worker runs the task it
//! waits on, and walks those edges for a cycle that helping made across
//! workers (a wait in one gets `TaskError::Deadlock`).
//!
//! DESIGN.md, "The helping wait", argues the order and states the bounds.

use super::WorkerCtx;
use crate::blocking::Section;
use crate::error::{Panic, PanicOrigin};
use crate::sync::{Backoff, Instant, MODEL_CHECKING};
use crate::task::wait::{deadline_passed, park_until, Awaited, WaitEnd};
use crate::task::{Header, Job, RawTask, RunFrame, Runner};
use crate::unwind;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// The most tasks a worker's stack may hold before its waits stop running
/// unrelated work: a bound on how far unrelated waits nest.
const MAX_HELP_DEPTH: u64 = 128;

/// A wait runs unrelated work only while at least `1 / HELP_STACK_SHARE` of
/// the worker's stack is left, so a task it picks up starts with at least
/// that much, whatever the frames below it hold.
const HELP_STACK_SHARE: usize = 2;

/// A wait runs its awaited task inline only while at least
/// `1 / INLINE_STACK_SHARE` of the stack (and [`INLINE_STACK_MIN`]) is left;
/// below that it parks, and an extra worker with a fresh stack takes over
/// (if one can: otherwise it runs inline all the same).
const INLINE_STACK_SHARE: usize = 8;
const INLINE_STACK_MIN: usize = 32 * 1024;

/// How many entries of its own deque a wait pops looking for the awaited
/// task, so that it runs as its own entry and leaves nothing stale behind.
const SEARCH_DEPTH: usize = 8;

/// A deque shorter than this is never compacted; past it, `push_local`
/// compacts when the deque has doubled since the last compaction.
pub(super) const MIN_COMPACT_LEN: usize = 1024;

/// How often a worker parked in a wait walks the wait edges for a cycle.
const CYCLE_CHECK: Duration = Duration::from_millis(100);

/// The search for a wait cycle across workers, over one wait: a cycle counts
/// only once two walks in a row, a `CYCLE_CHECK` apart, have found it (the
/// edges are read one at a time while other workers move; a real cycle
/// stays, since none of its waits can end).
#[derive(Default)]
struct CycleWatch {
    seen: bool,
}

impl CycleWatch {
    /// Walks (publishing this worker's edge); true once a cycle was seen on
    /// this walk and on the one before.
    fn looks_closed(&mut self, ctx: &WorkerCtx, awaited: &dyn Awaited) -> bool {
        let found = ctx.edges_lead_back(awaited.runner());
        let closed = found && self.seen;
        self.seen = found;
        closed
    }
}

/// Where a worker's stack starts and how large it is.
pub(super) struct StackBounds {
    base: usize,
    size: usize,
}

impl StackBounds {
    /// Bounds for a stack of `size` bytes whose used part starts about here
    /// (called first thing on the worker's thread: the frames above it are
    /// a few of std's, well inside the margins below).
    pub(super) fn here(size: usize) -> Self {
        Self {
            base: stack_position(),
            size,
        }
    }

    /// Bytes of stack left below the caller's frame (an estimate: the
    /// stack grows down from `base`).
    #[inline]
    fn left(&self) -> usize {
        let used = self.base.saturating_sub(stack_position());
        self.size.saturating_sub(used)
    }

    fn inline_floor(&self) -> usize {
        (self.size / INLINE_STACK_SHARE)
            .max(INLINE_STACK_MIN)
            .min(self.size / HELP_STACK_SHARE)
    }
}

/// The address of a local of the caller's frame: where the stack is now.
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::ptr::from_ref(std::hint::black_box(&marker)) as usize
}

/// Runs the awaited task inline: hooks and the run stack as for any task,
/// but a lost claim counts nothing (its queue entry, still queued, is
/// counted when a worker skips it).
struct InlineRun<'a>(&'a WorkerCtx);

impl Runner for InlineRun<'_> {
    fn before(&self, frame: &RunFrame) -> bool {
        self.0.before(frame)
    }

    fn after(&self, frame: &RunFrame, panic: Option<&Panic>) {
        self.0.after(frame, panic);
    }

    fn skipped_cancelled(&self) {}

    fn id(&self) -> usize {
        self.0.id()
    }
}

impl WorkerCtx {
    /// Waits on this worker until `awaited` is ready, `deadline` passes, or
    /// the wait is found in a cycle across workers that it can never leave;
    /// says which. The three steps are in the module docs.
    #[cold]
    pub(crate) fn help_until(&self, awaited: &dyn Awaited, deadline: Option<Instant>) -> WaitEnd {
        // A timed wait never starts unrelated work: it could not stop
        // that work at its deadline.
        let may_help = deadline.is_none() && self.may_help();
        let mut backoff = Backoff::new();
        let mut cycle = CycleWatch::default();
        let end = loop {
            if awaited.is_ready() {
                break WaitEnd::Finished;
            }
            if deadline_passed(deadline) {
                break WaitEnd::TimedOut;
            }
            // (1) An awaited task that has not started runs here: if the
            // stack has room, or if no extra worker could take it over
            // (then it runs here all the same, as any deep recursion).
            if self.may_run_inline() || !self.shared.blocking.can_cover() {
                if let Some(task) = awaited.pending_task(self.pool_id()) {
                    self.stop_searching();
                    self.run_awaited(task);
                    backoff.reset();
                    continue;
                }
            }
            if !may_help {
                // (3) Not searching: a submission must wake an idle worker,
                // not count on this one.
                self.stop_searching();
                if !backoff.is_completed() {
                    backoff.snooze();
                    continue;
                }
                break self.park_blocked_cold(awaited, deadline, &mut cycle);
            }
            // (2) Other work while the awaited tasks run elsewhere.
            if let Some(other) = self.find_work() {
                self.execute(other);
                backoff.reset();
                continue;
            }
            self.start_searching();
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            // Park until the wait is over or new work arrives, looking for
            // a wait cycle across workers before and every CYCLE_CHECK.
            if !awaited.add_waiter(self.thread()) {
                break WaitEnd::Finished;
            }
            let closed = cycle.looks_closed(self, awaited);
            if !closed {
                let recheck = Instant::now().checked_add(CYCLE_CHECK);
                self.sleep_helper(&|| awaited.is_ready(), recheck);
            }
            self.withdraw_wait();
            awaited.remove_waiter(self.thread());
            if closed {
                break WaitEnd::Deadlock;
            }
            backoff.reset();
        };
        self.stop_searching();
        end
    }

    /// `stealpool::yield_now` on this worker: runs one queued task, if the
    /// helping bounds allow one more on this stack; true if it ran one.
    pub(crate) fn yield_one(&self) -> bool {
        if !self.may_help() {
            return false;
        }
        match self.find_work() {
            Some(job) => {
                self.execute(job);
                true
            }
            None => false,
        }
    }

    /// Parks as a plain waiter: nothing this wait may run is left. Untimed,
    /// the worker counts as blocked (the pool covers it with an extra
    /// worker, which may also run an awaited task this stack had no room
    /// for); either way, work left in its deque gets a worker to steal it.
    #[cold]
    fn park_blocked_cold(
        &self,
        awaited: &dyn Awaited,
        deadline: Option<Instant>,
        cycle: &mut CycleWatch,
    ) -> WaitEnd {
        let _blocked = deadline.is_none().then(|| Section::enter(self));
        self.offer_local_work();
        let end = loop {
            if cycle.looks_closed(self, awaited) {
                break WaitEnd::Deadlock;
            }
            let recheck = Instant::now().checked_add(CYCLE_CHECK);
            let until = match (deadline, recheck) {
                (Some(d), Some(r)) => Some(d.min(r)),
                (d, r) => d.or(r),
            };
            if park_until(awaited, self.thread(), until) {
                break WaitEnd::Finished;
            }
            if deadline_passed(deadline) {
                break WaitEnd::TimedOut;
            }
        };
        self.withdraw_wait();
        end
    }

    /// Withdraws this worker's published wait edge (it runs again).
    fn withdraw_wait(&self) {
        self.shared.sleep.set_waits_on(self.index, 0);
    }

    /// Publishes this worker's wait edge (it parks waiting on a task worker
    /// `runner - 1` runs) and walks the edges from there: true if they lead
    /// back to this worker. Each worker on the way is parked in a wait whose
    /// task is on the next one's stack, at or below the task that waits
    /// there, so none of them can finish before the next one does.
    fn edges_lead_back(&self, runner: usize) -> bool {
        let sleep = &self.shared.sleep;
        sleep.set_waits_on(self.index, runner);
        let me = self.index + 1;
        let mut at = runner;
        for _ in 0..sleep.slot_count() {
            if at == 0 {
                return false;
            }
            if at == me {
                return true;
            }
            at = sleep.waits_on(at - 1);
        }
        false
    }

    /// Whether a wait on this worker may run unrelated work: not once
    /// `MAX_HELP_DEPTH` tasks are on its stack, nor with less than
    /// `1 / HELP_STACK_SHARE` of the stack left.
    fn may_help(&self) -> bool {
        // ORDERING: this thread is the counter's only writer.
        let depth = self.counters().running.load(Relaxed);
        depth < MAX_HELP_DEPTH
            && (MODEL_CHECKING || self.stack.left() >= self.stack.size / HELP_STACK_SHARE)
    }

    /// Whether the stack has room to run an awaited task inline. Under loom
    /// the threads' stacks are not the worker's: always.
    #[inline]
    pub(crate) fn may_run_inline(&self) -> bool {
        MODEL_CHECKING || self.stack.left() >= self.stack.inline_floor()
    }

    /// True if `task` is running on this thread, below the caller: a wait
    /// on it could never end (it resumes only once the wait returns).
    pub(crate) fn runs_below(&self, task: &Header) -> bool {
        let mut frame = self.frames.get();
        while !frame.is_null() {
            // SAFETY: `before` links a frame and `after` unlinks it around
            // each run on this thread, so every linked frame lives on this
            // thread's stack, in a run that encloses this call.
            let linked = unsafe { &*frame };
            if linked.runs(task) {
                return true;
            }
            frame = linked.below();
        }
        false
    }

    /// Runs `task`, which a wait on this worker found pending, inline.
    ///
    /// If it is among the newest entries of this worker's deque (a task
    /// waiting on a child it submitted, in any order), it is popped and run
    /// as that entry; the pending entries popped on the way go back in
    /// their order first, so nothing stale is left behind. Otherwise it is
    /// claimed through the handle's reference and its entry, wherever it
    /// is, goes stale: dropped by whichever pop meets it, or by the next
    /// compaction of this deque.
    pub(crate) fn run_awaited(&self, task: &dyn RawTask) {
        match self.pop_awaited(task) {
            Some(job) => self.execute(job),
            None if self.shared.sleep.is_broken() => {
                unwind::contain(
                    self.pool_id(),
                    PanicOrigin::Drop,
                    "dropping an abandoned task",
                    || {
                        task.abandon();
                    },
                );
            }
            None => unwind::contain(
                self.pool_id(),
                PanicOrigin::Drop,
                "dropping a task's closure",
                || task.run(&InlineRun(self)),
            ),
        }
    }

    /// Looks for `task`'s entry among the newest of this deque and takes it
    /// out, leaving the other pending entries as they were. Not inlined: its
    /// buffer is off the stack before the task runs, so a chain of nested
    /// waits costs no more stack per level for it.
    #[inline(never)]
    fn pop_awaited(&self, task: &dyn RawTask) -> Option<Job> {
        // Popped entries, newest first: pending ones go back, stale ones are
        // dropped (after the put-back: a stale entry may hold the last
        // reference to a value whose drop is user code).
        let mut popped: [Option<Job>; SEARCH_DEPTH] = [const { None }; SEARCH_DEPTH];
        let mut found = None;
        for slot in &mut popped {
            let Some(job) = self.local.pop() else { break };
            if job.is(task) {
                found = Some(job);
                break;
            }
            *slot = Some(job);
        }
        self.push_back(&mut popped);
        for job in popped.into_iter().flatten() {
            self.execute(job);
        }
        found
    }

    /// Pushes the pending ones of `popped` (entries just popped, newest
    /// first) back in their order, taking them out of `popped`.
    fn push_back(&self, popped: &mut [Option<Job>]) {
        if !popped.iter().flatten().any(Job::is_pending) {
            return;
        }
        // A worker may have gone idle while the entries were off the deque,
        // if it was empty then: announce them again. If other entries
        // stayed, a searcher saw work and stayed awake. Either way this
        // worker runs them at the latest when its stack unwinds, so this
        // only spreads work, and the common case skips the fence.
        let alone = self.shared.stealers[self.index].is_empty();
        for slot in popped.iter_mut().rev() {
            if let Some(job) = slot.take_if(|job| job.is_pending()) {
                self.local.push(job);
            }
        }
        if alone {
            self.shared.sleep.new_work();
        }
    }

    /// Drops the stale entries of this deque (tasks that ran inline through
    /// their handle, or were cancelled), keeping the pending ones in order.
    /// `push_local` calls it once the deque has doubled since the last time,
    /// so its cost is constant per push and the deque holds at most about
    /// as many stale entries as pending ones (or `MIN_COMPACT_LEN`), for
    /// any wait order.
    #[cold]
    pub(super) fn compact_cold(&self) {
        let mut pending = Vec::new();
        let mut stale = Vec::new();
        while let Some(job) = self.local.pop() {
            if job.is_pending() {
                pending.push(job);
            } else {
                stale.push(job);
            }
        }
        self.compact_at
            .set((2 * pending.len()).max(MIN_COMPACT_LEN));
        for job in pending.into_iter().rev() {
            self.local.push(job);
        }
        // The caller announces the deque's work (`push_local`).
        for job in stale {
            self.execute(job);
        }
    }
}

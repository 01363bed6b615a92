//! Passive waiting: is it finished, register to be told, park. The one
//! entry point behind `result`, `result_timeout`, `wait`, `wait_timeout`,
//! `as_completed`, `crate::wait` and `map`.
//!
//! On a worker of the awaited task's pool the scheduler decides what the
//! waiting thread runs meanwhile (`WorkerCtx::help_until`, in
//! `src/worker/help.rs`); this module only says what is awaited ([`Awaited`])
//! and how a thread that runs nothing waits: any other thread polls briefly,
//! then parks registered as a waiter. DESIGN.md, "The helping wait", has the
//! long story.

use super::RawTask;
use crate::sync::{self, Backoff, Instant, Thread};
use crate::worker;
use std::time::Duration;

/// How a wait on one task ended.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitEnd {
    /// The task has finished.
    Finished,
    /// The deadline passed first.
    TimedOut,
    /// The task runs on this very thread, below the waiter: it cannot
    /// finish until the wait returns.
    Deadlock,
}

/// What a wait waits for: one task, or a set of tasks reporting through an
/// inbox (`as_completed`, `wait`).
pub(crate) trait Awaited {
    /// True once the wait is over.
    fn is_ready(&self) -> bool;
    /// A still-pending awaited task of the pool `pool_id`, to run inline.
    fn pending_task(&self, pool_id: usize) -> Option<&dyn RawTask>;
    /// Registers `thread` to be unparked when the wait is over. Returns false
    /// (registering nothing) if it already is.
    fn add_waiter(&self, thread: &Thread) -> bool;
    /// Takes back a registration the wake-up did not consume.
    fn remove_waiter(&self, thread: &Thread);
    /// The worker running the awaited task (its index + 1; 0 if unknown or
    /// not one task): the edge a parked waiter publishes for the search for
    /// wait cycles across workers (`worker::help`).
    fn runner(&self) -> usize {
        0
    }
}

/// One task: ready when it has finished.
struct OneTask<'a>(&'a dyn RawTask);

impl Awaited for OneTask<'_> {
    fn is_ready(&self) -> bool {
        self.0.header().state.load().is_finished()
    }

    fn pending_task(&self, pool_id: usize) -> Option<&dyn RawTask> {
        self.0.header().is_pending_in(pool_id).then_some(self.0)
    }

    fn add_waiter(&self, thread: &Thread) -> bool {
        self.0.header().add_waiter(thread)
    }

    fn remove_waiter(&self, thread: &Thread) {
        self.0.header().remove_waiter(thread);
    }

    fn runner(&self) -> usize {
        let state = self.0.header().state.load();
        if state.is_running() {
            state.runner()
        } else {
            0
        }
    }
}

/// Waits until `task` has finished, or `deadline` passes.
///
/// The fork-join case, a worker waiting on a child of its own pool that
/// has not started, goes straight to step (1) of the worker's wait: run it
/// here. It is the common wait of a nested task graph, and this path skips
/// the general loop's dispatch and backoff set-up (what it does is the
/// loop's first iteration, deadline and stack checks included, so the
/// outcome is the same: a deadline already passed never runs the task).
/// A task that is running already may be running on this very thread,
/// below the waiter (it waits on its own handle, or ran the waiter while
/// helping): that wait ends at once with [`WaitEnd::Deadlock`].
#[inline]
pub(crate) fn wait_finished(task: &dyn RawTask, deadline: Option<Instant>) -> WaitEnd {
    let header = task.header();
    if header.state.load().is_finished() {
        return WaitEnd::Finished;
    }
    let deadlock = worker::with_worker(|ctx| {
        if header.is_pending_in(ctx.pool_id()) {
            if !deadline_passed(deadline) && ctx.may_run_inline() {
                // (When the stack is low, the loop below decides.)
                ctx.stop_searching();
                ctx.run_awaited(task);
            }
            false
        } else {
            ctx.runs_below(header)
        }
    });
    if deadlock == Some(true) {
        return WaitEnd::Deadlock;
    }
    if header.state.load().is_finished() {
        return WaitEnd::Finished;
    }
    wait_end(&OneTask(task), deadline)
}

/// Waits until `awaited` is ready, or `deadline` passes; true if it is ready.
pub(crate) fn wait_until(awaited: &dyn Awaited, deadline: Option<Instant>) -> bool {
    wait_end(awaited, deadline) == WaitEnd::Finished
}

/// Waits until `awaited` is ready, `deadline` passes, or (on a worker) the
/// wait is found in a cycle it can never leave.
fn wait_end(awaited: &dyn Awaited, deadline: Option<Instant>) -> WaitEnd {
    if awaited.is_ready() {
        return WaitEnd::Finished;
    }
    worker::with_worker(|ctx| ctx.help_until(awaited, deadline)).unwrap_or_else(|| {
        if wait_blocking_cold(awaited, deadline) {
            WaitEnd::Finished
        } else {
            WaitEnd::TimedOut
        }
    })
}

/// True once `deadline` (if any) has passed.
pub(crate) fn deadline_passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

/// Parks `thread` (the caller's) registered as a waiter on `awaited` until
/// it is ready or `deadline` passes; true if it is ready. A timed-out
/// waiter takes its registration back.
pub(crate) fn park_until(
    awaited: &dyn Awaited,
    thread: &Thread,
    deadline: Option<Instant>,
) -> bool {
    if !awaited.add_waiter(thread) {
        return true;
    }
    loop {
        if awaited.is_ready() {
            // The wake-up consumed the registration; nothing to remove.
            return true;
        }
        match deadline {
            None => sync::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    awaited.remove_waiter(thread);
                    return awaited.is_ready();
                }
                sync::park_timeout(d - now);
            }
        }
    }
}

/// How long a thread outside the pool polls a task before it backs off and
/// parks, while its recent waits have been short: a round trip to an awake
/// worker takes about a microsecond, and a park/unpark pair costs several
/// (DESIGN.md, "The helping wait").
const OUTSIDE_SPIN: Duration = Duration::from_micros(20);
/// An upper bound on those polls whatever the clock says, so the phase
/// stays finite where spinning is slow; one poll under loom, where each poll
/// is a scheduling point to explore.
const OUTSIDE_SPIN_POLLS: u32 = if sync::MODEL_CHECKING { 1 } else { 1 << 12 };
/// Polls between two reads of the clock (and yields); also the whole poll
/// phase of a thread whose recent waits were long.
const POLLS_PER_CHECK: u32 = 64;
/// A wait longer than this counts as this long in the running estimate of
/// a thread's waits: enough to tell waits that polling could end from
/// those it cannot, while one slow round trip among fast ones lifts the
/// estimate by 25 us at most, so that only the next wait or two skip the
/// poll phase.
const RECENT_WAIT_CAP: u64 = 100_000;

sync::thread_local! {
    /// The running estimate (nanoseconds) of how long this thread's outside
    /// waits took lately: each wait moves it a quarter of the way to its
    /// own length (capped by [`RECENT_WAIT_CAP`]).
    // Not the `const { }` form: loom's `thread_local!` does not take it, and
    // this path is cold (the lazy-init check costs a branch per wait).
    #[allow(clippy::missing_const_for_thread_local)]
    static RECENT_WAIT: std::cell::Cell<u64> = std::cell::Cell::new(0);
}

/// True while this thread's recent outside waits were shorter than
/// [`OUTSIDE_SPIN`]: polling and backing off are then likely to see the
/// task finish without a park. Always under loom, whose models keep one
/// path.
fn waits_are_short() -> bool {
    if sync::MODEL_CHECKING {
        return true;
    }
    let recent = RECENT_WAIT.try_with(std::cell::Cell::get).unwrap_or(0);
    recent <= OUTSIDE_SPIN.as_nanos() as u64
}

/// Folds one finished wait of `took` into this thread's estimate.
fn record_outside_wait(took: Duration) {
    if sync::MODEL_CHECKING {
        return;
    }
    let took = u64::try_from(took.as_nanos()).map_or(RECENT_WAIT_CAP, |t| t.min(RECENT_WAIT_CAP));
    let _ = RECENT_WAIT.try_with(|recent| recent.set((3 * recent.get() + took) / 4));
}

/// Polls `awaited` for up to `limit` (at least one round of
/// [`POLLS_PER_CHECK`] polls); true if it became ready. Time-bounded
/// rather than count-bounded: a spin hint's cost varies twentyfold between
/// CPUs.
fn spin_outside(awaited: &dyn Awaited, deadline: Option<Instant>, limit: Duration) -> bool {
    let start = Instant::now();
    for poll in 0..OUTSIDE_SPIN_POLLS {
        if awaited.is_ready() {
            return true;
        }
        sync::spin_loop();
        if poll % POLLS_PER_CHECK == POLLS_PER_CHECK - 1 {
            if start.elapsed() >= limit || deadline_passed(deadline) {
                break;
            }
            // The worker running the task may share this CPU.
            sync::thread::yield_now();
        }
    }
    false
}

/// The wait of a thread outside the pool: poll, back off, then park
/// registered as a waiter, the first two only while this thread's recent
/// waits were short ([`waits_are_short`]).
///
/// A thread whose waits are long (a consumer waiting on chunks of a busy
/// pool, as `map`'s does) polls one round and parks. Polling for
/// [`OUTSIDE_SPIN`] there took a CPU from the workers it waits on, and the
/// backoff's yields were worse: with every CPU busy, a yield hands the CPU
/// to a worker until its timeslice ends, so the waiter saw its task finish
/// a slice late while its pipeline ran dry, where a parked waiter is woken
/// (and scheduled) at once.
#[cold]
fn wait_blocking_cold(awaited: &dyn Awaited, deadline: Option<Instant>) -> bool {
    let start = Instant::now();
    let ready = if waits_are_short() {
        spin_outside(awaited, deadline, OUTSIDE_SPIN) || back_off_then_park(awaited, deadline)
    } else {
        spin_outside(awaited, deadline, Duration::ZERO)
            || park_until(awaited, &sync::thread::current(), deadline)
    };
    if ready {
        record_outside_wait(start.elapsed());
    }
    ready
}

fn back_off_then_park(awaited: &dyn Awaited, deadline: Option<Instant>) -> bool {
    let mut backoff = Backoff::new();
    while !backoff.is_completed() {
        if awaited.is_ready() {
            return true;
        }
        if deadline_passed(deadline) {
            return false;
        }
        backoff.snooze();
    }
    park_until(awaited, &sync::thread::current(), deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_poll_phase_goes_after_long_waits_and_comes_back_after_short_ones() {
        // A test runs on a thread of its own: no waits recorded yet.
        assert!(waits_are_short());
        record_outside_wait(Duration::from_secs(5)); // counts as the cap
        assert!(!waits_are_short());
        let mut short_waits = 0;
        while !waits_are_short() {
            record_outside_wait(Duration::from_micros(1));
            short_waits += 1;
        }
        assert!(
            short_waits <= 10,
            "{short_waits} short waits to forget one long one"
        );
    }
}

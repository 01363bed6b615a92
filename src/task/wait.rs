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
    if header.state.load().is_finished() || wait_until(&OneTask(task), deadline) {
        WaitEnd::Finished
    } else {
        WaitEnd::TimedOut
    }
}

/// Waits until `awaited` is ready, or `deadline` passes; true if it is ready.
pub(crate) fn wait_until(awaited: &dyn Awaited, deadline: Option<Instant>) -> bool {
    if awaited.is_ready() {
        return true;
    }
    worker::with_worker(|ctx| ctx.help_until(awaited, deadline))
        .unwrap_or_else(|| wait_blocking_cold(awaited, deadline))
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
/// parks: a round trip to an awake worker takes about a microsecond, and a
/// park/unpark pair costs several (DESIGN.md, "The helping wait").
const OUTSIDE_SPIN: Duration = Duration::from_micros(20);
/// An upper bound on those polls whatever the clock says, so the phase
/// stays finite where spinning is slow; one poll under loom, where each poll
/// is a scheduling point to explore.
const OUTSIDE_SPIN_POLLS: u32 = if sync::MODEL_CHECKING { 1 } else { 1 << 12 };

/// Polls `awaited` for up to [`OUTSIDE_SPIN`]; true if it became ready.
/// Time-bounded rather than count-bounded: a spin hint's cost varies
/// twentyfold between CPUs.
fn spin_outside(awaited: &dyn Awaited, deadline: Option<Instant>) -> bool {
    let start = Instant::now();
    for poll in 0..OUTSIDE_SPIN_POLLS {
        if awaited.is_ready() {
            return true;
        }
        sync::spin_loop();
        if poll % 64 == 63 {
            if start.elapsed() >= OUTSIDE_SPIN || deadline_passed(deadline) {
                break;
            }
            // The worker running the task may share this CPU.
            sync::thread::yield_now();
        }
    }
    false
}

#[cold]
fn wait_blocking_cold(awaited: &dyn Awaited, deadline: Option<Instant>) -> bool {
    if spin_outside(awaited, deadline) {
        return true;
    }
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

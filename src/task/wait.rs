//! The one wait core behind `result`, `result_timeout`, `wait`,
//! `wait_timeout`, `as_completed` and `crate::wait`: claim-and-run an
//! awaited task, help, then park.
//!
//! On a pool worker a wait must never just block: the awaited task may sit
//! in this very worker's deque. So the worker (1) runs the awaited task
//! itself if it is still pending, (2) otherwise runs any other work it can
//! find, and (3) parks only when there is none, registered both as a waiter
//! on the task and as a sleeper of its pool, so either completion or new
//! work wakes it. Any other thread spins briefly, then parks as a waiter.
//! DESIGN.md, "The helping wait", argues why this cannot deadlock.

use super::RawTask;
use crate::sync::{self, Backoff, Instant, Thread};
use crate::worker::{self, WorkerCtx};
use std::time::Duration;

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

/// Waits until `task` has finished, or `deadline` passes; true if it has.
///
/// The fork-join case, a worker waiting on a child of its own pool that
/// has not started, goes straight to step (1) of the worker's wait: run it
/// here. It is the common wait of a nested task graph, and this path skips
/// the general loop's dispatch and backoff set-up (what it does is the
/// loop's first iteration, deadline check included, so the outcome is the
/// same: a deadline already passed never runs the task).
#[inline]
pub(crate) fn wait_finished(task: &dyn RawTask, deadline: Option<Instant>) -> bool {
    let header = task.header();
    if header.state.load().is_finished() {
        return true;
    }
    worker::with_worker(|ctx| {
        if header.is_pending_in(ctx.pool_id()) && !deadline_passed(deadline) {
            ctx.stop_searching();
            ctx.run_awaited(task);
        }
    });
    if header.state.load().is_finished() {
        return true;
    }
    wait_until(&OneTask(task), deadline)
}

/// Waits until `awaited` is ready, or `deadline` passes; true if it is ready.
pub(crate) fn wait_until(awaited: &dyn Awaited, deadline: Option<Instant>) -> bool {
    if awaited.is_ready() {
        return true;
    }
    worker::with_worker(|ctx| wait_on_worker_cold(ctx, awaited, deadline))
        .unwrap_or_else(|| wait_blocking_cold(awaited, deadline))
}

fn deadline_passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

#[cold]
fn wait_on_worker_cold(ctx: &WorkerCtx, awaited: &dyn Awaited, deadline: Option<Instant>) -> bool {
    let mut backoff = Backoff::new();
    let ready = loop {
        if awaited.is_ready() {
            break true;
        }
        if deadline_passed(deadline) {
            break false;
        }
        // (1) An awaited task first: if one is still pending, run it here
        // (popped off this deque if it is on top; otherwise its queue entry
        // becomes stale and whoever pops it finds the claim lost).
        if let Some(task) = awaited.pending_task(ctx.pool_id()) {
            ctx.stop_searching();
            ctx.run_awaited(task);
            continue;
        }
        // (2) Help: run other work while the awaited tasks run elsewhere
        // (bounded in depth, so unrelated waits cannot nest without end).
        if ctx.may_help() {
            if let Some(other) = ctx.find_work() {
                ctx.execute(other);
                backoff.reset();
                continue;
            }
        }
        ctx.start_searching();
        if !backoff.is_completed() {
            backoff.snooze();
            continue;
        }
        // (3) Park until the wait is over or new work arrives.
        let thread = ctx.thread();
        if !awaited.add_waiter(thread) {
            break true;
        }
        ctx.sleep_helper(&|| awaited.is_ready(), deadline);
        awaited.remove_waiter(thread);
        backoff.reset();
    };
    ctx.stop_searching();
    ready
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
    let thread = sync::thread::current();
    if !awaited.add_waiter(&thread) {
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
                    awaited.remove_waiter(&thread);
                    return awaited.is_ready();
                }
                sync::park_timeout(d - now);
            }
        }
    }
}

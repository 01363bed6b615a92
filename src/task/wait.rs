//! The one wait core behind `result`, `result_timeout`, `wait` and
//! `wait_timeout`: claim-and-run the awaited task, help, then park.
//!
//! On a pool worker a wait must never just block: the awaited task may sit
//! in this very worker's deque. So the worker (1) runs the awaited task
//! itself if it is still pending, (2) otherwise runs any other work it can
//! find, and (3) parks only when there is none, registered both as a waiter
//! on the task and as a sleeper of its pool, so either completion or new
//! work wakes it. Any other thread spins briefly, then parks as a waiter.
//! DESIGN.md, "The helping wait", argues why this cannot deadlock.

use super::header::Header;
use super::Job;
use crate::sync::{self, Backoff, Instant};
use crate::worker::{self, WorkerCtx};

/// Waits until the task behind `header` has finished, or `deadline` passes.
/// `job` makes a runnable reference to the task, for running it inline.
/// Returns true if the task has finished.
pub(crate) fn wait_finished(
    header: &Header,
    job: &dyn Fn() -> Job,
    deadline: Option<Instant>,
) -> bool {
    if header.state.load().is_finished() {
        return true;
    }
    match worker::current() {
        Some(ctx) => wait_on_worker_cold(&ctx, header, job, deadline),
        None => wait_blocking_cold(header, deadline),
    }
}

fn deadline_passed(deadline: Option<Instant>) -> bool {
    deadline.is_some_and(|d| Instant::now() >= d)
}

#[cold]
fn wait_on_worker_cold(
    ctx: &WorkerCtx,
    header: &Header,
    job: &dyn Fn() -> Job,
    deadline: Option<Instant>,
) -> bool {
    let same_pool = ctx.pool_id() == header.pool_id;
    let mut backoff = Backoff::new();
    let finished = loop {
        let state = header.state.load();
        if state.is_finished() {
            break true;
        }
        if deadline_passed(deadline) {
            break false;
        }
        // (1) The awaited task first: if it is still pending, run it here.
        // Its queue entry becomes stale; whoever pops it finds the claim lost.
        if same_pool && state.is_pending() {
            ctx.stop_searching();
            ctx.execute_awaited(job());
            continue;
        }
        // (2) Help: run other work while the awaited task runs elsewhere
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
        // (3) Park until the task finishes or new work arrives.
        let thread = ctx.thread();
        if !header.add_waiter(thread) {
            break true;
        }
        ctx.sleep_helper(&|| header.state.load().is_finished(), deadline);
        header.remove_waiter(thread);
        backoff.reset();
    };
    ctx.stop_searching();
    finished
}

#[cold]
fn wait_blocking_cold(header: &Header, deadline: Option<Instant>) -> bool {
    let mut backoff = Backoff::new();
    while !backoff.is_completed() {
        if header.state.load().is_finished() {
            return true;
        }
        if deadline_passed(deadline) {
            return false;
        }
        backoff.snooze();
    }
    let thread = sync::thread::current();
    if !header.add_waiter(&thread) {
        return true;
    }
    loop {
        if header.state.load().is_finished() {
            // The completer drained the waiter list; nothing to remove.
            return true;
        }
        match deadline {
            None => sync::park(),
            Some(d) => {
                let now = Instant::now();
                if now >= d {
                    header.remove_waiter(&thread);
                    return header.state.load().is_finished();
                }
                sync::park_timeout(d - now);
            }
        }
    }
}

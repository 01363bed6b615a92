//! Blocking sections: a task that is about to block on I/O or a lock says
//! so, and the pool starts an extra worker so queued work keeps flowing.
//!
//! Extra workers take worker slots `workers..workers + max_blocking`, each
//! with its own deque (stealable like any other). A slot's deque stays with
//! the slot across the threads that use it. An extra retires when it finds
//! no work and there are more extras than blocked workers; one that is
//! still needed parks with a short timeout so it can notice when it stops
//! being needed. DESIGN.md, "Blocking sections", has the accounting.

use crate::queue::LocalQueue;
use crate::shared::Shared;
use crate::sync::{self, Arc, JoinHandle, Mutex};
use crate::task::Job;
use crate::worker::{self, WorkerCtx};
use std::time::Duration;

/// Runs `f`, telling the pool that the calling worker may block in it (on
/// I/O, a lock, a sleep), so another worker takes over the queued work
/// meanwhile, up to [`Builder::max_blocking`](crate::Builder::max_blocking)
/// extra workers. Outside a pool worker it just runs `f`.
///
/// ```
/// use stealpool::ThreadPool;
/// let pool = ThreadPool::new(1)?;
/// let (tx, rx) = std::sync::mpsc::channel::<u32>();
/// // The only worker blocks on the channel, inside a blocking section...
/// let reader = pool.submit(move || stealpool::blocking(|| rx.recv().unwrap())).unwrap();
/// // ...so an extra worker runs this task, which unblocks the reader.
/// pool.submit(move || tx.send(5).unwrap()).unwrap().result().unwrap();
/// assert_eq!(reader.result().unwrap(), 5);
/// assert_eq!(stealpool::blocking(|| 1 + 1), 2); // not on a worker: just runs
/// # Ok::<(), stealpool::BuildError>(())
/// ```
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    let Some(ctx) = worker::current() else {
        return f();
    };
    let _section = Section::enter(&ctx);
    f()
}

/// How long a still-needed extra worker parks before re-checking whether it
/// is still needed.
pub(crate) const EXTRA_IDLE_RECHECK: Duration = Duration::from_millis(50);

/// Extra-worker bookkeeping of one pool.
pub(crate) struct BlockingPool {
    /// Index of the first extra slot (= the number of regular workers).
    first: usize,
    state: Mutex<State>,
    /// Each extra slot's deque, parked here while no thread uses the slot.
    locals: Box<[Mutex<Option<LocalQueue<Job>>>]>,
}

struct State {
    /// Workers inside a blocking section.
    blocked: usize,
    /// Extra workers started and not retired.
    extras: usize,
    /// Extra slots with no thread.
    free: Vec<usize>,
    /// Join handles of extra threads not yet joined: every one started,
    /// less those found finished when a later one was added (a slot's
    /// threads may overlap: one releases the slot before it exits).
    threads: Vec<JoinHandle<()>>,
}

/// Counts of a blocking pool, for stats.
pub(crate) struct Snapshot {
    pub(crate) blocked: usize,
    pub(crate) extras: usize,
}

impl BlockingPool {
    pub(crate) fn new(first: usize, locals: Vec<LocalQueue<Job>>) -> Self {
        let max = locals.len();
        Self {
            first,
            state: Mutex::new(State {
                blocked: 0,
                extras: 0,
                free: (first..first + max).rev().collect(),
                threads: Vec::new(),
            }),
            locals: locals.into_iter().map(|l| Mutex::new(Some(l))).collect(),
        }
    }

    pub(crate) fn is_extra(&self, index: usize) -> bool {
        index >= self.first
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let state = self.state.lock();
        Snapshot {
            blocked: state.blocked,
            extras: state.extras,
        }
    }

    /// An extra worker with nothing to do asks whether to retire: yes if
    /// there are more extras than blocked workers (it then counts itself out).
    pub(crate) fn try_retire(&self) -> bool {
        let mut state = self.state.lock();
        if state.extras > state.blocked {
            state.extras -= 1;
            true
        } else {
            false
        }
    }

    /// An extra's thread hands its slot back as it exits: retired (already
    /// counted out by `try_retire`) or stopped by pool termination.
    pub(crate) fn release_slot(&self, index: usize, local: LocalQueue<Job>, retired: bool) {
        *self.locals[index - self.first].lock() = Some(local);
        let mut state = self.state.lock();
        if !retired {
            state.extras -= 1;
        }
        state.free.push(index);
    }

    /// Joins every extra thread not joined yet (a waiting shutdown, after
    /// the regular workers exited, which implies the extras retired).
    pub(crate) fn join_all(&self) {
        let threads = std::mem::take(&mut self.state.lock().threads);
        for handle in threads {
            // Workers never unwind (user panics are caught).
            let _ = handle.join();
        }
    }

    /// Records a started extra thread, and joins the recorded ones whose
    /// body has returned, so a long-lived pool does not keep one handle
    /// (and one unjoined thread) per extra it ever started. Those joins
    /// cannot block on this thread: their bodies are over. No other join
    /// happens outside shutdown, so two exiting extras can never wait on
    /// each other.
    fn add_thread(&self, handle: JoinHandle<()>) {
        let finished: Vec<_> = {
            let mut state = self.state.lock();
            let (done, running) = std::mem::take(&mut state.threads)
                .into_iter()
                .partition(sync::is_finished);
            state.threads = running;
            state.threads.push(handle);
            done
        };
        for handle in finished {
            let _ = handle.join();
        }
    }

    /// Whether one more blocked worker would be covered: an extra is running
    /// and not needed, or an extra slot is free.
    pub(crate) fn can_cover(&self) -> bool {
        let state = self.state.lock();
        state.extras > state.blocked || !state.free.is_empty()
    }

    /// A worker enters its outermost blocking section.
    fn enter(&self, shared: &Arc<Shared>) {
        self.state.lock().blocked += 1;
        self.cover_blocked_cold(shared);
    }

    /// Starts an extra worker if blocked workers outnumber the extras and a
    /// slot is free. Called when a worker starts blocking and when a slot
    /// comes free, so a worker that blocked while every slot was taken (or
    /// while a retiring extra still held one) is covered as soon as it can be.
    #[cold]
    pub(crate) fn cover_blocked_cold(&self, shared: &Arc<Shared>) {
        let index = {
            let mut state = self.state.lock();
            if state.blocked <= state.extras {
                return;
            }
            let Some(index) = state.free.pop() else {
                return; // max_blocking extras are already running
            };
            state.extras += 1;
            index
        };
        // The slot's previous thread (if any) has released it and may still
        // be exiting: its handle stays in `threads`, for shutdown to join.
        let local = self.locals[index - self.first].lock().take();
        let Some(local) = local else {
            crate::unwind::invariant_broken("a free extra slot has no deque");
        };
        shared.sleep.add_live();
        match worker::spawn(shared, index, local) {
            Ok(handle) => self.add_thread(handle),
            Err(err) => {
                // Could not start a thread: carry on without compensation.
                // The slot's deque was dropped with the failed spawn's
                // closure and its stealer is fixed, so the slot stays out
                // of the free list for good.
                crate::unwind::report_io("starting a worker for a blocking section", &err);
                self.state.lock().extras -= 1;
                shared.sleep.remove_live_cold(&|| shared.has_work());
            }
        }
    }

    fn exit(&self) {
        self.state.lock().blocked -= 1;
    }
}

/// A worker's stay in a blocking section; nested sections count once. A
/// wait that parks without helping enters one too (`worker::help`).
pub(crate) struct Section<'a> {
    ctx: &'a WorkerCtx,
    outermost: bool,
}

impl<'a> Section<'a> {
    pub(crate) fn enter(ctx: &'a WorkerCtx) -> Self {
        let outermost = ctx.enter_blocking();
        if outermost {
            let shared = ctx.shared();
            shared.blocking.enter(shared);
            // Work left in this worker's deque must not wait for it: make
            // sure someone is awake to steal it.
            ctx.offer_local_work();
        }
        Section { ctx, outermost }
    }
}

impl Drop for Section<'_> {
    fn drop(&mut self) {
        self.ctx.exit_blocking();
        if self.outermost {
            self.ctx.shared().blocking.exit();
        }
    }
}

//! A worker thread: its main loop, its find-work order, and the
//! thread-local that tells pool code which worker (if any) it runs on.
//! What a worker does while a task on it waits is in [`help`].

mod help;

use crate::blocking::EXTRA_IDLE_RECHECK;
use crate::error::{Panic, PanicOrigin};
use crate::hooks::Hooks;
use crate::queue::{LocalQueue, Steal};
use crate::shared::Shared;
use crate::sleep::{SleepKind, Woke};
use crate::stats::Counters;
use crate::sync::{thread, thread_local, Arc, Backoff, Instant, JoinHandle, Thread};
use crate::task::{Job, RunFrame, Runner};
use crate::unwind::{self, AbortOnPanic};
use crate::ThreadPool;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

// `const`-initialized on std (no lazy-init check on every `current()` call,
// which every submit and wait makes); loom's `thread_local!` does not accept
// that form.
#[cfg(not(stealpool_loom))]
thread_local! {
    static CURRENT: RefCell<Option<Rc<WorkerCtx>>> = const { RefCell::new(None) };
}
#[cfg(stealpool_loom)]
thread_local! {
    static CURRENT: RefCell<Option<Rc<WorkerCtx>>> = RefCell::new(None);
}

/// The worker running on this thread, if any.
pub(crate) fn current() -> Option<Rc<WorkerCtx>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Calls `f` with the worker running on this thread, if any, without
/// touching the context's count (the hot paths: submit, wait, with_current).
/// The thread-local stays borrowed (shared) while `f` runs, which may nest:
/// only the worker's own start and exit borrow it mutably, outside any task.
#[inline]
pub(crate) fn with_worker<R>(f: impl FnOnce(&WorkerCtx) -> R) -> Option<R> {
    CURRENT
        .try_with(move |c| c.borrow().as_deref().map(f))
        .ok()
        .flatten()
}

/// Per-worker state, owned by its thread.
pub(crate) struct WorkerCtx {
    index: usize,
    /// The pool, uncounted as a handle: `ThreadPool::with_current` lends it.
    pool: ThreadPool,
    shared: Arc<Shared>,
    local: LocalQueue<Job>,
    thread: Thread,
    /// Whether this worker is counted in the sleep state's `searching`.
    searching: Cell<bool>,
    /// Depth of nested `blocking` sections on this worker.
    blocking_depth: Cell<u32>,
    rng: Cell<u64>,
    tick: Cell<u32>,
    /// The innermost task running on this thread (null: none); each frame
    /// links to the one below it (`RunFrame`).
    frames: Cell<*const RunFrame>,
    /// Where this thread's stack was when the worker started, and its size:
    /// how much stack is left bounds what a waiting task may run on it.
    stack: help::StackBounds,
    /// The deque length at which `push_local` next drops stale entries.
    compact_at: Cell<usize>,
}

/// How often `find_work` looks at the injector before the local deque, so a
/// worker that keeps feeding its own deque cannot starve outside submitters.
const INJECTOR_INTERVAL: u32 = 61;

/// Starts the thread for worker slot `index`.
pub(crate) fn spawn(
    shared: &Arc<Shared>,
    index: usize,
    local: LocalQueue<Job>,
) -> std::io::Result<JoinHandle<()>> {
    let worker_shared = shared.clone();
    thread::Builder::new()
        .name(format!("{}-{index}", shared.spawn.name_prefix))
        .stack_size(shared.spawn.stack_size)
        .spawn(move || run(worker_shared, index, local))
}

/// The body of the thread of worker slot `index`.
fn run(shared: Arc<Shared>, index: usize, local: LocalQueue<Job>) {
    let _guard = AbortOnPanic("worker loop");
    let thread = thread::current();
    shared.sleep.register_thread(index, thread.clone());
    let ctx = Rc::new(WorkerCtx {
        index,
        rng: Cell::new(crate::sync::rng_seed(index)),
        pool: ThreadPool::uncounted(shared.clone()),
        stack: help::StackBounds::here(shared.spawn.stack_size),
        shared,
        local,
        thread,
        searching: Cell::new(false),
        blocking_depth: Cell::new(0),
        tick: Cell::new(0),
        frames: Cell::new(std::ptr::null()),
        compact_at: Cell::new(help::MIN_COMPACT_LEN),
    });
    CURRENT.with(|c| *c.borrow_mut() = Some(ctx.clone()));
    let hooks = &ctx.shared.hooks;
    if let Some(start) = &hooks.on_worker_start {
        if let Err(panic) = unwind::catch(|| start(index)) {
            let panic = panic.with_origin(PanicOrigin::Hook);
            unwind::report(ctx.pool_id(), "a worker initializer", panic);
            ctx.shared.sleep.set_broken();
        }
    }
    let retired = ctx.main_loop();
    // No longer a worker: a task the stop hook submits is an outside
    // submission (refused once the pool has shut down), never a push onto
    // a deque that nobody will pop again.
    CURRENT.with(|c| c.borrow_mut().take());
    Hooks::call(
        &hooks.on_worker_stop,
        ctx.pool_id(),
        "the on_worker_stop hook",
        index,
    );
    let pool = ctx.pool_id();
    if ctx.shared.blocking.is_extra(index) {
        let Ok(ctx) = Rc::try_unwrap(ctx) else {
            unwind::invariant_broken("an exiting worker's context is still borrowed");
        };
        let shared = ctx.shared;
        shared.blocking.release_slot(index, ctx.local, retired);
        shared.sleep.remove_live_cold(&|| shared.has_work());
        // A worker may have started blocking while this slot was taken.
        if !shared.sleep.is_terminated() {
            shared.blocking.cover_blocked_cold(&shared);
        }
        drop_last(pool, shared);
    } else {
        drop_last(pool, ctx);
    }
}

/// Drops an exiting worker's reference to its pool's state. It may be the
/// last one (every handle gone): then the drop runs user code (the hooks'
/// captures), whose panic must not abort the process from inside the
/// worker's `AbortOnPanic`.
fn drop_last<T>(pool: usize, state: T) {
    unwind::contain(
        pool,
        PanicOrigin::Drop,
        "dropping the pool's state",
        move || {
            drop(state);
        },
    );
}

impl WorkerCtx {
    /// Runs tasks until the pool terminates (returns false) or, for an extra
    /// worker, until it is no longer needed (returns true: retire).
    fn main_loop(&self) -> bool {
        let extra = self.shared.blocking.is_extra(self.index);
        let mut backoff = Backoff::new();
        // Whether to leave a busy worker's lone queued task to its owner
        // (see `find_work_inner`): from finding work until spinning ends.
        let mut patient = true;
        let retire = loop {
            // Checked first: after termination no task may start here (an
            // outside submission racing it is taken back by its submitter).
            if self.shared.sleep.is_terminated() {
                break false;
            }
            if let Some(job) = self.find_work_with(patient) {
                self.execute(job);
                backoff.reset();
                patient = true;
                continue;
            }
            self.start_searching();
            if !backoff.is_completed() {
                patient = patient && backoff.is_spinning();
                backoff.snooze();
                continue;
            }
            if extra && self.shared.blocking.try_retire() {
                break true;
            }
            let deadline = if extra {
                Instant::now().checked_add(EXTRA_IDLE_RECHECK)
            } else {
                None
            };
            match self.sleep(SleepKind::Main, &|| false, deadline) {
                Woke::Terminate => break false,
                Woke::Notified | Woke::Unregistered => backoff.reset(),
            }
        };
        self.stop_searching();
        retire
    }

    pub(crate) fn pool_id(&self) -> usize {
        self.shared.id()
    }

    /// This worker's pool, to lend to the task it runs.
    pub(crate) fn pool(&self) -> &ThreadPool {
        &self.pool
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn thread(&self) -> &Thread {
        &self.thread
    }

    fn counters(&self) -> &Counters {
        &self.shared.stats.workers[self.index]
    }

    /// Pushes a task submitted by this worker onto its own deque.
    pub(crate) fn push_local(&self, job: Job) {
        Counters::bump(&self.counters().submitted);
        self.local.push(job);
        if self.local.len() >= self.compact_at.get() {
            self.compact_cold();
        }
        self.shared.sleep.new_work();
    }

    /// Runs one job from a queue, containing panics from dropping its
    /// closure or value.
    pub(crate) fn execute(&self, job: Job) {
        if self.shared.sleep.is_broken() {
            unwind::contain(
                self.pool_id(),
                PanicOrigin::Drop,
                "dropping an abandoned task",
                || {
                    job.abandon();
                },
            );
        } else {
            unwind::contain(
                self.pool_id(),
                PanicOrigin::Drop,
                "dropping a task's closure or value",
                || job.run(self),
            );
        }
    }

    /// Finds a task, leaving the searching state if it does.
    pub(crate) fn find_work(&self) -> Option<Job> {
        self.find_work_with(false)
    }

    /// [`find_work`](Self::find_work); a `patient` searcher does not steal
    /// the only task in another worker's deque.
    fn find_work_with(&self, patient: bool) -> Option<Job> {
        let job = self.find_work_inner(patient);
        if job.is_some() {
            self.stop_searching();
        }
        job
    }

    /// The find-work order:
    /// 0. first, this worker's copy of a broadcast, if one waits for it (it
    ///    runs here and the search goes on);
    /// 1. every `INJECTOR_INTERVAL`th call, the injector first (fairness);
    /// 2. this worker's deque, newest first (cache-warm, depth-first for
    ///    nested graphs, and where a waiting task's children are);
    /// 3. the injector, taking a batch into the local deque;
    /// 4. the other workers' deques, oldest first, from a random victim, so
    ///    idle workers do not all hit the same one; a steal takes half.
    ///    A `patient` searcher (one that found work within its spinning
    ///    phase) skips a victim holding one task: that is usually a task
    ///    its owner just submitted and pops within nanoseconds (a chain of
    ///    tasks each submitting the next), and stealing it moves the chain
    ///    to another core at every hop. Once the spinning phase is over
    ///    the searcher takes it, so a busy owner's task waits at most that
    ///    long for a thief.
    ///
    /// Steps 3-4 repeat while any queue answered `Retry` (a lost race, not
    /// emptiness).
    fn find_work_inner(&self, patient: bool) -> Option<Job> {
        // 0. This worker's copy of a broadcast: only it may run it, and the
        // broadcaster waits for it (src/broadcast.rs). Not searching while
        // it runs, so a submission meanwhile wakes someone else.
        if let Some(copy) = self.shared.broadcasts.take(self.index) {
            self.stop_searching();
            copy.run();
        }
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick % INJECTOR_INTERVAL == 0 {
            if let Steal::Success(job) = self.shared.injector.steal_batch_and_pop(&self.local) {
                return Some(job);
            }
        }
        if let Some(job) = self.local.pop() {
            return Some(job);
        }
        loop {
            let mut retry = false;
            match self.shared.injector.steal_batch_and_pop(&self.local) {
                Steal::Success(job) => return Some(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            let stealers = &self.shared.stealers;
            let n = stealers.len();
            let start = self.next_random() % n;
            for victim in (start..n).chain(0..start).filter(|&v| v != self.index) {
                if patient && stealers[victim].len() <= 1 {
                    continue;
                }
                match stealers[victim].steal_batch_and_pop(&self.local) {
                    Steal::Success(job) => {
                        Counters::bump(&self.counters().stolen);
                        return Some(job);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// xorshift64: cheap, and good enough to spread victims.
    fn next_random(&self) -> usize {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        x as usize
    }

    pub(crate) fn start_searching(&self) {
        if !self.searching.replace(true) {
            self.shared.sleep.start_searching();
        }
    }

    pub(crate) fn stop_searching(&self) {
        if self.searching.replace(false) {
            self.shared.sleep.stop_searching(|| self.shared.has_work());
        }
    }

    /// Parks until `cond` holds, new work arrives, `deadline` passes or the
    /// pool terminates; keeps the searching count right either way.
    fn sleep(&self, kind: SleepKind, cond: &dyn Fn() -> bool, deadline: Option<Instant>) -> Woke {
        Counters::bump(&self.counters().sleeps);
        let was_searching = self.searching.replace(false);
        let woke = self.shared.sleep.sleep(
            self.index,
            kind,
            was_searching,
            &|| self.shared.has_work(),
            cond,
            deadline,
        );
        if woke == Woke::Notified {
            self.searching.set(true);
        }
        woke
    }

    /// Parks inside a wait until `cond` holds or new work arrives.
    fn sleep_helper(&self, cond: &dyn Fn() -> bool, deadline: Option<Instant>) {
        match self.sleep(SleepKind::Helper, cond, deadline) {
            // Counted as searching: the wait loop searches, and its exit
            // path stops searching (with the re-check that implies).
            Woke::Notified | Woke::Unregistered => {}
            Woke::Terminate => unwind::invariant_broken("a helper saw termination"),
        }
    }

    /// Whether the task running innermost on this thread was asked to stop:
    /// its handle's `cancel()` came too late to keep it from starting, or
    /// the pool's shutdown asked to cancel pending work.
    #[inline]
    pub(crate) fn cancel_requested(&self) -> bool {
        let frame = self.frames.get();
        if frame.is_null() {
            return false;
        }
        // SAFETY: `before` links a frame and `after` unlinks it around each
        // run on this thread, so the linked frame lives in a run that
        // encloses this call.
        let task = unsafe { &*frame }.header();
        task.state.cancel_requested() || self.shared.cancel_requested()
    }

    /// Enters a `blocking` section; true for the outermost one.
    pub(crate) fn enter_blocking(&self) -> bool {
        let depth = self.blocking_depth.get();
        self.blocking_depth.set(depth + 1);
        depth == 0
    }

    pub(crate) fn exit_blocking(&self) {
        self.blocking_depth.set(self.blocking_depth.get() - 1);
    }

    /// Before blocking: if this worker's deque holds work, make sure some
    /// worker is awake to steal it.
    pub(crate) fn offer_local_work(&self) {
        if !self.shared.stealers[self.index].is_empty() {
            self.shared.sleep.new_work();
        }
    }
}

impl Runner for WorkerCtx {
    #[inline]
    fn before(&self, frame: &RunFrame) -> bool {
        if self.shared.cancelling_since_claim() && !frame.header().state.load().is_late() {
            return false;
        }
        frame.set_below(self.frames.replace(frame));
        Counters::bump_gauge(&self.counters().running);
        Hooks::call(
            &self.shared.hooks.before_task,
            self.pool_id(),
            "the before_task hook",
            self.index,
        );
        true
    }

    #[inline]
    fn after(&self, frame: &RunFrame, panic: Option<&Panic>) {
        self.frames.set(frame.below());
        Hooks::call(
            &self.shared.hooks.after_task,
            self.pool_id(),
            "the after_task hook",
            self.index,
        );
        let counters = self.counters();
        Counters::drop_one(&counters.running);
        match panic {
            None => Counters::bump(&counters.completed),
            Some(panic) => {
                Counters::bump(&counters.panicked);
                self.shared.hooks.report_panic(panic);
            }
        }
    }

    fn skipped_cancelled(&self) {
        Counters::bump(&self.counters().cancelled);
    }

    #[inline]
    fn id(&self) -> usize {
        self.index + 1
    }
}

impl WorkerCtx {
    /// This worker's slot: `0..workers` for the regular workers, then the
    /// blocking-section extras.
    pub(crate) fn index(&self) -> usize {
        self.index
    }
}

/// For `join` (`src/join.rs`) and scoped tasks (`src/scope.rs`): the owner's
/// side of a stack job, and pushes that are not counted as submissions.
/// Kept apart from the methods above so the helping-wait rework can fold
/// them in.
impl WorkerCtx {
    /// Pushes a `join`'s stack job onto this worker's deque and lets an idle
    /// worker know, like [`push_local`](Self::push_local) but not counted
    /// as a submitted task (it is half of the running one).
    #[inline]
    pub(crate) fn push_stack_job(&self, job: Job) {
        self.local.push(job);
        self.shared.sleep.new_work();
    }

    /// Pops this worker's deque, newest first: a `join` looking for its own
    /// stack job, which is on top unless something pushed after it is
    /// still there or it was stolen.
    #[inline]
    pub(crate) fn pop_local(&self) -> Option<Job> {
        self.local.pop()
    }
}

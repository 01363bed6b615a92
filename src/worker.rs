//! A worker thread: its main loop, its find-work order, and the
//! thread-local that tells pool code which worker (if any) it runs on.

use crate::queue::{LocalQueue, Steal};
use crate::shared::Shared;
use crate::sleep::{SleepKind, Woke};
use crate::sync::{thread, thread_local, Arc, Backoff, Instant, Thread};
use crate::task::Job;
use crate::unwind::{self, AbortOnPanic};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

thread_local! {
    static CURRENT: RefCell<Option<Rc<WorkerCtx>>> = const { RefCell::new(None) };
}

/// The worker running on this thread, if any.
pub(crate) fn current() -> Option<Rc<WorkerCtx>> {
    CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// Per-worker state, owned by its thread.
pub(crate) struct WorkerCtx {
    index: usize,
    shared: Arc<Shared>,
    local: LocalQueue<Job>,
    thread: Thread,
    /// Whether this worker is counted in the sleep state's `searching`.
    searching: Cell<bool>,
    rng: Cell<u64>,
    tick: Cell<u32>,
}

/// How often `find_work` looks at the injector before the local deque, so a
/// worker that keeps feeding its own deque cannot starve outside submitters.
const INJECTOR_INTERVAL: u32 = 61;

/// The body of worker thread `index`.
pub(crate) fn run(shared: Arc<Shared>, index: usize, local: LocalQueue<Job>) {
    let _guard = AbortOnPanic("worker loop");
    let thread = thread::current();
    shared.sleep.register_thread(index, thread.clone());
    let ctx = Rc::new(WorkerCtx {
        index,
        rng: Cell::new(crate::sync::rng_seed(index)),
        shared,
        local,
        thread,
        searching: Cell::new(false),
        tick: Cell::new(0),
    });
    CURRENT.with(|c| *c.borrow_mut() = Some(ctx.clone()));
    if let Some(init) = &ctx.shared.initializer {
        if let Err(panic) = unwind::catch(init) {
            unwind::report("a worker initializer", &panic);
            ctx.shared.sleep.set_broken();
        }
    }
    ctx.main_loop();
    CURRENT.with(|c| c.borrow_mut().take());
}

impl WorkerCtx {
    fn main_loop(&self) {
        let mut backoff = Backoff::new();
        loop {
            if let Some(job) = self.find_work() {
                self.execute(job);
                backoff.reset();
                continue;
            }
            if self.shared.sleep.is_terminated() {
                break;
            }
            self.start_searching();
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            let was_searching = self.searching.replace(false);
            match self.shared.sleep.sleep(
                self.index,
                SleepKind::Main,
                was_searching,
                &|| self.shared.has_work(),
                &|| false,
                None,
            ) {
                Woke::Notified => self.searching.set(true),
                Woke::Unregistered => {}
                Woke::Terminate => break,
            }
            backoff.reset();
        }
        self.stop_searching();
    }

    pub(crate) fn pool_id(&self) -> usize {
        self.shared.id()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn thread(&self) -> &Thread {
        &self.thread
    }

    /// Pushes a task submitted by this worker onto its own deque.
    pub(crate) fn push_local(&self, job: Job) {
        self.local.push(job);
        self.shared.sleep.new_work();
    }

    /// Runs one job, containing panics from dropping its closure or value.
    pub(crate) fn execute(&self, job: Job) {
        if self.shared.sleep.flags().broken() {
            unwind::contain("dropping an abandoned task", || job.abandon());
        } else {
            unwind::contain("dropping a task's closure or value", || job.run());
        }
    }

    /// Finds a task, leaving the searching state if it does.
    pub(crate) fn find_work(&self) -> Option<Job> {
        let job = self.find_work_inner();
        if job.is_some() {
            self.stop_searching();
        }
        job
    }

    /// The find-work order:
    /// 1. every `INJECTOR_INTERVAL`th call, the injector first (fairness);
    /// 2. this worker's deque, newest first (cache-warm, depth-first for
    ///    nested graphs, and where a waiting task's children are);
    /// 3. the injector, taking a batch into the local deque;
    /// 4. the other workers' deques, oldest first, from a random victim, so
    ///    idle workers do not all hit the same one; a steal takes half.
    ///
    /// Steps 3-4 repeat while any queue answered `Retry` (a lost race, not
    /// emptiness).
    fn find_work_inner(&self) -> Option<Job> {
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
                match stealers[victim].steal_batch_and_pop(&self.local) {
                    Steal::Success(job) => return Some(job),
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

    /// Parks inside a wait until `cond` holds, new work arrives, or
    /// `deadline` passes.
    pub(crate) fn sleep_helper(&self, cond: &dyn Fn() -> bool, deadline: Option<Instant>) {
        let was_searching = self.searching.replace(false);
        match self.shared.sleep.sleep(
            self.index,
            SleepKind::Helper,
            was_searching,
            &|| self.shared.has_work(),
            cond,
            deadline,
        ) {
            Woke::Notified => self.searching.set(true),
            Woke::Unregistered | Woke::Terminate => {}
        }
    }
}

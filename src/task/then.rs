//! Continuations: [`TaskHandle::then`] and [`ThreadPool::when_all`].
//!
//! A continuation is an ordinary task, created at once (its handle is
//! returned at once) but not queued: it is PENDING under its pool's id
//! marked [`WAITS_FOR_PARENTS`], so no waiter claims it inline before its
//! inputs exist. A done callback
//! on each parent *delivers* it once the last parent has finished: it is
//! queued on the pool, on the finishing worker's own deque when that
//! worker belongs to the pool, through the pool's injector otherwise. No
//! thread blocks on a parent, and delivering only queues, so a chain of
//! continuations runs one task after another off the queues, never nested
//! on one stack. DESIGN.md, "Task graphs", has the rules.

use super::callbacks::Callback;
use super::cell::{Plain, TaskCell};
use super::handle::TaskHandle;
use super::{Job, RawTask, RunFrame, Runner};
use crate::error::{Panic, SubmitError, TaskError};
use crate::pools;
use crate::shared::Shared;
use crate::sync::{thread_local, Arc, AtomicUsize, Mutex, TaskArc};
use crate::worker;
use crate::ThreadPool;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::AcqRel;

/// Marks a continuation's pool id. A waiter runs a pending task inline only
/// if its pool id equals the waiter's pool's, so a continuation is never
/// run before it is delivered (its parents may not have finished); the id
/// without the mark still names the pool, for continuations of
/// continuations. Pool ids are serial numbers, far below this bit.
const WAITS_FOR_PARENTS: usize = 1 << (usize::BITS - 1);

/// The pool id a continuation of pool `pool_id` is created under.
fn unqueued(pool_id: usize) -> usize {
    pool_id | WAITS_FOR_PARENTS
}

/// The pool a task belongs to, from its recorded id.
pub(crate) fn pool_of(recorded: usize) -> usize {
    recorded & !WAITS_FOR_PARENTS
}

impl<T: Send + 'static> TaskHandle<T> {
    /// Returns a handle to `f(outcome)`, where `outcome` is what this task
    /// ends with (its value, its panic, `Cancelled`, ...): `f` is submitted
    /// to this task's pool when this task finishes, and nothing blocks
    /// meanwhile.
    ///
    /// Consumes the handle: `f` receives the outcome this handle would have
    /// taken. If another clone of the handle took the value first, `f`
    /// receives [`TaskError::ResultTaken`].
    ///
    /// The continuation is queued by the thread that finishes this task (a
    /// worker of the pool: on its own deque), or at once if this task has
    /// already finished; it never runs on the calling thread's stack, so
    /// chains of any length run in constant stack. Cancelling the returned
    /// handle while it waits cancels the continuation alone: this task
    /// still runs.
    ///
    /// Shutdown: a continuation registered before the pool shut down runs
    /// (if its parent ends outside the pool after shutdown, as when a
    /// cancelling shutdown cancels it, the pool cannot queue it any more
    /// and it runs on the thread that ended the parent, one continuation
    /// after another). One registered after shutdown, from outside the
    /// pool, resolves to [`TaskError::Shutdown`] without running;
    /// from the pool's own workers it is accepted, as `submit` is.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let words = pool.submit(|| "a graph with no blocked thread".to_string()).unwrap();
    /// let count = words.then(|s| s.unwrap().split(' ').count());
    /// let twice = count.then(|n| n.unwrap() * 2);
    /// assert_eq!(twice.result()?, 12);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn then<U, F>(self, f: F) -> TaskHandle<U>
    where
        F: FnOnce(Result<T, TaskError>) -> U + Send + 'static,
        U: Send + 'static,
    {
        let pool_id = pool_of(self.header().pool_id);
        let parent = self.clone();
        let cell = TaskArc::new(TaskCell::<_, U, Plain>::new(
            move || f(self.take()),
            unqueued(pool_id),
        ));
        let handle = TaskHandle::new(cell.clone());
        let pool = match reach(pool_id) {
            Reach::Worker => None,
            Reach::Outside(shared) => Some(shared),
            Reach::Refused(err) => {
                cell.resolve_unrun(err);
                return handle;
            }
        };
        let delivery = Delivery {
            task: cell,
            pool_id,
            pool,
        };
        parent
            .header()
            .add_callback(Box::new(move || delivery.deliver()));
        handle
    }
}

impl ThreadPool {
    /// Returns a handle to `f(outcomes)`, submitted to this pool once every
    /// handle in `handles` has finished; `outcomes` holds what each ended
    /// with, in input order. Nothing blocks meanwhile: the last task to
    /// finish queues `f`. Handles may belong to any pool.
    ///
    /// Like [`TaskHandle::then`] for several parents: each outcome is what
    /// that handle would have taken ([`TaskError::ResultTaken`] if a clone
    /// took it first), cancelling the returned handle cancels `f` alone,
    /// and `f` runs in constant stack whatever the graph's depth.
    ///
    /// # Errors
    ///
    /// Errors hand `f` back, as [`submit`](Self::submit)'s do:
    /// [`SubmitError::Shutdown`] if called from outside the pool after
    /// shutdown, [`SubmitError::Broken`] if the pool is broken. The handles
    /// are dropped then (their tasks still run).
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let parts: Vec<_> = (1..=4u64).map(|i| pool.submit(move || i * i).unwrap()).collect();
    /// let total = pool
    ///     .when_all(parts, |outcomes| outcomes.into_iter().map(Result::unwrap).sum::<u64>())
    ///     .unwrap();
    /// assert_eq!(total.result()?, 30);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn when_all<T, U, F, I>(&self, handles: I, f: F) -> Result<TaskHandle<U>, SubmitError<F>>
    where
        I: IntoIterator<Item = TaskHandle<T>>,
        T: Send + 'static,
        U: Send + 'static,
        F: FnOnce(Vec<Result<T, TaskError>>) -> U + Send + 'static,
    {
        let shared = &self.shared;
        let flags = shared.sleep.flags();
        if flags.broken() {
            return Err(SubmitError::Broken(f));
        }
        let id = shared.id();
        let inside = worker::with_worker(|ctx| ctx.pool_id() == id).unwrap_or(false);
        if !inside && flags.shutdown() {
            return Err(SubmitError::Shutdown(f));
        }
        let handles: Vec<TaskHandle<T>> = handles.into_iter().collect();
        let gate = Arc::new(Gate {
            // One per parent, and one for this registration, released last,
            // so the continuation cannot be delivered before it exists.
            remaining: AtomicUsize::new(handles.len() + 1),
            delivery: Mutex::new(None),
        });
        for parent in &handles {
            let gate = gate.clone();
            let arrive: Callback = Box::new(move || gate.arrive());
            parent.header().add_callback(arrive);
        }
        let cell = TaskArc::new(TaskCell::<_, U, Plain>::new(
            move || f(handles.iter().map(TaskHandle::take).collect()),
            unqueued(id),
        ));
        let handle = TaskHandle::new(cell.clone());
        *gate.delivery.lock() = Some(Delivery {
            task: cell,
            pool_id: id,
            pool: (!inside).then(|| shared.clone()),
        });
        gate.arrive();
        Ok(handle)
    }
}

/// Where a pool stands, seen from the thread registering a continuation.
enum Reach {
    /// This thread is one of its workers.
    Worker,
    /// It takes outside work.
    Outside(Arc<Shared>),
    /// It does not (shut down, gone, or broken).
    Refused(TaskError),
}

fn reach(pool_id: usize) -> Reach {
    if worker::with_worker(|ctx| ctx.pool_id() == pool_id) == Some(true) {
        return Reach::Worker;
    }
    let Some(shared) = pools::find(pool_id) else {
        // Its last handle is gone: it has shut down.
        return Reach::Refused(TaskError::Shutdown);
    };
    let flags = shared.sleep.flags();
    if flags.broken() {
        Reach::Refused(TaskError::PoolBroken)
    } else if flags.shutdown() {
        Reach::Refused(TaskError::Shutdown)
    } else {
        Reach::Outside(shared)
    }
}

/// A continuation and the pool to queue it on.
struct Delivery {
    task: TaskArc<dyn RawTask>,
    pool_id: usize,
    /// The pool, when the registering thread had it already.
    pool: Option<Arc<Shared>>,
}

impl Delivery {
    /// The parents have finished: queue the continuation.
    fn deliver(&self) {
        if !self.task.header().state.load().is_pending() {
            // Cancelled while it waited: nothing to queue.
            return;
        }
        let id = self.pool_id;
        // On one of the pool's workers: its own deque (accepted after
        // shutdown, so graphs registered before it finish).
        let queued = worker::with_worker(|ctx| {
            if ctx.pool_id() != id {
                return false;
            }
            ctx.push_local(Job::new(self.task.clone()));
            true
        });
        if queued == Some(true) {
            return;
        }
        let pool = self.pool.clone().or_else(|| pools::find(id));
        match pool {
            Some(shared) if !shared.sleep.flags().shutdown() => {
                if shared
                    .push_outside(Job::new(self.task.clone()), 1)
                    .shutdown()
                {
                    // Raced with shutdown (DESIGN.md section 7): unless a
                    // worker claimed it, it runs here.
                    run_here(self.task.clone());
                }
            }
            // Shut down or gone: no pool will queue it any more.
            _ => run_here(self.task.clone()),
        }
    }
}

/// A `when_all` continuation's countdown: the last arrival delivers.
struct Gate {
    remaining: AtomicUsize,
    /// Set by the registration before its own arrival, so the last
    /// arrival (which follows it) finds it.
    delivery: Mutex<Option<Delivery>>,
}

impl Gate {
    fn arrive(&self) {
        // ORDERING: AcqRel, so the last arrival has seen every earlier one:
        // the registration's (the delivery was set before it) and each
        // parent's (its completion came before); the continuation reads the
        // outcomes with `take`'s own Acquire anyway.
        if self.remaining.fetch_sub(1, AcqRel) == 1 {
            let delivery = self.delivery.lock().take();
            match delivery {
                Some(delivery) => delivery.deliver(),
                None => crate::unwind::invariant_broken("when_all delivered twice"),
            }
        }
    }
}

thread_local! {
    /// Continuations waiting to run on this thread, while one already runs
    /// here (`run_here`).
    static RUN_HERE: RefCell<Option<VecDeque<TaskArc<dyn RawTask>>>> = RefCell::new(None);
}

/// Runs a continuation no pool can take on this thread, unless a worker
/// already claimed it. If one is already running here, this one waits its
/// turn instead of nesting: its parent's completion (inside that run) is
/// what delivered it, and nesting would grow the stack with the chain.
fn run_here(task: TaskArc<dyn RawTask>) {
    let first = RUN_HERE.with(|queue| {
        let mut queue = queue.borrow_mut();
        match &mut *queue {
            Some(waiting) => {
                waiting.push_back(task);
                None
            }
            None => {
                *queue = Some(VecDeque::new());
                Some(task)
            }
        }
    });
    let Some(mut next) = first else {
        return;
    };
    loop {
        next.run(&Unpooled);
        let more = RUN_HERE.with(|queue| queue.borrow_mut().as_mut().and_then(VecDeque::pop_front));
        match more {
            Some(task) => next = task,
            None => break,
        }
    }
    RUN_HERE.with(|queue| *queue.borrow_mut() = None);
}

/// No hooks or statistics for a task run outside its pool.
struct Unpooled;

impl Runner for Unpooled {
    fn before(&self, _frame: &RunFrame) -> bool {
        true
    }
    fn after(&self, _frame: &RunFrame, _panic: Option<&Panic>) {}
    fn skipped_cancelled(&self) {}
    fn id(&self) -> usize {
        0
    }
}

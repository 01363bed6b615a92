//! `ThreadPool::broadcast`: one call of a closure on every regular worker,
//! and the two functions that tell code which worker it runs on.
//!
//! Each regular worker has a queue of broadcast *copies*
//! ([`BroadcastSlots`]) that only it takes from, first thing whenever it
//! looks for work (step 0 of the find-work order). A broadcast always runs
//! on a worker of its pool: called on one, it pushes a copy for every other
//! regular worker, wakes each one that sleeps, runs its own copy inline and
//! waits, helping, for the rest; called from anywhere else, it submits one
//! *carrier* task that does that. So while copies are queued a task is
//! running on the pool, and the pool cannot terminate under them. DESIGN.md,
//! "Broadcast", argues that no worker sleeps past its copy.
//!
//! The copies point into the caller's stack: at a [`Frame`] holding the
//! borrowed closure and one outcome cell per regular worker. Access rules
//! (each SAFETY comment cites one):
//! 1. The frame outlives every use of it by a copy: the caller returns only
//!    after the latch has counted every copy down, and a copy's count-down
//!    is its last touch of the frame. Nothing between pushing the copies
//!    and the end of that wait may unwind (an abort guard covers it; the
//!    closure's panics are caught per copy).
//! 2. Outcome cell `i` is written once, by the one thread that runs copy
//!    `i` (each copy is pushed once and popped once, under its queue's
//!    lock, or run inline by its caller without being pushed), before that
//!    copy's count-down (a Release RMW).
//! 3. The caller reads the cells only after it saw the count reach zero
//!    (an Acquire load after every count-down), so after every write.
//! 4. The closure is only called through `&F`, from several threads at
//!    once (`F: Sync`); the outcomes move from the worker that made them
//!    to the caller (`T: Send`). `broadcast`'s bounds are the only place a
//!    frame's types are chosen.

use crate::error::{Panic, TaskError};
use crate::pool::ThreadPool;
use crate::sync::{Arc, AtomicUsize, Mutex, Thread, UnsafeCell};
use crate::task::wait::{wait_until, Awaited};
use crate::task::RawTask;
use crate::unwind::{self, AbortOnPanic};
use crate::worker::{self, WorkerCtx};
use std::collections::VecDeque;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};

/// The calling thread's worker index in its pool, or `None` off every
/// pool's workers.
///
/// Regular workers are numbered `0..max_workers`, the order of
/// [`ThreadPool::broadcast`]'s values; the extra workers that cover
/// [`blocking`](crate::blocking) sections come after them
/// (`max_workers..max_workers + max_blocking`; a slot's number is reused by
/// the next extra that takes it). It is the index the builder's hooks
/// receive. `None` also in the `on_worker_stop` hook, which runs after the
/// thread stopped being a worker.
///
/// ```
/// use stealpool::{current_thread_index, ThreadPool};
/// let pool = ThreadPool::new(2)?;
/// let index = pool.submit(current_thread_index)?.result()?;
/// assert!(matches!(index, Some(0 | 1)));
/// assert_eq!(current_thread_index(), None); // not a worker
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn current_thread_index() -> Option<usize> {
    worker::with_worker(WorkerCtx::index)
}

/// The number of regular workers of the pool the calling thread works for
/// ([`ThreadPool::current_num_threads`] of that pool), or `None` off every
/// pool's workers.
///
/// rayon's function of this name answers off the pool with its global
/// pool's size; stealpool has no global pool, so there it says `None`
/// rather than guess. Use it to size work split inside a task:
///
/// ```
/// use stealpool::ThreadPool;
/// let pool = ThreadPool::new(3)?;
/// let chunks = pool.submit(|| stealpool::current_num_threads().map(|n| 4 * n))?;
/// assert_eq!(chunks.result()?, Some(12));
/// assert_eq!(stealpool::current_num_threads(), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn current_num_threads() -> Option<usize> {
    worker::with_worker(|ctx| ctx.shared().workers)
}

impl ThreadPool {
    /// Runs `f` once on every regular worker and returns the values in
    /// worker order: the value at `i` is worker `i`'s
    /// ([`current_thread_index`] inside `f` says which worker it is). For
    /// per-thread set-up or clean-up (thread-locals, caches, affinity),
    /// which no ordinary task can promise to reach on every thread.
    ///
    /// It blocks until every worker has run its copy. An idle worker is
    /// woken for it; a busy one runs it when it next looks for work: when
    /// its task returns, or while that task waits on a handle (a wait that
    /// runs other work runs its copy too). So a call waits for the longest
    /// task running at the time. The extra workers of
    /// [`blocking`](crate::blocking) sections get no copy.
    ///
    /// `f` may borrow from the caller (it need not be `'static`): the call
    /// returns only after every copy has finished with it.
    ///
    /// ```
    /// use stealpool::{current_thread_index, ThreadPool};
    /// let pool = ThreadPool::new(3)?;
    /// assert_eq!(pool.broadcast(current_thread_index)?, [Some(0), Some(1), Some(2)]);
    ///
    /// let words = vec!["per", "worker"]; // borrowed, not moved
    /// let counts = pool.broadcast(|| words.len())?;
    /// assert_eq!(counts, [2, 2, 2]);
    ///
    /// // From a task: its own worker runs its copy inline, then helps while
    /// // the others run theirs, so even one worker does not deadlock.
    /// let one = ThreadPool::new(1)?;
    /// let inner = one.submit(|| {
    ///     let pool = ThreadPool::current().expect("on a worker");
    ///     pool.broadcast(|| 7)
    /// })?;
    /// assert_eq!(inner.result()??, [7]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// Called from outside the pool, the broadcast is carried by one task
    /// (it runs the hooks and counts in [`stats`](Self::stats) as one); the
    /// copies themselves are not tasks: no hooks, no counts, and their
    /// panics go to the caller, not to the panic handler. Called from a
    /// task, the calling thread may run other tasks while it waits, with
    /// the hazards listed on [`TaskHandle::result`](crate::TaskHandle::result).
    ///
    /// A worker parked in a wait that runs nothing else (a timed wait, or
    /// one past the helping bounds in DESIGN.md) or blocked in its own code
    /// runs its copy only once that ends: if it waits for the task that
    /// broadcasts, neither ever finishes. From a worker initializer, the
    /// call waits until every worker has started.
    ///
    /// # Errors
    ///
    /// `f` ran nowhere and is dropped: [`TaskError::Shutdown`] after
    /// [`shutdown`](Self::shutdown) when called from outside the pool (from
    /// one of its tasks a broadcast is accepted, as a submission is), or if
    /// a cancelling shutdown cancelled the carrier task before it started;
    /// [`TaskError::PoolBroken`] if a worker initializer panicked before
    /// the broadcast started. A [`TaskError`] rather than a
    /// [`SubmitError`](crate::SubmitError) handing `f` back: `f` usually
    /// borrows, and a borrowing closure in an error could not go into a
    /// `Box<dyn Error>` with `?`.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// pool.shutdown();
    /// assert!(pool.broadcast(|| ()).unwrap_err().is_shutdown());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `f` panicked on any worker, that panic is resumed here once every
    /// copy has finished (the lowest worker index's, if several did); the
    /// other values are dropped.
    pub fn broadcast<F, T>(&self, f: F) -> Result<Vec<T>, TaskError>
    where
        F: Fn() -> T + Sync,
        T: Send,
    {
        let shared = self.shared();
        let frame = Frame {
            f: &f,
            outcomes: (0..shared.workers).map(|_| UnsafeCell::new(None)).collect(),
        };
        let on_pool = worker::with_worker(|ctx| {
            let here = ctx.pool_id() == shared.id();
            if here {
                run_on_worker(ctx, &frame);
            }
            here
        });
        if on_pool != Some(true) {
            self.carry(&frame)?;
        }
        Ok(frame.into_values())
    }

    /// From off the pool: submits one carrier task that runs the broadcast
    /// on a worker, and waits for it. It is accepted or refused as any
    /// submission is, so a refused broadcast never ran `f` anywhere.
    fn carry<F, T>(&self, frame: &Frame<'_, F, T>) -> Result<(), TaskError>
    where
        F: Fn() -> T + Sync,
        T: Send,
    {
        let carrier = Carrier {
            frame: std::ptr::from_ref(frame).cast(),
            drive: drive::<F, T>,
        };
        let handle = self.submit(move || carrier.drive())?;
        // Rule 1: the frame stays borrowed until the carrier has finished,
        // and the carrier returns only once every copy counted down. Any
        // outcome but these three would leave copies pointing at a frame
        // about to go: abort rather than return.
        match handle.result() {
            Ok(()) => Ok(()),
            // A cancelling shutdown took the carrier while it was queued.
            Err(TaskError::Cancelled) => Err(TaskError::Shutdown),
            // Abandoned unrun by a broken pool.
            Err(TaskError::PoolBroken) => Err(TaskError::PoolBroken),
            Err(_) => unwind::invariant_broken("a broadcast's carrier task did not finish"),
        }
    }
}

/// What one copy left: `None` until it ran, then `f`'s value or panic.
type Outcome<T> = UnsafeCell<Option<Result<T, Panic>>>;

/// What the copies of one broadcast share, on the caller's stack.
struct Frame<'f, F, T> {
    f: &'f F,
    /// One per regular worker, in worker order.
    outcomes: Box<[Outcome<T>]>,
}

impl<F, T> Frame<'_, F, T> {
    /// The values in worker order, once every copy has counted down;
    /// resumes the first panic after dropping the rest.
    fn into_values(self) -> Vec<T> {
        let mut values = Vec::with_capacity(self.outcomes.len());
        let mut panic = None;
        for cell in self.outcomes.iter() {
            // SAFETY: rule 3: every copy has counted down (the caller's wait
            // returned), so every write is done and visible.
            match cell.with_mut(|slot| unsafe { (*slot).take() }) {
                Some(Ok(value)) => values.push(value),
                Some(Err(p)) => {
                    panic.get_or_insert(p);
                }
                None => unwind::invariant_broken("a broadcast copy did not run"),
            }
        }
        if let Some(panic) = panic {
            drop(values);
            std::panic::resume_unwind(panic.into_payload());
        }
        values
    }
}

/// Runs the broadcast of `frame` from `ctx`, a worker of its pool: a copy
/// for every other regular worker, this one's inline (if it is a regular
/// worker), then waits, helping, until every copy has counted down.
fn run_on_worker<F, T>(ctx: &WorkerCtx, frame: &Frame<'_, F, T>)
where
    F: Fn() -> T + Sync,
    T: Send,
{
    let shared = ctx.shared();
    let workers = shared.workers;
    let latch = Arc::new(Latch::new(workers));
    let erased = std::ptr::from_ref(frame).cast::<()>();
    let copy = |index| BroadcastCopy {
        frame: erased,
        run: run_copy::<F, T>,
        index,
        latch: latch.clone(),
    };
    // Rule 1: from the first push until every copy counted down, nothing
    // may unwind out of here past the frame.
    let _guard = AbortOnPanic("a broadcast with copies in flight");
    let me = ctx.index();
    for index in (0..workers).filter(|&index| index != me) {
        shared.broadcasts.push(copy(index));
        shared.sleep.wake_worker(index);
    }
    if me < workers {
        copy(me).run();
    }
    // Untimed: it returns only once every copy has counted down.
    if !wait_until(&*latch, None) {
        unwind::invariant_broken("an untimed broadcast wait returned early");
    }
}

/// Runs `f` for worker `index` and stores the outcome.
///
/// # Safety
///
/// `frame` points at a live `Frame<'_, F, T>` (rule 1), and no other
/// thread runs copy `index` of it (rule 2).
unsafe fn run_copy<F, T>(frame: *const (), index: usize)
where
    F: Fn() -> T + Sync,
    T: Send,
{
    // SAFETY: rule 1: the frame lives until this copy counts down, which
    // its runner does after this call returns; the caller passes the types
    // the frame was made with.
    let frame = unsafe { &*frame.cast::<Frame<'_, F, T>>() };
    let outcome = unwind::catch(frame.f);
    frame.outcomes[index].with_mut(|slot| {
        // SAFETY: rule 2: this thread alone runs copy `index`, once.
        unsafe { *slot = Some(outcome) };
    });
}

/// One worker's copy of a broadcast, type-erased.
pub(crate) struct BroadcastCopy {
    frame: *const (),
    run: unsafe fn(*const (), usize),
    /// The regular worker that must run it.
    index: usize,
    /// Shared, not in the frame: the last count-down wakes the caller, and
    /// the frame may be gone by then.
    latch: Arc<Latch>,
}

// SAFETY: rule 4: a copy hands a worker `&F` with `F: Sync` and moves a
// `T: Send` back; `broadcast`'s bounds are checked where the copy is made.
// Rule 1 keeps the frame alive for as long as the copy can run.
unsafe impl Send for BroadcastCopy {}

impl BroadcastCopy {
    /// Runs this copy on the calling thread (the worker it was made for),
    /// then counts it down: its last touch of the frame.
    pub(crate) fn run(self) {
        // SAFETY: rules 1-2: made by `run_on_worker` for this frame's types;
        // the frame lives until this copy counts down below; the copy was
        // popped from its worker's queue once, or never pushed.
        unsafe { (self.run)(self.frame, self.index) };
        self.latch.count_down();
    }
}

/// Counts a broadcast's copies down to zero and wakes its caller then.
struct Latch {
    remaining: AtomicUsize,
    /// The caller, while it parks for the count.
    waiter: Mutex<Option<Thread>>,
}

impl Latch {
    fn new(count: usize) -> Self {
        Self {
            remaining: AtomicUsize::new(count),
            waiter: Mutex::new(None),
        }
    }

    fn count_down(&self) {
        // ORDERING: Release publishes this copy's outcome (rule 2) to the
        // caller's Acquire load in `is_ready`; the RMWs form one release
        // sequence, so the load that sees zero sees every copy's outcome.
        // Acquire: the last count-down reads the waiter after the others.
        if self.remaining.fetch_sub(1, AcqRel) == 1 {
            // A waiter registered before this decrement is in the slot: it
            // checked the count under the lock taken here.
            let waiter = self.waiter.lock().take();
            if let Some(thread) = waiter {
                thread.unpark();
            }
        }
    }
}

impl Awaited for Latch {
    fn is_ready(&self) -> bool {
        // ORDERING: pairs with the Release of every count-down.
        self.remaining.load(Acquire) == 0
    }

    fn pending_task(&self, _pool_id: usize) -> Option<&dyn RawTask> {
        // Copies are not tasks: only their own worker may run one.
        None
    }

    fn add_waiter(&self, thread: &Thread) -> bool {
        let mut waiter = self.waiter.lock();
        if self.is_ready() {
            return false;
        }
        *waiter = Some(thread.clone());
        true
    }

    fn remove_waiter(&self, _thread: &Thread) {
        self.waiter.lock().take();
    }
}

/// The task that carries a broadcast from off the pool onto a worker.
struct Carrier {
    frame: *const (),
    drive: unsafe fn(*const ()),
}

// SAFETY: rule 4 as for `BroadcastCopy`; rule 1: `carry` waits until the
// carrier has finished (or was dropped unrun) before the frame goes.
unsafe impl Send for Carrier {}

impl Carrier {
    fn drive(self) {
        // SAFETY: rule 1: made by `carry` for this frame's types, which
        // waits for this task before its frame goes.
        unsafe { (self.drive)(self.frame) };
    }
}

/// The carrier's body: the broadcast, from the worker it runs on.
///
/// # Safety
///
/// `frame` points at a live `Frame<'_, F, T>` that outlives this call.
unsafe fn drive<F, T>(frame: *const ())
where
    F: Fn() -> T + Sync,
    T: Send,
{
    // SAFETY: rule 1: `carry` keeps the frame until this task finished.
    let frame = unsafe { &*frame.cast::<Frame<'_, F, T>>() };
    if worker::with_worker(|ctx| run_on_worker(ctx, frame)).is_none() {
        unwind::invariant_broken("a broadcast's carrier task ran off the pool");
    }
}

/// Each regular worker's queue of broadcast copies.
pub(crate) struct BroadcastSlots {
    slots: Box<[Slot]>,
}

struct Slot {
    /// How many copies the queue holds: the lock-free check each search
    /// makes (step 0 of the find-work order), and what the sleep re-check
    /// reads. Written only under the queue's lock.
    queued: AtomicUsize,
    copies: Mutex<VecDeque<BroadcastCopy>>,
}

impl BroadcastSlots {
    pub(crate) fn new(workers: usize) -> Self {
        let slots = (0..workers)
            .map(|_| Slot {
                queued: AtomicUsize::new(0),
                copies: Mutex::new(VecDeque::new()),
            })
            .collect();
        Self { slots }
    }

    /// True if a copy waits for worker `index` (false for an extra).
    #[inline]
    pub(crate) fn has_copy(&self, index: usize) -> bool {
        // ORDERING: a hint; the copy itself is read under the queue lock.
        // A sleeper's re-check sees a copy pushed before the broadcaster's
        // `wake_worker` found it off the idle list: that push happens
        // before the idle lock's release, which happens before the
        // sleeper's registration under the same lock (DESIGN.md,
        // "Broadcast").
        self.slots
            .get(index)
            .is_some_and(|slot| slot.queued.load(Relaxed) != 0)
    }

    /// Takes the oldest copy waiting for worker `index`, if any.
    #[inline]
    pub(crate) fn take(&self, index: usize) -> Option<BroadcastCopy> {
        if !self.has_copy(index) {
            return None;
        }
        self.take_cold(index)
    }

    #[cold]
    fn take_cold(&self, index: usize) -> Option<BroadcastCopy> {
        let slot = &self.slots[index];
        let mut copies = slot.copies.lock();
        let copy = copies.pop_front();
        // ORDERING: under the lock, as every write; read as a hint.
        slot.queued.store(copies.len(), Relaxed);
        copy
    }

    fn push(&self, copy: BroadcastCopy) {
        let slot = &self.slots[copy.index];
        let mut copies = slot.copies.lock();
        copies.push_back(copy);
        // ORDERING: see `has_copy`.
        slot.queued.store(copies.len(), Relaxed);
    }
}

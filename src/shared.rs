//! What all workers of one pool share: the injector, every worker's stealer,
//! the sleep state, the worker threads, hooks, statistics, and the count of
//! `ThreadPool` handles.

use crate::blocking::BlockingPool;
use crate::broadcast::BroadcastSlots;
use crate::hooks::Hooks;
use crate::queue::{Injector, Steal, Stealer};
use crate::sleep::{Flags, Sleep};
use crate::stats::{Counters, StatsTable};
use crate::sync::{fence, AtomicBool, AtomicUsize, JoinHandle, Mutex, StatCounter, MODEL_CHECKING};
use crate::task::Job;
use std::sync::atomic::Ordering::{Acquire, Relaxed, SeqCst};

/// How worker threads are started.
pub(crate) struct SpawnConfig {
    /// Threads are named `{name_prefix}-{index}`.
    pub(crate) name_prefix: String,
    pub(crate) stack_size: usize,
}

/// The prefix a `Builder` starts with. A pool that keeps it gets its number
/// added (`stealpool-3`), so default thread names differ between pools.
const DEFAULT_NAME_PREFIX: &str = "stealpool";

/// Pools built so far in this process: numbers the default names. A std
/// atomic in both builds (`StatCounter`, see `crate::sync`): it publishes
/// nothing, it only makes names unique.
static POOLS_BUILT: StatCounter = StatCounter::new(0);

impl SpawnConfig {
    pub(crate) fn new(prefix: String, stack_size: usize) -> Self {
        let name_prefix = if prefix == DEFAULT_NAME_PREFIX {
            // ORDERING: only the RMW's atomicity matters (each pool gets
            // its own number); nothing else is published through it.
            let pool = POOLS_BUILT.fetch_add(1, Relaxed);
            format!("{prefix}-{pool}")
        } else {
            prefix
        };
        Self {
            name_prefix,
            stack_size,
        }
    }
}

pub(crate) struct Shared {
    /// Work submitted from outside the pool (FIFO).
    pub(crate) injector: Injector<Job>,
    /// The stealing end of every worker slot's deque: the regular workers
    /// first, then the blocking-section extras.
    pub(crate) stealers: Box<[Stealer<Job>]>,
    /// Regular workers (`max_workers`).
    pub(crate) workers: usize,
    /// Each regular worker's queue of broadcast copies, which only that
    /// worker takes from.
    pub(crate) broadcasts: BroadcastSlots,
    pub(crate) sleep: Sleep,
    pub(crate) blocking: BlockingPool,
    pub(crate) hooks: Hooks,
    pub(crate) stats: StatsTable,
    pub(crate) spawn: SpawnConfig,
    /// Live `ThreadPool` handles; the last one to go shuts the pool down.
    pub(crate) handles: AtomicUsize,
    /// Join handles of the regular worker threads, taken by the first
    /// waiting shutdown.
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    /// Set by a cancelling shutdown: every running task is asked to stop
    /// (`crate::cancel_requested`).
    pub(crate) cancel_running: AtomicBool,
    /// This pool's number (`crate::pools`): never reused, unlike an
    /// address, so a task of a pool that is gone cannot name a new one.
    pub(crate) serial: usize,
}

impl Shared {
    /// Identifies this pool (tasks record it), never reused.
    pub(crate) fn id(&self) -> usize {
        self.serial
    }

    /// True if any queue holds a task (possibly a stale, cancelled one), or
    /// the calling thread is a worker of this pool with a broadcast copy
    /// waiting for it. Only the caller's own copy counts: another worker's
    /// is that worker's to run, and seeing it would keep this one from
    /// sleeping for as long as that worker is busy (DESIGN.md, "Broadcast").
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
            || self.own_broadcast_waiting()
    }

    fn own_broadcast_waiting(&self) -> bool {
        crate::worker::with_worker(|ctx| {
            ctx.pool_id() == self.id() && self.broadcasts.has_copy(ctx.index())
        })
        .unwrap_or(false)
    }

    /// Queue entries waiting, summed over every queue (an estimate while
    /// workers run).
    pub(crate) fn queued(&self) -> usize {
        self.injector.len() + self.stealers.iter().map(Stealer::len).sum::<usize>()
    }

    /// Whether a cancelling shutdown asked the running tasks to stop.
    #[inline]
    pub(crate) fn cancel_requested(&self) -> bool {
        // ORDERING: Acquire pairs with the (SeqCst) store in `request_cancel_all`.
        self.cancel_running.load(Acquire)
    }

    /// The claim-time check: true if a cancelling shutdown began before
    /// the caller's claim (its SeqCst CAS, just before this load). Then a
    /// task that was pending when the shutdown began, but was in no queue
    /// its drain could see (popped by a worker, or in a batch moving
    /// between queues), is withdrawn instead of run (DESIGN.md, section 7).
    #[inline]
    pub(crate) fn cancelling_since_claim(&self) -> bool {
        // loom treats SeqCst accesses as AcqRel (its README), so it cannot
        // see the total order the claim CAS and this load take part in; it
        // does model SeqCst fences, and a fence between the two gives what
        // the SeqCst accesses give in the C++ model. Only under loom.
        if MODEL_CHECKING {
            fence(SeqCst);
        }
        // SeqCst pairs with the store in `request_cancel_all` through the
        // claim CAS: either the claim precedes the store (the task was
        // running before the shutdown began) or this load sees it.
        self.cancel_running.load(SeqCst)
    }

    /// Marks a task being submitted, not yet shared, as LATE if this pool's
    /// cancelling shutdown has begun: that shutdown must not withdraw it
    /// (a child of a running task, section 7 of DESIGN.md).
    #[inline]
    pub(crate) fn mark_if_late(&self, state: &crate::task::state::State) {
        if self.cancel_requested() {
            state.mark_late();
        }
    }

    /// Asks every running task to stop, and makes every task not yet
    /// claimed end cancelled (a cancelling shutdown, before its drain).
    pub(crate) fn request_cancel_all(&self) {
        // SeqCst: see `cancelling_since_claim`.
        self.cancel_running.store(true, SeqCst);
        // A claim that came first in the total order is then visible to
        // every later load on this thread: a handle read after the call
        // cannot look pending while its task already runs.
        fence(SeqCst);
    }

    /// Side A of the submit/sleep pair for a submission from outside the
    /// pool (DESIGN.md, sections 5 and 7): pushes `job` on the injector,
    /// counts `tasks` submitted, and announces it. Returns the flags the
    /// announcement read; if they say SHUTDOWN, nobody was woken and the
    /// caller must try to take its task back (a worker that claimed it
    /// first runs it).
    pub(crate) fn push_outside(&self, job: Job, tasks: usize) -> Flags {
        self.injector.push(job);
        Counters::add_shared(&self.stats.shared.submitted, tasks);
        self.sleep.new_outside_work()
    }

    /// Cancels every task still queued (a cancelling shutdown).
    pub(crate) fn cancel_queued(&self) {
        loop {
            let mut retry = false;
            for steal in std::iter::once(self.injector.steal())
                .chain(self.stealers.iter().map(Stealer::steal))
            {
                match steal {
                    Steal::Success(job) => {
                        if job.cancel() {
                            Counters::bump_shared(&self.stats.shared.cancelled);
                        }
                        retry = true;
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return;
            }
        }
    }
}

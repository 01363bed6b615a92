//! `pool.stats()`: gauges and monotonic totals, summed from per-worker
//! counters on read.
//!
//! Each worker owns one cache-padded block of counters and is its only
//! writer, so counting is a relaxed load and store on a line no other core
//! writes: no RMW and no sharing on the hot path. Readers sum the blocks.
//!
//! Building with `--cfg stealpool_no_stats` compiles the totals out (every
//! total reads 0), so the tiny-task bench can show what they cost. The
//! `running` gauge stays: it bounds the helping depth of waits.

use crate::sync::StatCounter;
use crossbeam_utils::CachePadded;
use std::sync::atomic::Ordering::Relaxed;

/// A snapshot of a pool's gauges and totals.
///
/// Each field is read separately while the pool runs, so a snapshot is not
/// one instant: totals are exact once the pool is quiescent, gauges are
/// estimates under load. Totals never decrease.
///
/// ```
/// let pool = stealpool::ThreadPool::new(2)?;
/// pool.submit(|| 1)?.result()?;
/// pool.shutdown();
/// let stats = pool.stats();
/// assert_eq!((stats.workers, stats.submitted, stats.completed), (2, 1, 1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Configured workers (`max_workers`).
    pub workers: usize,
    /// Extra workers currently started to cover workers blocked in
    /// [`blocking`](crate::blocking) sections.
    pub blocking_workers: usize,
    /// Workers currently inside a [`blocking`](crate::blocking) section.
    pub blocked: usize,
    /// Workers currently running at least one task.
    pub workers_busy: usize,
    /// Tasks currently running. A worker that waits on a handle and runs
    /// other tasks meanwhile counts every task on its stack.
    pub tasks_running: usize,
    /// Queue entries waiting: the global queue plus each worker deque's
    /// length. It includes entries of tasks cancelled while queued until a
    /// worker skips them.
    pub tasks_queued: usize,
    /// Tasks accepted by `submit` (from outside and from tasks).
    pub submitted: u64,
    /// Tasks that ran and returned.
    pub completed: u64,
    /// Tasks that ran and panicked.
    pub panicked: u64,
    /// Tasks cancelled before they ran, counted when a worker skips the
    /// cancelled entry or a cancelling shutdown removes it; exact once the
    /// queues are empty.
    pub cancelled: u64,
    /// Steal operations that moved work from one worker's deque to another
    /// (each moves up to half of the victim's deque).
    pub stolen: u64,
    /// Times a worker parked because it found no work.
    pub sleeps: u64,
}

/// One worker's counters; written only by that worker (or, for `cancelled`
/// and `submitted` from outside, by the pool-wide block).
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) submitted: StatCounter,
    pub(crate) completed: StatCounter,
    pub(crate) panicked: StatCounter,
    pub(crate) cancelled: StatCounter,
    pub(crate) stolen: StatCounter,
    pub(crate) sleeps: StatCounter,
    /// Tasks on this worker's stack right now.
    pub(crate) running: StatCounter,
}

impl Counters {
    /// Adds one to a total, from the counter's only writer: a load and a
    /// store, no RMW. Nothing under `stealpool_no_stats`.
    #[inline]
    pub(crate) fn bump(counter: &StatCounter) {
        if cfg!(not(stealpool_no_stats)) {
            Self::bump_gauge(counter);
        }
    }

    /// Adds one to a total from any thread (the pool-wide block).
    /// Nothing under `stealpool_no_stats`.
    #[inline]
    pub(crate) fn bump_shared(counter: &StatCounter) {
        Self::add_shared(counter, 1);
    }

    /// Adds `n` to a total from any thread (the pool-wide block).
    /// Nothing under `stealpool_no_stats`.
    #[inline]
    pub(crate) fn add_shared(counter: &StatCounter, n: usize) {
        if cfg!(not(stealpool_no_stats)) {
            // ORDERING: as in `bump_gauge`; an RMW because several threads add.
            counter.fetch_add(n as u64, Relaxed);
        }
    }

    /// Adds one to a gauge the pool itself reads (`running`), from its only
    /// writer. Kept in every build.
    #[inline]
    pub(crate) fn bump_gauge(counter: &StatCounter) {
        // ORDERING: statistics publish nothing; readers want a recent value
        // (the only functional reader is the writer itself).
        counter.store(counter.load(Relaxed) + 1, Relaxed);
    }

    /// Subtracts one from a gauge, from its only writer.
    #[inline]
    pub(crate) fn drop_one(counter: &StatCounter) {
        // ORDERING: as in `bump_gauge`.
        counter.store(counter.load(Relaxed) - 1, Relaxed);
    }
}

/// Every worker's counters plus one shared block for other threads.
pub(crate) struct StatsTable {
    pub(crate) workers: Box<[CachePadded<Counters>]>,
    /// Outside submissions and cancels by a cancelling shutdown.
    pub(crate) shared: CachePadded<Counters>,
}

impl StatsTable {
    pub(crate) fn new(slots: usize) -> Self {
        Self {
            workers: (0..slots)
                .map(|_| CachePadded::new(Counters::default()))
                .collect(),
            shared: CachePadded::new(Counters::default()),
        }
    }

    /// Sums the totals and the running gauges into `stats`.
    pub(crate) fn sum_into(&self, stats: &mut PoolStats) {
        // ORDERING: statistics; see `Counters::bump`.
        let get = |c: &StatCounter| c.load(Relaxed);
        for c in self
            .workers
            .iter()
            .map(|c| &**c)
            .chain(std::iter::once(&*self.shared))
        {
            stats.submitted += get(&c.submitted);
            stats.completed += get(&c.completed);
            stats.panicked += get(&c.panicked);
            stats.cancelled += get(&c.cancelled);
            stats.stolen += get(&c.stolen);
            stats.sleeps += get(&c.sleeps);
            let running = get(&c.running) as usize;
            stats.tasks_running += running;
            stats.workers_busy += usize::from(running > 0);
        }
    }
}

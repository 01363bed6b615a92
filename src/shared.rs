//! What all workers of one pool share: the injector, every worker's stealer,
//! the sleep state, the worker threads, hooks, statistics, and the count of
//! `ThreadPool` handles.

use crate::blocking::BlockingPool;
use crate::hooks::Hooks;
use crate::queue::{Injector, Steal, Stealer};
use crate::sleep::Sleep;
use crate::stats::{Counters, StatsTable};
use crate::sync::{AtomicUsize, JoinHandle, Mutex};
use crate::task::Job;

/// How worker threads are started.
pub(crate) struct SpawnConfig {
    pub(crate) name_prefix: String,
    pub(crate) stack_size: usize,
}

pub(crate) struct Shared {
    /// Work submitted from outside the pool (FIFO).
    pub(crate) injector: Injector<Job>,
    /// The stealing end of every worker slot's deque: the regular workers
    /// first, then the blocking-section extras.
    pub(crate) stealers: Box<[Stealer<Job>]>,
    /// Regular workers (`max_workers`).
    pub(crate) workers: usize,
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
    /// This pool's number (`crate::pools`): never reused, unlike an
    /// address, so a task of a pool that is gone cannot name a new one.
    pub(crate) serial: usize,
}

impl Shared {
    /// Identifies this pool (tasks record it), never reused.
    pub(crate) fn id(&self) -> usize {
        self.serial
    }

    /// True if any queue holds a task (possibly a stale, cancelled one).
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Queue entries waiting, summed over every queue (an estimate while
    /// workers run).
    pub(crate) fn queued(&self) -> usize {
        self.injector.len() + self.stealers.iter().map(Stealer::len).sum::<usize>()
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

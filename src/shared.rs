//! What all workers of one pool share: the injector, every worker's stealer,
//! the sleep state, the worker threads, and the count of `ThreadPool` handles.

use crate::queue::{Injector, Steal, Stealer};
use crate::sleep::Sleep;
use crate::sync::{AtomicUsize, JoinHandle, Mutex};
use crate::task::Job;

/// A worker initializer, run once on each worker thread before it takes tasks.
pub(crate) type Initializer = Box<dyn Fn() + Send + Sync + 'static>;

pub(crate) struct Shared {
    /// Work submitted from outside the pool (FIFO).
    pub(crate) injector: Injector<Job>,
    /// The stealing end of every worker's deque, by worker index.
    pub(crate) stealers: Box<[Stealer<Job>]>,
    pub(crate) sleep: Sleep,
    /// Live `ThreadPool` handles; the last one to go shuts the pool down.
    pub(crate) handles: AtomicUsize,
    /// Join handles of the worker threads, taken by the first waiting shutdown.
    pub(crate) threads: Mutex<Vec<JoinHandle<()>>>,
    pub(crate) initializer: Option<Initializer>,
}

impl Shared {
    pub(crate) fn new(stealers: Vec<Stealer<Job>>, initializer: Option<Initializer>) -> Self {
        let workers = stealers.len();
        Self {
            injector: Injector::new(),
            stealers: stealers.into_boxed_slice(),
            sleep: Sleep::new(workers),
            handles: AtomicUsize::new(1),
            threads: Mutex::new(Vec::with_capacity(workers)),
            initializer,
        }
    }

    /// Identifies this pool while it lives (tasks record it).
    pub(crate) fn id(&self) -> usize {
        self as *const Self as usize
    }

    pub(crate) fn workers(&self) -> usize {
        self.stealers.len()
    }

    /// True if any queue holds a task (possibly a stale, cancelled one).
    pub(crate) fn has_work(&self) -> bool {
        !self.injector.is_empty() || self.stealers.iter().any(|s| !s.is_empty())
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
                        job.cancel();
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

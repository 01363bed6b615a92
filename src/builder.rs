//! Pool configuration, validated into a `BuildError`.

use crate::error::BuildError;
use crate::pool::ThreadPool;
use crate::queue::LocalQueue;
use crate::shared::{Initializer, Shared};
use crate::sync::{self, thread, Arc};
use crate::worker;
use std::fmt;

/// The most workers one pool may have (the sleep counters are 16 bits).
pub const MAX_WORKERS: usize = 0x7FFF;

/// Default worker stack size, 8 MiB. Each nested wait that runs its child
/// inline adds a few frames: measured, 8 MiB holds a chain of 4,000 nested
/// waits on one worker in a debug build and over 10,000 in release
/// (DESIGN.md, "Stack depth"). Raise it with [`Builder::stack_size`] for
/// deeper graphs.
pub const DEFAULT_STACK_SIZE: usize = 8 << 20;

/// Configures and builds a [`ThreadPool`].
///
/// ```
/// let pool = stealpool::ThreadPool::builder()
///     .max_workers(4)
///     .thread_name_prefix("crawler")
///     .initializer(|| println!("worker up: {:?}", std::thread::current().name()))
///     .build()?;
/// assert_eq!(pool.max_workers(), 4);
/// # Ok::<(), stealpool::BuildError>(())
/// ```
pub struct Builder {
    max_workers: Option<usize>,
    thread_name_prefix: String,
    stack_size: usize,
    initializer: Option<Initializer>,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("max_workers", &self.max_workers)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .field("stack_size", &self.stack_size)
            .field("initializer", &self.initializer.is_some())
            .finish()
    }
}

impl Builder {
    /// A builder with the defaults: one worker per available CPU, threads
    /// named `stealpool-0`, `stealpool-1`, ..., [`DEFAULT_STACK_SIZE`].
    pub fn new() -> Self {
        Self {
            max_workers: None,
            thread_name_prefix: "stealpool".to_owned(),
            stack_size: DEFAULT_STACK_SIZE,
            initializer: None,
        }
    }

    /// The number of worker threads (1 to [`MAX_WORKERS`]). Default: the
    /// machine's available parallelism.
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// Worker threads are named `{prefix}-0`, `{prefix}-1`, ...
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = prefix.into();
        self
    }

    /// Stack size of each worker thread, in bytes. A size the OS refuses is
    /// reported by [`build`](Self::build) as an error.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Runs `init` once on each worker thread before it takes any task. If
    /// it panics, the pool is broken: submissions fail with
    /// [`SubmitError::Broken`](crate::SubmitError::Broken) and queued tasks
    /// resolve with [`TaskError::PoolBroken`](crate::TaskError::PoolBroken).
    pub fn initializer(mut self, init: impl Fn() + Send + Sync + 'static) -> Self {
        self.initializer = Some(Box::new(init));
        self
    }

    /// Validates the configuration and starts the workers.
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        let workers = self.max_workers.unwrap_or_else(sync::available_parallelism);
        if workers == 0 {
            return Err(BuildError::zero_workers());
        }
        if workers > MAX_WORKERS {
            return Err(BuildError::too_many_workers(workers));
        }
        let (locals, stealers): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| LocalQueue::new_lifo()).unzip();
        let shared = Arc::new(Shared::new(stealers, self.initializer));
        for (index, local) in locals.into_iter().enumerate() {
            let worker_shared = shared.clone();
            let spawned = thread::Builder::new()
                .name(format!("{}-{index}", self.thread_name_prefix))
                .stack_size(self.stack_size)
                .spawn(move || worker::run(worker_shared, index, local));
            match spawned {
                Ok(handle) => shared.threads.lock().push(handle),
                Err(err) => {
                    // Nothing was submitted yet: stop and join what started.
                    shared.sleep.terminate();
                    for handle in std::mem::take(&mut *shared.threads.lock()) {
                        let _ = handle.join();
                    }
                    return Err(BuildError::spawn(err));
                }
            }
        }
        Ok(ThreadPool::from_shared(shared))
    }
}

//! Pool configuration, validated into a `BuildError`.

use crate::blocking::BlockingPool;
use crate::error::{BuildError, Panic};
use crate::hooks::Hooks;
use crate::pool::ThreadPool;
use crate::queue::{Injector, LocalQueue};
use crate::shared::{Shared, SpawnConfig};
use crate::sleep::{Sleep, MAX_THREADS};
use crate::stats::StatsTable;
use crate::sync::{self, Arc, AtomicBool, AtomicUsize, Mutex};
use crate::worker;
use std::fmt;

/// The most regular workers one pool may have. `max_workers + max_blocking`
/// may be at most 4,095 (the sleep counters are 12 bits wide).
pub const MAX_WORKERS: usize = 2048;

/// Default worker stack size, 8 MiB. Each nested wait that runs its child
/// inline adds a few frames: measured, 8 MiB holds a chain of 4,000 nested
/// waits on one worker in a debug build and 16,000 in release (DESIGN.md,
/// "The helping wait"). Raise it with [`Builder::stack_size`] for deeper
/// graphs.
pub const DEFAULT_STACK_SIZE: usize = 8 << 20;

/// The smallest [`Builder::stack_size`] a pool accepts, 64 KiB: a smaller
/// one makes [`Builder::build`] return an error instead of building workers
/// that overflow their stacks.
///
/// A worker needs stack of its own before it runs any task: to start, to
/// catch and report a panic (the panic hook may capture and print a
/// backtrace), to run a nested wait and done callbacks, and to shut down.
/// On x86-64 Linux that took about 31 KiB in a debug build; the limit is
/// twice that, for other targets and for larger thread-local storage.
/// Tasks need their own frames on top: size the stack for the deepest task
/// (and nested waits, each of which may run another task on the same stack).
pub const MIN_STACK_SIZE: usize = 64 << 10;

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
#[must_use = "a Builder does nothing until `.build()` is called"]
pub struct Builder {
    max_workers: Option<usize>,
    max_blocking: Option<usize>,
    thread_name_prefix: String,
    stack_size: usize,
    hooks: Hooks,
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
            .field("max_blocking", &self.max_blocking)
            .field("thread_name_prefix", &self.thread_name_prefix)
            .field("stack_size", &self.stack_size)
            .field("hooks", &self.hooks)
            .finish()
    }
}

impl Builder {
    /// A builder with the defaults: one worker per available CPU, threads
    /// named `stealpool-{pool}-0`, `stealpool-{pool}-1`, ... (`{pool}`
    /// numbers the pools of the process), [`DEFAULT_STACK_SIZE`].
    pub fn new() -> Self {
        Self {
            max_workers: None,
            max_blocking: None,
            thread_name_prefix: "stealpool".to_owned(),
            stack_size: DEFAULT_STACK_SIZE,
            hooks: Hooks::default(),
        }
    }

    /// The number of worker threads (1 to [`MAX_WORKERS`]). Default: the
    /// machine's available parallelism.
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// How many extra workers may run at once to cover workers blocked in
    /// [`blocking`](crate::blocking) sections. Default: `max_workers` (or
    /// what is left of the 4,095-thread limit). Zero turns compensation off
    /// (`blocking` then only runs its closure).
    pub fn max_blocking(mut self, n: usize) -> Self {
        self.max_blocking = Some(n);
        self
    }

    /// Worker threads are named `{prefix}-0`, `{prefix}-1`, ... (extra
    /// workers for blocking sections continue the count). Without a prefix
    /// they are `stealpool-{pool}-{index}`, where `{pool}` counts the pools
    /// this process has built, so two pools never share a thread name (the
    /// prefix `"stealpool"` itself gets the number too). Python writes
    /// `{prefix}_{index}`; the `-` is ours. A prefix with a NUL byte makes
    /// [`build`](Self::build) return an error.
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.thread_name_prefix = prefix.into();
        self
    }

    /// Stack size of each worker thread, in bytes. Default:
    /// [`DEFAULT_STACK_SIZE`]. A size below [`MIN_STACK_SIZE`] (64 KiB), or
    /// one the OS refuses, makes [`build`](Self::build) return an error. The
    /// minimum covers the pool's own frames only: the tasks' frames come on
    /// top, and a worker waiting on a handle may run another task on the
    /// same stack.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = bytes;
        self
    }

    /// Runs `init` once on each worker thread before it takes any task. If
    /// it panics, the pool is broken: submissions fail with
    /// [`SubmitError::Broken`](crate::SubmitError::Broken) and queued tasks
    /// resolve with [`TaskError::PoolBroken`](crate::TaskError::PoolBroken).
    /// It is the same hook as [`on_worker_start`](Self::on_worker_start).
    pub fn initializer(self, init: impl Fn() + Send + Sync + 'static) -> Self {
        self.on_worker_start(move |_| init())
    }

    /// Like [`initializer`](Self::initializer), given the worker's index
    /// (regular workers are `0..max_workers`; extra workers for blocking
    /// sections come after). Replaces any initializer.
    pub fn on_worker_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.hooks.on_worker_start = Some(Box::new(hook));
        self
    }

    /// Runs on each worker thread, with its index, as it exits. A panic is
    /// caught and reported (see [`panic_handler`](Self::panic_handler)).
    pub fn on_worker_stop(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.hooks.on_worker_stop = Some(Box::new(hook));
        self
    }

    /// Runs on the worker, with its index, right before each task's closure
    /// (for tracing spans or timing). A panic is caught and reported (see
    /// [`panic_handler`](Self::panic_handler)); the task still runs.
    pub fn before_task(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.hooks.before_task = Some(Box::new(hook));
        self
    }

    /// Runs on the worker, with its index, right after each task's closure
    /// returns or panics, before waiters see the outcome. A panic is caught
    /// and reported (see [`panic_handler`](Self::panic_handler)).
    pub fn after_task(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> Self {
        self.hooks.after_task = Some(Box::new(hook));
        self
    }

    /// Receives every panic the pool catches from user code, with its
    /// [`origin`](Panic::origin): a task's (on the worker, before the handle
    /// resolves with it), and the contained ones that have no handle to go
    /// to: done callbacks, async wakers, hooks (the initializer included),
    /// and drops of a task's closure or value, on whichever thread ran them
    /// (a worker, or a thread that cancelled a task or added a callback to a
    /// finished one). A panic in the handler itself is caught and reported
    /// on stderr.
    ///
    /// Without a handler, a task's panic is stored in its handle only, and
    /// a contained panic is reported on stderr as
    /// `stealpool: <what> panicked: <message>`. Either way Rust's own panic
    /// hook still runs first, on the panicking thread, when the panic
    /// happens: by default it prints `thread '<name>' panicked at ...` on
    /// stderr. Silence or redirect that with `std::panic::set_hook`
    /// (process-wide), not here.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use stealpool::PanicOrigin;
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let pool = stealpool::ThreadPool::builder()
    ///     .max_workers(1)
    ///     .panic_handler(move |p| log.lock().unwrap().push((p.origin(), p.to_string())))
    ///     .build()?;
    /// let h = pool.submit(|| -> u32 { panic!("boom") })?;
    /// assert!(h.result().unwrap_err().is_panic());
    /// h.add_done_callback(|_| panic!("bad callback")); // finished: runs here
    /// assert_eq!(
    ///     *seen.lock().unwrap(),
    ///     [
    ///         (PanicOrigin::Task, "boom".to_string()),
    ///         (PanicOrigin::DoneCallback, "bad callback".to_string()),
    ///     ]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn panic_handler(mut self, handler: impl Fn(&Panic) + Send + Sync + 'static) -> Self {
        self.hooks.on_panic = Some(Box::new(handler));
        self
    }

    /// Validates the configuration and starts the workers.
    ///
    /// # Errors
    ///
    /// A [`BuildError`], and no threads left running, if
    /// - `max_workers` is 0,
    /// - `max_workers` is above [`MAX_WORKERS`],
    /// - `max_workers + max_blocking` is above 4,095,
    /// - the thread name prefix contains a NUL byte,
    /// - `stack_size` is below [`MIN_STACK_SIZE`],
    /// - or the OS fails to spawn a worker thread (the error's
    ///   [`source`](std::error::Error::source) is the `io::Error`): out of
    ///   memory or threads, or a stack size it refuses.
    ///
    /// ```
    /// use stealpool::{ThreadPool, MIN_STACK_SIZE};
    /// let err = ThreadPool::builder().stack_size(16 * 1024).build().unwrap_err();
    /// assert!(err.to_string().starts_with("stack_size must be at least"));
    /// let pool = ThreadPool::builder().max_workers(1).stack_size(MIN_STACK_SIZE).build()?;
    /// assert_eq!(pool.submit(|| 1 + 1)?.result()?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn build(self) -> Result<ThreadPool, BuildError> {
        let workers = self
            .max_workers
            .unwrap_or_else(|| sync::available_parallelism().min(MAX_WORKERS));
        if workers == 0 {
            return Err(BuildError::zero_workers());
        }
        if workers > MAX_WORKERS {
            return Err(BuildError::too_many_workers(workers));
        }
        // Below the minimum, a worker overflows its stack (and the process
        // aborts) before or while it runs its first task.
        if self.stack_size < MIN_STACK_SIZE {
            return Err(BuildError::stack_too_small(self.stack_size));
        }
        // std panics on a thread name with a NUL byte; refuse it here.
        if self.thread_name_prefix.contains('\0') {
            return Err(BuildError::nul_in_thread_name());
        }
        let max_blocking = self
            .max_blocking
            .unwrap_or(workers.min(MAX_THREADS - workers));
        let Some(slots) = workers
            .checked_add(max_blocking)
            .filter(|&n| n <= MAX_THREADS)
        else {
            return Err(BuildError::too_many_threads(workers, max_blocking));
        };
        let (mut locals, stealers): (Vec<_>, Vec<_>) =
            (0..slots).map(|_| LocalQueue::new_lifo()).unzip();
        let extra_locals = locals.split_off(workers);
        let shared = Arc::new(Shared {
            injector: Injector::new(),
            stealers: stealers.into_boxed_slice(),
            workers,
            broadcasts: crate::broadcast::BroadcastSlots::new(workers),
            sleep: Sleep::new(slots, workers),
            blocking: BlockingPool::new(workers, extra_locals),
            hooks: self.hooks,
            stats: StatsTable::new(slots),
            spawn: SpawnConfig::new(self.thread_name_prefix, self.stack_size),
            handles: AtomicUsize::new(1),
            threads: Mutex::new(Vec::with_capacity(workers)),
            cancel_running: AtomicBool::new(false),
            serial: crate::pools::next_serial(),
        });
        for (index, local) in locals.into_iter().enumerate() {
            match worker::spawn(&shared, index, local) {
                Ok(handle) => shared.threads.lock().push(handle),
                Err(err) => {
                    // Nothing was submitted yet: stop and join what started.
                    shared.sleep.terminate();
                    // Not joined under the lock: a started worker may still
                    // be in its initializer.
                    let started = std::mem::take(&mut *shared.threads.lock());
                    for handle in started {
                        let _ = handle.join();
                    }
                    return Err(BuildError::spawn(err));
                }
            }
        }
        crate::pools::register(&shared);
        Ok(ThreadPool::from_shared(shared))
    }
}

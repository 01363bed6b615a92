#![doc = include_str!("../README.md")]
//!
//! ## The model in brief
//!
//! - [`ThreadPool::submit`] returns a [`TaskHandle`] at once. The handle is
//!   an atomic state machine (pending -> running -> done, or pending ->
//!   cancelled): [`TaskHandle::cancel`] is one compare-and-swap that wins
//!   only while the task is pending, and then the task never runs.
//! - Each worker owns a work-stealing deque; work from outside the pool goes
//!   through a global injector; idle workers steal, then sleep without
//!   burning CPU, and a new task never waits on a lost wake-up.
//! - Blocking on a handle from inside a task never deadlocks, even with one
//!   worker: a waiting worker runs the awaited task itself if it has not
//!   started, and other queued work while it runs elsewhere.
//! - A panicking task resolves its handle with [`TaskError::Panicked`]; the
//!   worker carries on. Handles are also `Future`s.
//! - Every failure is a typed error: [`BuildError`] from
//!   [`Builder::build`], [`SubmitError`] (with the closure handed back)
//!   from `submit`, [`TaskError`] from a wait. `?` turns a `SubmitError`
//!   into a `TaskError`, so one `Result<_, TaskError>` covers both steps.
//!
//! ## Waiting on a worker runs other tasks on the same thread
//!
//! [`result`](TaskHandle::result), [`result_timeout`](TaskHandle::result_timeout),
//! [`wait`](TaskHandle::wait) and [`wait_timeout`](TaskHandle::wait_timeout)
//! called from a task do not just block: the worker runs the awaited task
//! itself if it has not started, and other queued tasks while it waits.
//! That is why nested waits cannot deadlock, and it means those tasks run on
//! the waiting task's thread, on top of its stack. So, across such a wait:
//!
//! - do not hold a `Mutex` guard that another task may lock: that task
//!   deadlocks the worker (std's `Mutex` is not reentrant);
//! - do not keep a `RefCell` borrowed (a thread-local one especially) that
//!   another task may borrow mutably: that task panics;
//! - do not leave thread-local state half updated: the other tasks see it,
//!   and may change it under the waiting task.
//!
//! Release guards and borrows before waiting, or wait from outside the pool,
//! where a wait just parks the thread. `.await` on a handle never runs other
//! tasks. Each nested run also takes stack: see [`Builder::stack_size`].
//!
//! ## A complete program
//!
//! ```
//! use stealpool::{TaskError, ThreadPool};
//!
//! /// Each call submits its two children and waits on them: on a worker,
//! /// the waits run the children (or other work) instead of blocking.
//! fn fib(n: u64) -> Result<u64, TaskError> {
//!     if n < 2 {
//!         return Ok(n);
//!     }
//!     let pool = ThreadPool::current().expect("fib runs on the pool");
//!     let a = pool.submit(move || fib(n - 1))?;
//!     let b = pool.submit(move || fib(n - 2))?;
//!     // The first `?` is the wait's error, the second the child's own.
//!     Ok(a.result()?? + b.result()??)
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let pool = ThreadPool::new(2)?;
//!     assert_eq!(pool.submit(|| fib(15))?.result()??, 610);
//!
//!     // A panic is the task's error, not the caller's.
//!     let failing = pool.submit(|| -> u32 { panic!("boom") })?;
//!     assert_eq!(failing.result().unwrap_err().panic_message(), Some("boom"));
//!
//!     pool.shutdown();
//!     // Refused: `?` would return it as TaskError::Shutdown.
//!     assert!(pool.submit(|| fib(3)).unwrap_err().is_shutdown());
//!     Ok(())
//! }
//! ```
//!
//! ## Design notes
//!
//! `DESIGN.md` has the architecture, the task state machine, the sleep and
//! wake protocol, the helping wait, shutdown, and what each loom model
//! proves. It ships at the root of the crate's source package, beside this
//! README (docs.rs shows it under the crate's *Source* tab; after a build it
//! is in Cargo's registry sources, `stealpool-<version>/DESIGN.md`). The
//! crate has no public repository yet.

#![deny(missing_docs)]

mod as_completed;
mod blocking;
mod broadcast;
mod builder;
mod cancel;
mod error;
mod hooks;
mod idle;
mod install;
mod join;
mod map;
mod pool;
mod pools;
mod queue;
mod scope;
mod shared;
mod sleep;
mod stats;
mod sync;
mod task;
mod unwind;
mod wait;
mod worker;
mod yield_now;

pub use as_completed::{as_completed, as_completed_timeout, AsCompleted, AsCompletedTimeout};
pub use blocking::blocking;
pub use broadcast::{current_num_threads, current_thread_index};
pub use builder::{Builder, DEFAULT_STACK_SIZE, MAX_WORKERS, MIN_STACK_SIZE};
pub use cancel::cancel_requested;
pub use error::{BuildError, Panic, PanicOrigin, SubmitError, TaskError, TimeoutError};
pub use join::join;
pub use map::Map;
pub use pool::{ShutdownOptions, ThreadPool};
pub use scope::{Scope, ScopedHandle};
pub use stats::PoolStats;
pub use task::handle::{IntoTaskHandle, TaskHandle};
pub use wait::{wait, ReturnWhen, Waited};
pub use yield_now::{yield_now, Yield};

//! A lock-free work-stealing thread pool with the programming model of
//! Python's `concurrent.futures.ThreadPoolExecutor`.
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
//!
//! DESIGN.md has the architecture, the state machine and the sleep/wake
//! protocol.
//!
//! # Example
//!
//! ```
//! use stealpool::{TaskError, ThreadPool};
//!
//! fn fib(n: u64) -> u64 {
//!     if n < 2 {
//!         return n;
//!     }
//!     // Nested submission: children go to this worker's own deque, and
//!     // waiting on them runs them (or other work) instead of blocking.
//!     let pool = ThreadPool::current().expect("runs on the pool");
//!     let a = pool.submit(move || fib(n - 1)).unwrap();
//!     let b = pool.submit(move || fib(n - 2)).unwrap();
//!     a.result().unwrap() + b.result().unwrap()
//! }
//!
//! let pool = ThreadPool::new(2)?;
//! assert_eq!(pool.submit(|| fib(15)).unwrap().result()?, 610);
//!
//! let slow = pool.submit(|| std::thread::sleep(std::time::Duration::from_millis(50))).unwrap();
//! let failing = pool.submit(|| -> u32 { panic!("boom") }).unwrap();
//! assert_eq!(failing.result().unwrap_err().panic_message(), Some("boom"));
//! slow.result()?;
//!
//! pool.shutdown();
//! assert!(pool.submit(|| ()).unwrap_err().is_shutdown());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![deny(missing_docs)]

mod as_completed;
mod blocking;
mod builder;
mod error;
mod hooks;
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

pub use as_completed::{as_completed, as_completed_timeout, AsCompleted, AsCompletedTimeout};
pub use blocking::blocking;
pub use builder::{Builder, DEFAULT_STACK_SIZE, MAX_WORKERS};
pub use error::{BuildError, Panic, SubmitError, TaskError, TimeoutError};
pub use join::join;
pub use map::Map;
pub use pool::{ShutdownOptions, ThreadPool};
pub use scope::{Scope, ScopedHandle};
pub use stats::PoolStats;
pub use task::handle::TaskHandle;
pub use wait::{wait, ReturnWhen, Waited};

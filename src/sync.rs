//! The one place that chooses between `std` and `loom` synchronization types.
//!
//! Every other module imports atomics, locks, cells, threads and thread-locals
//! from here, so that building with `--cfg stealpool_loom` swaps the whole
//! protocol onto loom's model checker without touching the pool's code. The
//! adapters give both sides one API: a `Mutex` that ignores poisoning (no pool
//! code panics while holding a lock), an `UnsafeCell` with loom's
//! `with`/`with_mut` accessors, a spin helper that yields to loom's scheduler,
//! and park/park_timeout (loom never times out, so a timed park is a plain
//! park there and models never depend on a deadline).
//!
//! Four things stay `std` in both modes, on purpose (see DESIGN.md, "What loom
//! does not see"): the `Arc` around a task (loom's `Arc` cannot be coerced to
//! `Arc<dyn Trait>`), `Instant` (models never read the clock), the
//! statistics counters (they carry no synchronization), and the lock of the
//! registry of live pools (a static).

#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

pub(crate) use std::sync::Arc as TaskArc;
pub(crate) use std::time::Instant;

/// A std `Mutex` for process-wide statics (the registry of live pools):
/// loom's types cannot live in a static, as they belong to one model
/// execution. It guards no protocol the models check, and its critical
/// sections make no loom calls. It ignores poisoning, as [`Mutex`] does.
pub(crate) struct GlobalMutex<T>(std::sync::Mutex<T>);

impl<T> GlobalMutex<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(std::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A statistics counter. Always std: counters publish nothing the protocol
/// relies on, so loom has nothing to check in them and they would only
/// widen its search.
pub(crate) type StatCounter = std::sync::atomic::AtomicU64;

#[cfg(not(stealpool_loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
    pub(crate) use std::sync::Arc;
    #[cfg(test)]
    pub(crate) use std::sync::Barrier;
    pub(crate) use std::thread::{self, JoinHandle, Thread};
    pub(crate) use std::thread_local;

    /// A `std::sync::Mutex` that treats a poisoned lock as usable: the pool
    /// never panics while holding one of its locks, and user code never runs
    /// under them.
    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(std::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(std::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }

    /// `UnsafeCell` with loom's closure-based accessors.
    #[derive(Debug)]
    pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        pub(crate) const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        #[inline]
        pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// One step of a spin-wait.
    #[inline]
    pub(crate) fn spin_loop() {
        std::hint::spin_loop();
    }

    pub(crate) fn park() {
        std::thread::park();
    }

    pub(crate) fn park_timeout(timeout: std::time::Duration) {
        std::thread::park_timeout(timeout);
    }

    /// One awaiting handle clone's waker: re-polls replace it without a
    /// lock, and the task's completer wakes it.
    #[derive(Debug, Default)]
    pub(crate) struct AtomicWaker(atomic_waker::AtomicWaker);

    impl AtomicWaker {
        pub(crate) fn register(&self, waker: &std::task::Waker) {
            self.0.register(waker);
        }

        pub(crate) fn wake(&self) {
            self.0.wake();
        }
    }

    /// True once the thread's body has returned (joining it cannot block
    /// for long).
    pub(crate) fn is_finished(handle: &JoinHandle<()>) -> bool {
        handle.is_finished()
    }

    /// Number of CPUs to size the default pool by.
    pub(crate) fn available_parallelism() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }

    /// Seed for a worker's victim-selection RNG: distinct per worker, and
    /// varied between pools so two pools do not march in lockstep.
    pub(crate) fn rng_seed(index: usize) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(index);
        h.finish() | 1
    }
}

#[cfg(stealpool_loom)]
mod imp {
    pub(crate) use loom::cell::UnsafeCell;
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
    pub(crate) use loom::sync::Arc;
    pub(crate) use loom::thread::{self, JoinHandle, Thread};
    pub(crate) use loom::thread_local;

    /// loom's `Mutex` with the same poison-ignoring `lock` as the std side.
    #[derive(Debug)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Self(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
            self.0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        }
    }

    impl<T: Default> Default for Mutex<T> {
        fn default() -> Self {
            Self::new(T::default())
        }
    }

    /// loom's waker slot behind the same two methods as the std side.
    #[derive(Debug, Default)]
    pub(crate) struct AtomicWaker(loom::future::AtomicWaker);

    impl AtomicWaker {
        pub(crate) fn register(&self, waker: &std::task::Waker) {
            self.0.register_by_ref(waker);
        }

        pub(crate) fn wake(&self) {
            self.0.wake();
        }
    }

    /// Under loom a spin is a scheduling point, or the model never advances.
    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    pub(crate) fn park() {
        loom::thread::park();
    }

    /// loom has no timed park and never lets a timeout fire: park until
    /// unparked, which is one legal outcome of a timed park.
    pub(crate) fn park_timeout(_timeout: std::time::Duration) {
        loom::thread::park();
    }

    /// loom's handles cannot tell: never, so every thread is joined at
    /// shutdown.
    pub(crate) fn is_finished(_handle: &JoinHandle<()>) -> bool {
        false
    }

    /// Fixed so models are deterministic.
    pub(crate) fn available_parallelism() -> usize {
        2
    }

    /// Fixed so models are deterministic.
    pub(crate) fn rng_seed(index: usize) -> u64 {
        (index as u64) * 2 + 1
    }
}

pub(crate) use imp::*;

/// True under loom: spin phases that are sized for real CPUs shrink to one
/// step there, since every step is a scheduling point loom must explore.
pub(crate) const MODEL_CHECKING: bool = cfg!(stealpool_loom);

/// Spin-then-yield backoff for short waits before parking.
/// `crossbeam_utils::Backoff` does not know our cfg; under loom every step is
/// a `yield_now` and the budget is one step, to keep models small.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    /// Steps that busy-spin (2^step spins each) before steps that yield;
    /// none under loom (see `is_spinning`).
    const SPIN_LIMIT: u32 = 6;
    /// Steps in all before the caller should park.
    const STEP_LIMIT: u32 = if cfg!(stealpool_loom) { 1 } else { 10 };

    pub(crate) fn new() -> Self {
        Self { step: 0 }
    }

    pub(crate) fn reset(&mut self) {
        self.step = 0;
    }

    /// Spins (doubling each step), then yields the thread.
    pub(crate) fn snooze(&mut self) {
        if self.is_spinning() {
            for _ in 0..1u32 << self.step {
                spin_loop();
            }
        } else if cfg!(stealpool_loom) {
            spin_loop();
        } else {
            thread::yield_now();
        }
        if self.step < Self::STEP_LIMIT {
            self.step += 1;
        }
    }

    /// True during the busy-spinning steps. Never under loom: there every
    /// step is a single scheduling point instead.
    pub(crate) fn is_spinning(&self) -> bool {
        !MODEL_CHECKING && self.step < Self::SPIN_LIMIT
    }

    /// True once spinning has stopped paying off and the caller should park.
    pub(crate) fn is_completed(&self) -> bool {
        self.step >= Self::STEP_LIMIT
    }
}

//! Helpers shared by the combinator tests: a latch to force orderings
//! without sleeps, and counters for values created and dropped.
#![allow(dead_code, unreachable_pub)] // each test binary uses a subset; `pub` is for the includer

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use stealpool::{TaskHandle, ThreadPool};

/// Generous bound on any wait in a test: reaching it means a hang, and the
/// test fails instead of stalling CI.
pub const HANG: Duration = Duration::from_secs(30);

/// A one-shot gate: `wait` blocks until `open`.
#[derive(Clone, Default)]
pub struct Latch(Arc<(Mutex<bool>, Condvar)>);

impl Latch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    pub fn is_open(&self) -> bool {
        *self.0 .0.lock().unwrap()
    }

    /// Blocks until opened; panics (failing the test) after [`HANG`].
    pub fn wait(&self) {
        let guard = self.0 .0.lock().unwrap();
        let (guard, timeout) = self
            .0
             .1
            .wait_timeout_while(guard, HANG, |open| !*open)
            .unwrap();
        assert!(*guard && !timeout.timed_out(), "latch never opened");
    }
}

/// Counts values alive: each `Counted` bumps `created` and, on drop, `dropped`.
#[derive(Clone, Default)]
pub struct Census {
    created: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Census {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn make(&self, value: u64) -> Counted {
        let created = self.created.fetch_add(1, SeqCst) + 1;
        let live = created - self.dropped.load(SeqCst);
        self.peak.fetch_max(live, SeqCst);
        Counted {
            value,
            census: self.clone(),
        }
    }

    pub fn created(&self) -> usize {
        self.created.load(SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(SeqCst)
    }

    pub fn live(&self) -> usize {
        self.created() - self.dropped()
    }

    /// The most values alive at once (approximate under races, never low
    /// by more than the number of concurrent creators).
    pub fn peak(&self) -> usize {
        self.peak.load(SeqCst)
    }
}

pub struct Counted {
    pub value: u64,
    census: Census,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.census.dropped.fetch_add(1, SeqCst);
    }
}

/// Polls `cond` until it holds; false after [`HANG`]. For effects that land
/// just after a wake-up (a waker woken after the waiters), never for timing.
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < HANG {
        if cond() {
            return true;
        }
        std::thread::yield_now();
    }
    cond()
}

/// Submits `f`, to run once `latch` opens: a task held at a known point.
pub fn submit_after<T: Send + 'static>(
    pool: &ThreadPool,
    latch: &Latch,
    f: impl FnOnce() -> T + Send + 'static,
) -> TaskHandle<T> {
    let latch = latch.clone();
    pool.submit(move || {
        latch.wait();
        f()
    })
    .unwrap()
}

/// Submits `n` tasks; task `i` returns `i` once `latches[i]` opens.
pub fn gated(pool: &ThreadPool, n: usize) -> (Vec<TaskHandle<usize>>, Vec<Latch>) {
    let latches: Vec<Latch> = (0..n).map(|_| Latch::new()).collect();
    let handles = latches
        .iter()
        .enumerate()
        .map(|(i, latch)| submit_after(pool, latch, move || i))
        .collect();
    (handles, latches)
}

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
        let live = created.saturating_sub(self.dropped.load(SeqCst));
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

/// `STEALPOOL_STRESS_SCALE` (a float, default 1): how much bigger or smaller
/// than the default the stress and soak tests run.
pub fn stress_scale() -> f64 {
    std::env::var("STEALPOOL_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|s: &f64| s.is_finite() && *s > 0.0)
        .unwrap_or(1.0)
}

/// `n` scaled by [`stress_scale`], at least `min`.
pub fn scaled(n: usize, min: usize) -> usize {
    ((n as f64 * stress_scale()) as usize).max(min)
}

/// A usize from the environment variable `name`, or `default`.
pub fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The seed of a randomized test: `STEALPOOL_SEED` if set, else `default`.
/// Printed now and again if the test fails, so a failure can be replayed.
pub fn seed(default: u64) -> SeedGuard {
    let seed = std::env::var("STEALPOOL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    println!("seed {seed} (replay with STEALPOOL_SEED={seed})");
    SeedGuard(seed)
}

/// Holds a test's seed; prints it on stderr if dropped while panicking.
pub struct SeedGuard(pub u64);

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("failed with STEALPOOL_SEED={}", self.0);
        }
    }
}

/// xorshift64*: a tiny seeded generator, so a randomized run can be replayed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for stream `stream` of `seed` (threads take one each).
    pub fn new(seed: u64, stream: u64) -> Self {
        // Mix so nearby seeds and streams give unrelated sequences; never 0.
        let mut z = seed ^ stream.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Self((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// True with probability `1 / n`.
    pub fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }
}

/// Aborts the process with `what` if not dropped within `limit`: a hang in
/// a test that cannot bound its own waits (shutdown, join) fails loudly
/// instead of stalling CI.
pub struct Watchdog {
    disarm: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    pub fn new(what: &str, limit: Duration) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let what = what.to_owned();
        let thread = std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(limit) {
                eprintln!("watchdog: {what} still running after {limit:?}; aborting");
                std::process::abort();
            }
        });
        Self {
            disarm: Some(tx),
            thread: Some(thread),
        }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        drop(self.disarm.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Polls `f` to completion on this thread, parking between polls: the
/// smallest executor, enough to await handles without a runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    let start = std::time::Instant::now();
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        assert!(start.elapsed() < HANG, "future never completed");
        std::thread::park_timeout(HANG);
    }
}

/// Threads of this process now (entries of `/proc/self/task`).
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable")
        .count()
}

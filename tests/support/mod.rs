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
        // Poison-tolerant: a test that fails while a task waits here must
        // still be able to open it (from a guard, during unwinding).
        *self.flag() = true;
        self.0 .1.notify_all();
    }

    pub fn is_open(&self) -> bool {
        *self.flag()
    }

    fn flag(&self) -> std::sync::MutexGuard<'_, bool> {
        self.0
             .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Blocks until opened; panics (failing the test) after [`HANG`].
    pub fn wait(&self) {
        let guard = self.flag();
        let (guard, _) = self
            .0
             .1
            .wait_timeout_while(guard, HANG, |open| !*open)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let open = *guard;
        drop(guard); // not poisoned by the panic below
        assert!(open, "latch never opened");
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

/// Polls `f` to completion like [`eventually`], but gives up after `limit`:
/// for checks whose correct outcome is immediate, so that a failure is
/// reported in seconds rather than after [`HANG`].
pub fn eventually_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::yield_now();
    }
    cond()
}

/// Opens its latch when dropped, so a test that fails half-way still lets
/// its held tasks finish (and its pool shut down) instead of hanging.
pub struct OpenOnDrop(Latch);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

impl Latch {
    /// A guard that opens this latch when it goes out of scope, on success
    /// and on unwinding alike.
    pub fn open_on_drop(&self) -> OpenOnDrop {
        OpenOnDrop(self.clone())
    }
}

/// Threads of this process whose name starts with `prefix` (Linux keeps the
/// first 15 bytes of a name). A pool built with a unique
/// `thread_name_prefix` can be counted this way while other tests run.
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("/proc/self/task is readable")
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.trim_end().starts_with(prefix))
        .count()
}

/// True if the thread named `name` (at most 15 bytes) is asleep in the
/// kernel (state `S`): for a thread that spins and yields before it parks,
/// a sign it has parked, so it has registered whatever it parks on.
pub fn thread_is_asleep(name: &str) -> bool {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return false;
    };
    dir.filter_map(Result::ok).any(|entry| {
        let path = entry.path();
        let named = std::fs::read_to_string(path.join("comm")).is_ok_and(|c| c.trim_end() == name);
        // The state is the field after the parenthesised name.
        named
            && std::fs::read_to_string(path.join("stat"))
                .ok()
                .and_then(|stat| {
                    let after = stat.rsplit_once(')')?.1;
                    after.split_whitespace().next().map(|s| s == "S")
                })
                .unwrap_or(false)
    })
}

/// True if the thread named `name` is asleep now and still asleep 5 ms
/// later: parked, not just passing through a contended lock.
pub fn thread_parked(name: &str) -> bool {
    thread_is_asleep(name) && {
        std::thread::sleep(Duration::from_millis(5));
        thread_is_asleep(name)
    }
}

/// Panics with a `&str` payload without the panic hook's stderr line (a
/// deliberate panic in user code the pool must contain).
pub fn quiet_panic(message: &'static str) -> ! {
    std::panic::resume_unwind(Box::new(message))
}

/// Counts the wakers it made, their wakes and their releases (the last
/// clone of a waker dropped). Each call to [`waker`](Self::waker) makes a
/// distinct waker (`will_wake` is false between two of them).
#[derive(Clone, Default)]
pub struct WakerProbe {
    made: Arc<AtomicUsize>,
    wakes: Arc<AtomicUsize>,
    released: Arc<AtomicUsize>,
}

struct ProbeWake {
    probe: WakerProbe,
    panics: bool,
}

impl std::task::Wake for ProbeWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.probe.wakes.fetch_add(1, SeqCst);
        if self.panics {
            quiet_panic("a waker that panics");
        }
    }
}

impl Drop for ProbeWake {
    fn drop(&mut self) {
        self.probe.released.fetch_add(1, SeqCst);
    }
}

impl WakerProbe {
    pub fn new() -> Self {
        Self::default()
    }

    fn make(&self, panics: bool) -> std::task::Waker {
        self.made.fetch_add(1, SeqCst);
        std::task::Waker::from(Arc::new(ProbeWake {
            probe: self.clone(),
            panics,
        }))
    }

    /// A well-behaved waker.
    pub fn waker(&self) -> std::task::Waker {
        self.make(false)
    }

    /// A waker whose `wake` panics (after counting the wake).
    pub fn panicking_waker(&self) -> std::task::Waker {
        self.make(true)
    }

    pub fn made(&self) -> usize {
        self.made.load(SeqCst)
    }

    pub fn wakes(&self) -> usize {
        self.wakes.load(SeqCst)
    }

    pub fn released(&self) -> usize {
        self.released.load(SeqCst)
    }

    /// Wakers made and not yet released.
    pub fn held(&self) -> usize {
        self.made() - self.released()
    }
}

/// Polls `f` once with `waker`.
pub fn poll_once<F: std::future::Future + Unpin>(
    f: &mut F,
    waker: &std::task::Waker,
) -> std::task::Poll<F::Output> {
    let mut cx = std::task::Context::from_waker(waker);
    std::pin::Pin::new(f).poll(&mut cx)
}

/// The environment variable that tells a re-run test binary which
/// scenario it runs as a child process.
pub const CHILD_ENV: &str = "STEALPOOL_TEST_CHILD";

/// True in the child process [`run_child`] starts for `scenario`.
pub fn is_child(scenario: &str) -> bool {
    std::env::var(CHILD_ENV).is_ok_and(|s| s == scenario)
}

/// How a child process ended.
#[derive(Debug)]
pub struct ChildEnd {
    /// Its exit status; `None` if it was killed for running past the limit.
    pub status: Option<std::process::ExitStatus>,
    /// Its stdout and stderr, for the failure message.
    pub output: String,
}

impl ChildEnd {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Re-runs this test binary with only the test `test` selected and
/// [`CHILD_ENV`] set to `scenario`, so that test runs the scenario in a
/// process of its own: a scenario that aborts the process (a stack overflow,
/// an abort on a broken invariant) then fails one test, not the binary. The
/// child is killed after `limit`.
pub fn run_child(test: &str, scenario: &str, limit: Duration) -> ChildEnd {
    use std::io::Read;
    use std::process::{Command, Stdio};
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, scenario)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("re-run the test binary");
    // Read both pipes on threads so a chatty child cannot fill one and stall.
    let readers: Vec<_> = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|mut pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    })
    .collect();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break Some(status);
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let output = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    ChildEnd { status, output }
}

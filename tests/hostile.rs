//! Hostile but legal programs (issue 21): one test per defect and per
//! "also verify" item, each reproducing the scenario. A scenario
//! that hangs on a bug fails by a bound instead (`QUICK` where a correct run
//! is immediate, `support::HANG` otherwise); one that aborts the process
//! runs in a child process (`support::run_child`).
//!
//! Sizes: `STEALPOOL_HOSTILE_ROUNDS` (defect 4, default 200,000),
//! `STEALPOOL_HOSTILE_ATTEMPTS` (defect 3, default 60),
//! `STEALPOOL_HOSTILE_CANCEL_ROUNDS` and `_WORKERS` (the cancelling-shutdown race,
//! default 3,000 rounds on 4 workers).

mod support;

use std::hint::black_box;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;
use stealpool::{ShutdownOptions, SubmitError, TaskError, TaskHandle, ThreadPool};
use support::{
    env_usize, eventually, eventually_for, poll_once, submit_after, Latch, WakerProbe, HANG,
};

/// Bound on a wait whose correct outcome is immediate (or a few
/// milliseconds away): generous for a loaded 2-core machine, short enough
/// that a hang fails the test quickly. Not a timing assertion.
const QUICK: Duration = Duration::from_secs(10);

/// Failed checks of one test, collected so the report names each; all the
/// checks share one `QUICK` deadline, so a run where all of them fail
/// takes `QUICK`, not `QUICK` per check.
struct Checks {
    deadline: std::time::Instant,
    failures: Vec<String>,
}

impl Checks {
    fn new() -> Self {
        Self {
            deadline: std::time::Instant::now() + QUICK,
            failures: Vec::new(),
        }
    }

    /// Time left before the deadline.
    fn left(&self) -> Duration {
        self.deadline
            .saturating_duration_since(std::time::Instant::now())
    }

    /// Records `failure()` unless `cond` holds before the deadline.
    fn eventually(&mut self, cond: impl FnMut() -> bool, failure: impl FnOnce() -> String) {
        if !eventually_for(self.left(), cond) {
            self.failures.push(failure());
        }
    }

    fn fail(&mut self, failure: String) {
        self.failures.push(failure);
    }

    #[track_caller]
    fn assert_none(self, context: &str) {
        assert!(self.failures.is_empty(), "{context}: {:?}", self.failures);
    }
}

// ---------------------------------------------------------------------
// Defect 1: a panicking `Waker::wake`.
// ---------------------------------------------------------------------

#[test]
fn a_panicking_waker_does_not_stop_the_other_waiters_and_callbacks() {
    let pool = ThreadPool::new(1).unwrap();
    let gate = Latch::new();
    let _open = gate.open_on_drop();
    let handle = submit_after(&pool, &gate, || 7u32);

    // The panicking waker registers first, so it is told first.
    let bad = WakerProbe::new();
    let mut polled_bad = handle.clone();
    assert!(poll_once(&mut polled_bad, &bad.panicking_waker()).is_pending());
    let good = WakerProbe::new();
    let mut polled_good = handle.clone();
    assert!(poll_once(&mut polled_good, &good.waker()).is_pending());
    let callbacks = Arc::new(AtomicUsize::new(0));
    let c = callbacks.clone();
    handle.add_done_callback(move |_| {
        c.fetch_add(1, SeqCst);
    });
    // A thread blocked in `wait()`: parked means registered.
    let (woke_tx, woke_rx) = mpsc::channel();
    let waiting = handle.clone();
    std::thread::Builder::new()
        .name("h1-waiter".to_owned())
        .spawn(move || {
            waiting.wait();
            let _ = woke_tx.send(());
        })
        .unwrap();
    assert!(
        eventually(|| support::thread_parked("h1-waiter")),
        "the waiting thread never parked"
    );

    gate.open();
    let mut checks = Checks::new();
    if woke_rx.recv_timeout(checks.left()).is_err() {
        checks.fail(format!(
            "the thread blocked in wait() was not woken within {QUICK:?}"
        ));
    }
    checks.eventually(
        || good.wakes() == 1,
        || format!("the well-behaved waker was woken {} times", good.wakes()),
    );
    checks.eventually(
        || callbacks.load(SeqCst) == 1,
        || format!("the done callback ran {} times", callbacks.load(SeqCst)),
    );
    checks.assert_none("after a panicking wake");
    assert_eq!(bad.wakes(), 1, "the panicking waker was woken once");
    assert_eq!(handle.result().unwrap(), 7);
    let next = pool.submit(|| 1).unwrap();
    assert!(next.wait_timeout(QUICK), "the pool stopped serving");
}

#[test]
fn cancel_with_a_panicking_waker_does_not_panic_and_as_completed_yields_it() {
    let pool = ThreadPool::new(1).unwrap();
    let gate = Latch::new();
    let _open = gate.open_on_drop();
    let blocker = submit_after(&pool, &gate, || ());
    let queued = pool.submit(|| 1u32).unwrap();

    let bad = WakerProbe::new();
    let mut polled_bad = queued.clone();
    assert!(poll_once(&mut polled_bad, &bad.panicking_waker()).is_pending());
    let good = WakerProbe::new();
    let mut polled_good = queued.clone();
    assert!(poll_once(&mut polled_good, &good.waker()).is_pending());
    let callbacks = Arc::new(AtomicUsize::new(0));
    let c = callbacks.clone();
    queued.add_done_callback(move |_| {
        c.fetch_add(1, SeqCst);
    });
    // Built now, so its registration is in place before the cancel.
    let mut completed = stealpool::as_completed([queued.clone()]);
    let (yielded_tx, yielded_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = yielded_tx.send(completed.next().map(|h| h.cancelled()));
    });

    let cancel = catch_unwind(AssertUnwindSafe(|| queued.cancel()));
    gate.open();
    let mut checks = Checks::new();
    match &cancel {
        Ok(true) => {}
        Ok(false) => checks.fail("cancel() of a queued task returned false".to_owned()),
        Err(_) => checks.fail("cancel() panicked".to_owned()),
    }
    match yielded_rx.recv_timeout(checks.left()) {
        Ok(Some(true)) => {}
        Ok(other) => checks.fail(format!("as_completed yielded {other:?}")),
        Err(_) => checks.fail(format!(
            "as_completed did not yield the cancelled handle within {QUICK:?}"
        )),
    }
    checks.eventually(
        || good.wakes() == 1,
        || format!("the well-behaved waker was woken {} times", good.wakes()),
    );
    checks.eventually(
        || callbacks.load(SeqCst) == 1,
        || format!("the done callback ran {} times", callbacks.load(SeqCst)),
    );
    checks.assert_none("cancel with a panicking waker");
    assert!(queued.result().unwrap_err().is_cancelled());
    blocker.result().unwrap();
}

// ---------------------------------------------------------------------
// Defect 2: a waiter nested past the help-depth limit strands work.
// ---------------------------------------------------------------------

/// Nested waits this deep cannot help (the limit is 128 tasks).
const DEEP: usize = 140;

/// Submits a child and waits on it, `depth` times over; the innermost
/// task runs `innermost`.
fn nest(depth: usize, innermost: Arc<dyn Fn() + Send + Sync>) {
    if depth == 0 {
        innermost();
        return;
    }
    let child = ThreadPool::with_current(|pool| pool.submit(move || nest(depth - 1, innermost)))
        .expect("on a worker")
        .unwrap();
    child.result().unwrap();
}

#[test]
fn a_waiter_past_the_help_depth_leaves_new_work_to_an_idle_worker() {
    let pool = ThreadPool::builder()
        .max_workers(3)
        .thread_name_prefix("h2")
        .build()
        .unwrap();
    // X blocks on worker 1 until Y runs: if Y is stranded, nothing ends.
    let x_gate = Latch::new();
    let _open_x = x_gate.open_on_drop();
    let x_started = Latch::new();
    let (xs, xg) = (x_started.clone(), x_gate.clone());
    let x = pool
        .submit(move || {
            xs.open();
            xg.wait();
        })
        .unwrap();
    x_started.wait();
    // Z holds worker 2 while worker 0 builds its chain, so nobody steals
    // from it; Z's thread is where Y should run.
    let z_gate = Latch::new();
    let _open_z = z_gate.open_on_drop();
    let z_started = Latch::new();
    let z_thread: Arc<OnceLock<String>> = Arc::default();
    let (zs, zg, zt) = (z_started.clone(), z_gate.clone(), z_thread.clone());
    let z = pool
        .submit(move || {
            let _ = zt.set(std::thread::current().name().unwrap().to_owned());
            zs.open();
            zg.wait();
        })
        .unwrap();
    z_started.wait();
    // Worker 0: DEEP nested waits; the innermost frees worker 2, lets it
    // park, and waits on X.
    let deep = Latch::new();
    let deep_thread: Arc<OnceLock<String>> = Arc::default();
    let (d, dt, zg, xw) = (deep.clone(), deep_thread.clone(), z_gate.clone(), x.clone());
    let innermost: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        let _ = dt.set(std::thread::current().name().unwrap().to_owned());
        zg.open();
        let z_thread = z_thread.get().unwrap();
        assert!(
            eventually(|| support::thread_parked(z_thread)),
            "worker 2 never parked"
        );
        d.open();
        xw.wait();
    });
    let chain = pool.submit(move || nest(DEEP, innermost)).unwrap();
    deep.wait();
    // Y comes once the deep waiter has parked too (last, so first to wake).
    let deep_thread = deep_thread.get().unwrap();
    assert!(
        eventually(|| support::thread_parked(deep_thread)),
        "the deep waiter never parked"
    );

    let before = pool.stats();
    let xg = x_gate.clone();
    let y = pool.submit(move || xg.open()).unwrap();
    let ran = y.wait_timeout(QUICK);
    let after = pool.stats();
    x_gate.open();
    assert!(
        ran,
        "Y stayed queued for {QUICK:?} beside an idle worker while a waiter {DEEP} deep \
         could not help (sleeps went from {} to {}, queued {})",
        before.sleeps, after.sleeps, after.tasks_queued
    );
    x.result().unwrap();
    z.result().unwrap();
    chain.result().unwrap();
}

// ---------------------------------------------------------------------
// Defect 3: retiring extra workers join each other.
// ---------------------------------------------------------------------

/// Counts thread exits: each worker thread (via `on_worker_start`) stores
/// one in a thread-local, whose destructor runs as the thread ends, after
/// everything the pool does on that thread.
struct ExitProbe(Arc<AtomicUsize>);

impl Drop for ExitProbe {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

thread_local! {
    static EXIT_PROBE: std::cell::RefCell<Option<ExitProbe>> = const { std::cell::RefCell::new(None) };
}

/// What one attempt's hooks and tasks share.
#[derive(Default)]
struct RetireRace {
    /// The stop hook widens the window only while armed.
    armed: AtomicBool,
    /// Extras inside their (armed) stop hook: retired, slot not yet released.
    in_hook: AtomicUsize,
    /// Workers back inside a blocking section with no free slot.
    reentered: AtomicUsize,
    /// Extras leaving their stop hook.
    at_gate: AtomicUsize,
    arrived: AtomicUsize,
    started: AtomicUsize,
    exited: Arc<AtomicUsize>,
}

/// Spins (without yielding) until `cond` holds, for at most `QUICK`.
fn spin_until(cond: impl Fn() -> bool) {
    let start = std::time::Instant::now();
    let mut spins = 0u32;
    while !cond() {
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins % 4096 == 0 && start.elapsed() >= QUICK {
            return;
        }
    }
}

#[test]
fn retiring_extra_workers_never_join_each_other() {
    let attempts = env_usize("STEALPOOL_HOSTILE_ATTEMPTS", 60);
    for attempt in 0..attempts {
        retire_race_attempt(attempt);
    }
}

fn retire_race_attempt(attempt: usize) {
    let race = Arc::new(RetireRace {
        armed: AtomicBool::new(true),
        ..RetireRace::default()
    });
    let prefix = format!("h3a{attempt}");
    let (on_start, on_stop) = (race.clone(), race.clone());
    let pool = ThreadPool::builder()
        .max_workers(2)
        .max_blocking(2)
        .thread_name_prefix(prefix.clone())
        .on_worker_start(move |_| {
            on_start.started.fetch_add(1, SeqCst);
            let probe = ExitProbe(on_start.exited.clone());
            EXIT_PROBE.with(|p| *p.borrow_mut() = Some(probe));
        })
        .on_worker_stop(move |index| {
            // The window of the issue: both extras have retired (counted
            // out) and sit in a slow stop hook, holding their slots, while
            // both workers enter blocking sections and find no free slot.
            if index >= 2 && on_stop.armed.load(SeqCst) {
                on_stop.in_hook.fetch_add(1, SeqCst);
                let _ = eventually_for(QUICK, || {
                    on_stop.in_hook.load(SeqCst) >= 2 && on_stop.reentered.load(SeqCst) >= 2
                });
                // Leave together (a spinning rendezvous, no wake-up
                // latency), so both hand their slots back at once.
                on_stop.at_gate.fetch_add(1, SeqCst);
                spin_until(|| on_stop.at_gate.load(SeqCst) >= 2);
            }
        })
        .build()
        .unwrap();
    let first = Latch::new();
    let second = Latch::new();
    let _open_first = first.open_on_drop();
    let _open_second = second.open_on_drop();
    let blockers: Vec<_> = (0..2)
        .map(|_| {
            let (race, first, second) = (race.clone(), first.clone(), second.clone());
            pool.submit(move || {
                // Both regular workers hold one of these before any extra
                // exists, so neither runs on an extra.
                race.arrived.fetch_add(1, SeqCst);
                assert!(eventually(|| race.arrived.load(SeqCst) == 2));
                stealpool::blocking(|| first.wait());
                assert!(eventually(|| race.in_hook.load(SeqCst) >= 2));
                stealpool::blocking(|| {
                    race.reentered.fetch_add(1, SeqCst);
                    second.wait();
                });
            })
            .unwrap()
        })
        .collect();
    assert!(
        eventually(|| pool.stats().blocking_workers == 2),
        "attempt {attempt}: two extras never started"
    );
    first.open();
    assert!(
        eventually(|| race.reentered.load(SeqCst) == 2),
        "attempt {attempt}: the extras never retired"
    );
    // Both workers block, uncovered until a retiring extra frees a slot;
    // the queued task needs one of the new extras.
    let probe = pool.submit(|| ()).unwrap();
    let ran = probe.wait_timeout(QUICK);
    race.armed.store(false, SeqCst);
    if !ran {
        let stats = pool.stats();
        let alive = support::threads_named(&prefix);
        second.open();
        // Shutdown could wait on the stuck pair for ever: leave the pool.
        std::mem::forget(pool);
        panic!(
            "attempt {attempt}: a task queued while both workers block never ran: the \
             retiring extras are stuck (blocked {}, blocking_workers {}, threads named \
             {prefix:?} alive: {alive})",
            stats.blocked, stats.blocking_workers
        );
    }
    second.open();
    for b in &blockers {
        b.result().unwrap();
    }
    pool.shutdown();
    let (started, exited) = (race.started.load(SeqCst), race.exited.load(SeqCst));
    assert_eq!(
        started,
        exited,
        "attempt {attempt}: shutdown() returned while {} of {started} worker threads still ran",
        started - exited
    );
}

#[test]
fn shutdown_returns_only_after_every_extra_thread_has_ended() {
    // The side question: an extra that retires at once can hand its
    // slot to a successor before its starter stored its join handle, and
    // the starter's store then hides the successor's from shutdown.
    let attempts = env_usize("STEALPOOL_HOSTILE_ATTEMPTS", 60);
    let mut total = 0;
    for attempt in 0..attempts {
        let started = Arc::new(AtomicUsize::new(0));
        let exited = Arc::new(AtomicUsize::new(0));
        let (s, e) = (started.clone(), exited.clone());
        let pool = ThreadPool::builder()
            .max_workers(2)
            .max_blocking(2)
            .thread_name_prefix(format!("h3b{attempt}"))
            .on_worker_start(move |_| {
                s.fetch_add(1, SeqCst);
                EXIT_PROBE.with(|p| *p.borrow_mut() = Some(ExitProbe(e.clone())));
            })
            .build()
            .unwrap();
        // Two workers block briefly, over and over, each time letting the
        // extras retire (or nearly): extras start, retire and hand their
        // slots on while the other worker's sections come and go.
        let churn: Vec<_> = (0..2)
            .map(|_| {
                pool.submit(|| {
                    let pool = ThreadPool::current().unwrap();
                    for _ in 0..25 {
                        stealpool::blocking(std::thread::yield_now);
                        let _ = eventually_for(Duration::from_millis(2), || {
                            pool.stats().blocking_workers == 0
                        });
                    }
                })
                .unwrap()
            })
            .collect();
        for h in &churn {
            assert!(h.wait_timeout(HANG), "attempt {attempt}: churn hung");
        }
        pool.shutdown();
        let (started, exited) = (started.load(SeqCst), exited.load(SeqCst));
        total += started;
        assert_eq!(
            started,
            exited,
            "attempt {attempt}: shutdown() returned while {} of {started} threads still ran",
            started - exited
        );
    }
    println!("{attempts} pools started {total} worker threads in all");
}

// ---------------------------------------------------------------------
// Defect 4: stale queue entries grow without bound.
// ---------------------------------------------------------------------

/// Most queue entries a task waiting on two children may leave behind:
/// DESIGN bounds stale entries by nesting depth times fan-out (here 1 x 2);
/// this leaves room for any reasonable constant.
const STALE_BOUND: usize = 256;

#[test]
fn waiting_oldest_first_keeps_the_queue_bounded() {
    let rounds = env_usize("STEALPOOL_HOSTILE_ROUNDS", 200_000);
    let pool = ThreadPool::new(1).unwrap();
    let most = pool
        .submit(move || {
            ThreadPool::with_current(|pool| {
                let mut most = 0;
                for round in 0..rounds {
                    let older = pool.submit(move || round).unwrap();
                    let newer = pool.submit(move || round + 1).unwrap();
                    assert_eq!(older.result().unwrap(), round);
                    assert_eq!(newer.result().unwrap(), round + 1);
                    if round % 64 == 0 {
                        most = most.max(pool.stats().tasks_queued);
                        if most >= STALE_BOUND {
                            return (round, most); // fail fast
                        }
                    }
                }
                (rounds, most)
            })
            .unwrap()
        })
        .unwrap()
        .result()
        .unwrap();
    assert!(
        most.1 < STALE_BOUND,
        "{} entries queued on the only worker after {} rounds of 'submit two, wait oldest \
         first' (bound {STALE_BOUND})",
        most.1,
        most.0
    );
}

// ---------------------------------------------------------------------
// Defect 5: helping overflows the stack.
// ---------------------------------------------------------------------

const FRAME_TASKS: usize = 200;

/// The scenario of defect 5 (in a child process: on a bug it aborts).
fn large_frames_waiting_on_the_other_worker() {
    let pool = ThreadPool::new(2).unwrap(); // default 8 MiB stacks
    let sleeps = || pool.stats().sleeps;
    assert!(eventually(|| sleeps() >= 2), "both workers go to sleep");
    // L runs on one worker until every A started or the other worker,
    // having stopped helping, parked.
    let l_gate = Latch::new();
    let _open = l_gate.open_on_drop();
    let l_started = Latch::new();
    let (ls, lg) = (l_started.clone(), l_gate.clone());
    let l = pool
        .submit(move || {
            ls.open();
            lg.wait();
        })
        .unwrap();
    l_started.wait();
    let before = sleeps();
    let started = Arc::new(AtomicUsize::new(0));
    let helper: Arc<OnceLock<String>> = Arc::default();
    let tasks: Vec<_> = (0..FRAME_TASKS)
        .map(|_| {
            let (l, started, helper) = (l.clone(), started.clone(), helper.clone());
            pool.submit(move || {
                let mut frame = [0u8; 64 << 10];
                black_box(&mut frame);
                let _ = helper.set(std::thread::current().name().unwrap().to_owned());
                started.fetch_add(1, SeqCst);
                l.wait();
                black_box(&frame);
            })
            .unwrap()
        })
        .collect();
    // Parked: counted in `sleeps`, or asleep in the kernel and making no
    // progress for a while (not just passing through a lock).
    let asleep = || {
        helper
            .get()
            .is_some_and(|name| support::thread_is_asleep(name))
    };
    let parked = || {
        let n = started.load(SeqCst);
        sleeps() > before
            || (asleep() && {
                std::thread::sleep(Duration::from_millis(5));
                asleep() && started.load(SeqCst) == n
            })
    };
    assert!(
        eventually(|| started.load(SeqCst) == FRAME_TASKS || parked()),
        "the helping worker neither ran every task nor parked"
    );
    l_gate.open();
    for t in &tasks {
        assert!(t.wait_timeout(HANG));
    }
    l.result().unwrap();
}

#[test]
fn helping_never_overflows_the_stack_with_large_frames() {
    const SCENARIO: &str = "large_frames";
    if support::is_child(SCENARIO) {
        large_frames_waiting_on_the_other_worker();
        return;
    }
    let end = support::run_child(
        "helping_never_overflows_the_stack_with_large_frames",
        SCENARIO,
        HANG * 2,
    );
    assert!(
        end.succeeded(),
        "{FRAME_TASKS} tasks with 64 KiB frames waiting on the other worker: child {:?}\n{}",
        end.status,
        end.output
    );
}

// ---------------------------------------------------------------------
// Defect 6: wakers leak.
// ---------------------------------------------------------------------

#[test]
fn wakers_of_dropped_futures_are_released() {
    let pool = ThreadPool::new(1).unwrap();
    let gate = Latch::new();
    let _open = gate.open_on_drop();
    let handle = submit_after(&pool, &gate, || 1u32);
    let probe = WakerProbe::new();
    for _ in 0..10_000 {
        let mut future = handle.clone();
        assert!(poll_once(&mut future, &probe.waker()).is_pending());
        drop(future);
    }
    let held = probe.held();
    gate.open();
    assert_eq!(
        held, 0,
        "{held} of 10,000 wakers of dropped futures still held by a pending task"
    );
    assert_eq!(handle.result().unwrap(), 1);
}

#[test]
fn a_re_poll_with_a_new_waker_releases_the_old_one() {
    let pool = ThreadPool::new(1).unwrap();
    let gate = Latch::new();
    let _open = gate.open_on_drop();
    let mut handle = submit_after(&pool, &gate, || 1u32);
    let (old, new) = (WakerProbe::new(), WakerProbe::new());
    assert!(poll_once(&mut handle, &old.waker()).is_pending());
    assert!(poll_once(&mut handle, &new.waker()).is_pending());
    let old_held = old.held();
    gate.open();
    assert!(
        eventually_for(QUICK, || new.wakes() == 1),
        "the new waker is woken"
    );
    assert_eq!(old_held, 0, "a re-poll with a new waker kept the old one");
    assert_eq!(old.wakes(), 0, "the replaced waker was woken");
    assert_eq!(handle.result().unwrap(), 1);
}

// ---------------------------------------------------------------------
// Defect 7: `wait_timeout` overshoots on a worker.
// ---------------------------------------------------------------------

#[test]
fn a_timed_wait_on_a_worker_does_not_start_unrelated_work() {
    let pool = ThreadPool::new(2).unwrap();
    // T runs on one worker for as long as the test needs.
    let t_gate = Latch::new();
    let _open_t = t_gate.open_on_drop();
    let t_started = Latch::new();
    let (ts, tg) = (t_started.clone(), t_gate.clone());
    let t = pool
        .submit(move || {
            ts.open();
            tg.wait();
        })
        .unwrap();
    t_started.wait();
    // W, on the other worker, waits 50 ms on T once U is queued.
    let (w_started, w_go) = (Latch::new(), Latch::new());
    let _go = w_go.open_on_drop();
    let (ws, wg, tw) = (w_started.clone(), w_go.clone(), t.clone());
    let (tx, rx) = mpsc::channel();
    let w = pool
        .submit(move || {
            ws.open();
            wg.wait();
            let _ = tx.send(tw.wait_timeout(Duration::from_millis(50)));
        })
        .unwrap();
    w_started.wait();
    // U: unrelated, and blocks until the timed wait has returned.
    let u_gate = Latch::new();
    let _open_u = u_gate.open_on_drop();
    let u = submit_after(&pool, &u_gate, || ());
    w_go.open();
    let returned = rx.recv_timeout(QUICK);
    u_gate.open();
    t_gate.open();
    match returned {
        Ok(finished) => assert!(!finished, "T cannot have finished"),
        Err(_) => panic!(
            "wait_timeout(50 ms) on a worker had not returned after {QUICK:?}: it ran the \
             unrelated queued task"
        ),
    }
    for h in [&t, &w, &u] {
        h.result().unwrap();
    }
}

// ---------------------------------------------------------------------
// Defect 8: a task submitted from `on_worker_stop` is accepted and lost.
// ---------------------------------------------------------------------

/// What a stop hook's submission came to.
enum HookSubmit {
    Refused,
    Accepted(TaskHandle<u32>),
}

#[test]
fn a_submit_from_on_worker_stop_after_shutdown_is_refused_or_runs() {
    let slot: Arc<Mutex<Option<ThreadPool>>> = Arc::default();
    let seen: Arc<Mutex<Vec<(&'static str, HookSubmit)>>> = Arc::default();
    let (hook_slot, hook_seen) = (slot.clone(), seen.clone());
    let pool = ThreadPool::builder()
        .max_workers(2)
        .on_worker_stop(move |_| {
            let shared = hook_slot.lock().unwrap().clone();
            let current = ThreadPool::current();
            for (how, pool) in [
                ("a shared clone", shared),
                ("ThreadPool::current()", current),
            ] {
                let Some(pool) = pool else { continue };
                let outcome = match pool.submit(|| 5u32) {
                    Ok(h) => HookSubmit::Accepted(h),
                    Err(SubmitError::Shutdown(_)) => HookSubmit::Refused,
                    Err(other) => panic!("unexpected refusal: {other}"),
                };
                hook_seen.lock().unwrap().push((how, outcome));
            }
        })
        .build()
        .unwrap();
    *slot.lock().unwrap() = Some(pool.clone());
    pool.shutdown();
    let seen = std::mem::take(&mut *seen.lock().unwrap());
    assert!(seen.len() >= 2, "each worker's hook submitted");
    let deadline = std::time::Instant::now() + QUICK;
    let mut lost = Vec::new();
    for (how, outcome) in &seen {
        if let HookSubmit::Accepted(h) = outcome {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if !h.wait_timeout(left) {
                lost.push(*how);
            } else {
                assert_eq!(h.result().unwrap(), 5, "accepted through {how}");
            }
        }
    }
    // Frees the pool (it is owned by its own hook through `slot`).
    slot.lock().unwrap().take();
    assert!(
        lost.is_empty(),
        "submissions from on_worker_stop after shutdown were accepted and never ran \
         (through {lost:?})"
    );
}

// ---------------------------------------------------------------------
// Also verify: a cancelling shutdown and jobs in flight.
// ---------------------------------------------------------------------

#[test]
fn a_cancelling_shutdown_leaves_no_task_pending_that_then_runs() {
    // Jobs popped but not yet claimed, put back by a waiting parent, or in
    // the middle of a batch steal, when `shutdown_with(cancel_pending)`
    // sweeps the queues: every task still pending when it returns must end
    // cancelled.
    let rounds = env_usize("STEALPOOL_HOSTILE_CANCEL_ROUNDS", 3000);
    let workers = env_usize("STEALPOOL_HOSTILE_CANCEL_WORKERS", 4);
    for round in 0..rounds {
        let pool = ThreadPool::new(workers).unwrap();
        let children: Arc<Mutex<Vec<TaskHandle<()>>>> = Arc::default();
        let parents: Vec<_> = (0..4)
            .map(|_| {
                let children = children.clone();
                pool.submit(move || {
                    ThreadPool::with_current(|pool| {
                        let mine: Vec<_> = (0..32).map(|_| pool.submit(|| ()).unwrap()).collect();
                        children.lock().unwrap().extend(mine.iter().cloned());
                        // Oldest first: each wait puts the newest entry back.
                        for child in &mine {
                            let _ = child.result();
                        }
                    });
                })
                .unwrap()
            })
            .collect();
        let outside: Vec<_> = (0..256).map(|_| pool.submit(|| ()).unwrap()).collect();
        let mut known: Vec<TaskHandle<()>> = children.lock().unwrap().clone();
        known.extend(outside.iter().cloned());
        pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
        // Pending now: not finished, not running, and still not finished.
        let pending: Vec<_> = known
            .iter()
            .filter(|h| !h.done() && !h.running() && !h.done())
            .collect();
        pool.shutdown();
        let ran = pending.iter().filter(|h| !h.cancelled()).count();
        assert_eq!(
            ran,
            0,
            "round {round}: {ran} of {} tasks pending when shutdown_with(cancel_pending) \
             returned ran afterwards",
            pending.len()
        );
        for p in &parents {
            let _ = p.result(); // a parent still queued was cancelled too
        }
    }
}

// ---------------------------------------------------------------------
// Also verify: freeing the pool on a worker, with a panicking waker.
// ---------------------------------------------------------------------

fn free_the_pool_on_a_worker_with_a_panicking_waker() {
    // The stop hook leaves a queued task whose handle a panicking waker
    // polled; the last pool clone is dropped by a task, so the worker frees
    // the pool (and that queued task) as its thread ends.
    let pool = ThreadPool::builder()
        .max_workers(1)
        .thread_name_prefix("h-free")
        .on_worker_stop(|_| {
            if let Some(pool) = ThreadPool::current() {
                if let Ok(mut h) = pool.submit(|| ()) {
                    let _ = poll_once(&mut h, &WakerProbe::new().panicking_waker());
                }
            }
        })
        .build()
        .unwrap();
    let gate = Latch::new();
    let last = pool.clone();
    let task = submit_after(&pool, &gate, move || drop(last));
    drop(pool);
    gate.open();
    assert!(task.wait_timeout(HANG));
    assert!(
        eventually(|| support::threads_named("h-free") == 0),
        "the worker never ended"
    );
}

#[test]
fn freeing_the_pool_on_a_worker_with_a_panicking_waker_does_not_abort() {
    const SCENARIO: &str = "free_on_worker";
    if support::is_child(SCENARIO) {
        free_the_pool_on_a_worker_with_a_panicking_waker();
        return;
    }
    let end = support::run_child(
        "freeing_the_pool_on_a_worker_with_a_panicking_waker_does_not_abort",
        SCENARIO,
        HANG * 2,
    );
    assert!(
        end.succeeded(),
        "a worker freeing the pool with a panicking waker queued: child {:?}\n{}",
        end.status,
        end.output
    );
}

// ---------------------------------------------------------------------
// Also verify: a task waiting on its own handle.
// ---------------------------------------------------------------------

/// Runs `probe` inside a task on that task's own handle and returns what it
/// returned; fails (leaving the stuck pool behind) if it does not return
/// within `QUICK`. The task itself then returns 5.
fn on_own_handle<R: Send + 'static>(
    what: &str,
    probe: impl FnOnce(&TaskHandle<u32>) -> R + Send + 'static,
) -> R {
    // One worker: a child runs inline, on its parent's stack.
    let pool = ThreadPool::new(1).unwrap();
    let me: Arc<OnceLock<TaskHandle<u32>>> = Arc::default();
    let gate = Latch::new();
    let (tx, rx) = mpsc::channel();
    let (m, g) = (me.clone(), gate.clone());
    let handle = pool
        .submit(move || {
            g.wait();
            let _ = tx.send(probe(m.get().unwrap()));
            5
        })
        .unwrap();
    let _ = me.set(handle.clone());
    gate.open();
    let Ok(seen) = rx.recv_timeout(QUICK) else {
        std::mem::forget(pool); // its worker is stuck: shutdown would hang
        panic!("a task calling {what} on its own handle had not returned after {QUICK:?}");
    };
    assert_eq!(handle.result().unwrap(), 5, "the task ran on and returned");
    seen
}

#[test]
fn a_task_calling_result_on_its_own_handle_gets_deadlock() {
    let got = on_own_handle("result()", |me| me.result());
    assert!(matches!(got, Err(TaskError::Deadlock)), "got {got:?}");
}

#[test]
fn a_task_calling_wait_on_its_own_handle_returns_at_once() {
    on_own_handle("wait()", |me| me.wait());
}

#[test]
fn a_task_calling_wait_timeout_on_its_own_handle_gets_false_at_once() {
    // An hour: only detection makes it return within the bound.
    let finished = on_own_handle("wait_timeout(1 h)", |me| {
        me.wait_timeout(Duration::from_secs(3600))
    });
    assert!(!finished);
}

#[test]
fn a_task_waiting_on_a_task_below_it_on_the_stack_gets_deadlock() {
    // The variant's documented second case: A waits on its child B, which
    // runs inline on A's stack and waits on A.
    let got = on_own_handle("result() from its inline child", |me| {
        let me = me.clone();
        let child = ThreadPool::current()
            .unwrap()
            .submit(move || me.result().map(|_| ()))
            .unwrap();
        child.result().unwrap()
    });
    assert!(matches!(got, Err(TaskError::Deadlock)), "got {got:?}");
}

#[test]
fn a_task_helped_onto_a_waiting_task_and_waiting_on_it_does_not_hang() {
    // Found by tests/model.rs: A waits on X, which runs on the other
    // worker; while it waits, A's worker helps with B, which waits on A.
    // The user's graph (B -> A -> X) has no cycle, but helping put B on top
    // of A on one stack: A cannot resume before B returns. B must get
    // `TaskError::Deadlock` (the variant's second case) rather than hang,
    // or the pool must not have run B there (then B simply gets A's value).
    let pool = ThreadPool::new(2).unwrap();
    let x_gate = Latch::new();
    let _open_x = x_gate.open_on_drop();
    let x_started = Latch::new();
    let (xs, xg) = (x_started.clone(), x_gate.clone());
    let x = pool
        .submit(move || {
            xs.open();
            xg.wait();
        })
        .unwrap();
    x_started.wait();
    let a_started = Latch::new();
    let (as_, xa) = (a_started.clone(), x.clone());
    let a = pool
        .submit(move || {
            as_.open();
            xa.wait();
            1u32
        })
        .unwrap();
    a_started.wait();
    // Only A's worker is free (helping inside A's wait): B runs there.
    let b_started = Latch::new();
    let (bs, ab) = (b_started.clone(), a.clone());
    let (tx, rx) = mpsc::channel();
    let b = pool
        .submit(move || {
            bs.open();
            let _ = tx.send(ab.result());
        })
        .unwrap();
    let helped = eventually_for(QUICK, || b_started.is_open());
    x_gate.open();
    let Ok(got) = rx.recv_timeout(QUICK) else {
        std::mem::forget(pool); // A's worker is stuck: shutdown would hang
        panic!(
            "B (run {}) waited on A below it on the same stack: no outcome after {QUICK:?}",
            if helped {
                "by A's worker, inside A's wait"
            } else {
                "elsewhere"
            }
        );
    };
    match got {
        Err(TaskError::Deadlock) => assert!(helped, "Deadlock though B did not run on A"),
        Ok(v) => assert_eq!(v, 1),
        Err(e) => panic!("B got {e:?}"),
    }
    b.result().unwrap();
    let _ = a.result();
    x.result().unwrap();
}

#[test]
fn two_workers_helped_into_a_cross_wait_cycle_get_deadlock_not_a_hang() {
    // Across two stacks: worker p runs A_p, which waits on X (running on a
    // third worker) and helps meanwhile with B_p; B_p waits on the other
    // worker's A. Once X ends, each A can resume only after the B above it
    // returns, and each B waits on the other stack's A: a cycle that
    // helping made, in a program without one. A wait in it must end with
    // `TaskError::Deadlock` (found by walking the workers' wait edges)
    // instead of hanging; the other B then gets its value.
    let pool = ThreadPool::new(3).unwrap();
    let x_gate = Latch::new();
    let _open_x = x_gate.open_on_drop();
    let x_started = Latch::new();
    let (xs, xg) = (x_started.clone(), x_gate.clone());
    let x = pool
        .submit(move || {
            xs.open();
            xg.wait();
        })
        .unwrap();
    x_started.wait();
    // A_0 and A_1 take the two other workers and wait on X, helping; each
    // records the worker it runs on.
    let a_running = Arc::new(std::sync::Barrier::new(3));
    let a_worker: Arc<[AtomicUsize; 2]> = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let a: Vec<TaskHandle<u32>> = [10u32, 20]
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let (xa, running, at) = (x.clone(), a_running.clone(), a_worker.clone());
            pool.submit(move || {
                at[i].store(stealpool::current_thread_index().unwrap(), SeqCst);
                running.wait();
                xa.wait();
                value
            })
            .unwrap()
        })
        .collect();
    a_running.wait();
    // The Bs meet first, so each free worker runs one inside its A's wait;
    // each then waits on the A that is not below it on its own stack.
    let both_bs = Arc::new(std::sync::Barrier::new(2));
    let (started_tx, started) = mpsc::channel();
    let (tx, rx) = mpsc::channel();
    let bs: Vec<_> = (0..2)
        .map(|_| {
            let (meet, started_tx, tx, a, at) = (
                both_bs.clone(),
                started_tx.clone(),
                tx.clone(),
                a.clone(),
                a_worker.clone(),
            );
            pool.submit(move || {
                meet.wait();
                let here = stealpool::current_thread_index().unwrap();
                let other = usize::from(at[0].load(SeqCst) == here);
                let _ = started_tx.send(());
                let _ = tx.send(a[other].result());
            })
            .unwrap()
        })
        .collect();
    drop(tx);
    for _ in 0..2 {
        started
            .recv_timeout(QUICK)
            .expect("both Bs started on the As' workers");
    }
    x_gate.open();
    let mut outcomes = Vec::new();
    for _ in 0..2 {
        match rx.recv_timeout(QUICK) {
            Ok(o) => outcomes.push(o),
            Err(_) => {
                std::mem::forget(pool); // workers are stuck: shutdown would hang
                panic!("a wait cycle made by helping hung: outcomes so far {outcomes:?}");
            }
        }
    }
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(TaskError::Deadlock))),
        "the Bs waited on each other's stacks: one of them must see the cycle: {outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(10) | Ok(20) | Err(TaskError::Deadlock))),
        "{outcomes:?}"
    );
    for b in bs {
        b.result().unwrap();
    }
    for a in &a {
        assert!(a.wait_timeout(QUICK) && !a.failed());
    }
    x.result().unwrap();
}

//! Shutdown under load: every way of shutting down, while submitter threads
//! keep submitting. Each submit either fails (the closure comes back unrun)
//! or its handle resolves; nothing accepted is lost (accepted == ran +
//! cancelled) and nothing hangs (a watchdog aborts the process if it does).
//!
//! Sized by `STEALPOOL_STRESS_SCALE`; seeded by `STEALPOOL_SEED`.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use stealpool::{ShutdownOptions, TaskError, TaskHandle, ThreadPool};
use support::{Census, Rng, Watchdog};

const SUBMITTERS: usize = 3;
const WORKERS: usize = 2;
/// Tasks accepted before the shutdown starts, per round.
const BEFORE_SHUTDOWN: usize = 2_000;
/// Refused submits each submitter still tries after its first refusal.
const AFTER_REFUSAL: usize = 20;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// `shutdown()`: wait, run everything accepted.
    Wait,
    /// `wait: false`: return at once, still run everything accepted.
    NoWait,
    /// `wait: false, cancel_pending: true`.
    Cancel,
    /// `wait: true, cancel_pending: true`.
    CancelAndWait,
    /// `shutdown()` called by a task on the pool (which cannot wait).
    FromTask,
}

impl Mode {
    fn options(self) -> ShutdownOptions {
        let (wait, cancel_pending) = match self {
            Mode::Wait | Mode::FromTask => (true, false),
            Mode::NoWait => (false, false),
            Mode::Cancel => (false, true),
            Mode::CancelAndWait => (true, true),
        };
        ShutdownOptions::new()
            .wait(wait)
            .cancel_pending(cancel_pending)
    }

    fn waits(self) -> bool {
        matches!(self, Mode::Wait | Mode::CancelAndWait)
    }
}

#[derive(Default)]
struct Counts {
    accepted: AtomicUsize,
    refused: AtomicUsize,
    ran: AtomicUsize,
    /// Children submitted from inside tasks (always accepted), and how
    /// they ended as their parent saw them.
    children: AtomicUsize,
    children_ran: AtomicUsize,
    children_cancelled: AtomicUsize,
}

/// Submits until refused, then a few more times (all must be refused);
/// returns the accepted handles.
fn submitter(
    pool: ThreadPool,
    counts: Arc<Counts>,
    closures: Census,
    mut rng: Rng,
) -> Vec<TaskHandle<usize>> {
    let mut handles = Vec::new();
    let mut refusals = 0;
    while refusals <= AFTER_REFUSAL {
        let token = closures.make(0);
        let c = counts.clone();
        let nested = rng.one_in(8);
        let submitted = pool.submit(move || {
            let _token = token;
            c.ran.fetch_add(1, SeqCst);
            if nested {
                // Accepted even after shutdown: in-flight graphs finish.
                let pool = ThreadPool::current().expect("on a worker");
                let c2 = c.clone();
                let child = pool
                    .submit(move || c2.children_ran.fetch_add(1, SeqCst))
                    .expect("a task's own pool accepts its children");
                c.children.fetch_add(1, SeqCst);
                match child.result() {
                    Ok(_) => {}
                    // cancel_pending may reach the child in a queue.
                    Err(TaskError::Cancelled) => {
                        c.children_cancelled.fetch_add(1, SeqCst);
                    }
                    Err(e) => panic!("child: unexpected {e}"),
                }
            }
            1
        });
        match submitted {
            Ok(h) => {
                assert_eq!(refusals, 0, "accepted after a refusal");
                counts.accepted.fetch_add(1, SeqCst);
                handles.push(h);
            }
            Err(e) => {
                assert!(e.is_shutdown(), "refused with {e:?}");
                refusals += 1;
                counts.refused.fetch_add(1, SeqCst);
                drop(e.into_inner()); // handed back unrun; the census sees the drop
            }
        }
    }
    handles
}

fn round(mode: Mode, seed: u64, round: u64) {
    let pool = ThreadPool::new(WORKERS).unwrap();
    let counts = Arc::new(Counts::default());
    let closures = Census::new();
    let threads: Vec<_> = (0..SUBMITTERS)
        .map(|t| {
            let (pool, counts, closures) = (pool.clone(), counts.clone(), closures.clone());
            let rng = Rng::new(seed, round * 16 + t as u64);
            std::thread::spawn(move || submitter(pool, counts, closures, rng))
        })
        .collect();
    assert!(
        support::eventually(|| counts.accepted.load(SeqCst) >= BEFORE_SHUTDOWN),
        "submitters stalled before shutdown"
    );
    // Tasks run by the time a waiting shutdown returned.
    let ran_at_return = if mode == Mode::FromTask {
        let stopper = pool
            .submit(|| ThreadPool::current().unwrap().shutdown())
            .expect("not shut down yet");
        // The stopper may itself have been queued behind the load.
        stopper.result().unwrap();
        assert!(pool.is_shutdown());
        None
    } else {
        pool.shutdown_with(mode.options());
        mode.waits().then(|| counts.ran.load(SeqCst))
    };
    let handles: Vec<_> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("a submitter failed"))
        .collect();
    let (mut ok, mut cancelled) = (0, 0);
    for h in &handles {
        match h.result() {
            Ok(1) => ok += 1,
            Err(TaskError::Cancelled) => cancelled += 1,
            other => panic!("{mode:?}: an accepted task ended {other:?}"),
        }
    }
    pool.shutdown(); // joins the workers in every mode
    drop(handles);
    drop(pool);

    let c = &*counts;
    let accepted = c.accepted.load(SeqCst);
    let ran = c.ran.load(SeqCst);
    assert_eq!(accepted, ok + cancelled, "{mode:?}: a handle was lost");
    assert_eq!(ran, ok, "{mode:?}: ran != resolved with a value");
    assert_eq!(c.refused.load(SeqCst), SUBMITTERS * (AFTER_REFUSAL + 1));
    if !mode.options().cancel_pending {
        assert_eq!(cancelled, 0, "{mode:?}: cancelled without cancel_pending");
    }
    if let Some(at_return) = ran_at_return {
        assert_eq!(
            at_return, ran,
            "{mode:?}: a task ran after a waiting shutdown returned"
        );
    }
    let children = c.children.load(SeqCst);
    assert_eq!(
        children,
        c.children_ran.load(SeqCst) + c.children_cancelled.load(SeqCst),
        "{mode:?}: a child was lost"
    );
    assert_eq!(closures.live(), 0, "{mode:?}: a closure was never dropped");
    assert_eq!(closures.created(), accepted + c.refused.load(SeqCst));
    if round == 0 {
        println!(
            "{mode:?}: {accepted} accepted ({ok} ran, {cancelled} cancelled), {children} children, {} refused",
            c.refused.load(SeqCst)
        );
    }
}

fn run(mode: Mode) {
    let seed = support::seed(0x5D0A_2026 ^ mode as u64);
    let _watchdog = Watchdog::new(&format!("shutdown_load {mode:?}"), Duration::from_secs(60));
    let rounds = support::scaled(50, 1) as u64;
    for r in 0..rounds {
        round(mode, seed.0, r);
    }
}

#[test]
fn waiting_shutdown_under_load() {
    run(Mode::Wait);
}

#[test]
fn non_waiting_shutdown_under_load() {
    run(Mode::NoWait);
}

#[test]
fn cancelling_shutdown_under_load() {
    run(Mode::Cancel);
}

#[test]
fn cancelling_waiting_shutdown_under_load() {
    run(Mode::CancelAndWait);
}

#[test]
fn shutdown_from_a_task_under_load() {
    run(Mode::FromTask);
}

/// A submitter blocked in `result()` on a task queued behind the load when
/// a cancelling shutdown comes: it wakes with `Cancelled` instead of hanging.
#[test]
fn a_blocked_waiter_wakes_on_a_cancelling_shutdown() {
    let _watchdog = Watchdog::new("blocked waiter", Duration::from_secs(60));
    let pool = ThreadPool::new(1).unwrap();
    let (started, hold) = (support::Latch::new(), support::Latch::new());
    let (s, h) = (started.clone(), hold.clone());
    let blocker = pool
        .submit(move || {
            s.open();
            h.wait();
            0
        })
        .unwrap();
    started.wait(); // the only worker is busy: `queued` stays queued
    let queued = pool.submit(|| 1).unwrap();
    let waiting = Arc::new(AtomicBool::new(false));
    let w = waiting.clone();
    let waiter = std::thread::spawn(move || {
        w.store(true, SeqCst);
        queued.result()
    });
    assert!(support::eventually(|| waiting.load(SeqCst)));
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    assert!(matches!(waiter.join().unwrap(), Err(TaskError::Cancelled)));
    hold.open();
    assert_eq!(blocker.result().unwrap(), 0);
    pool.shutdown();
}

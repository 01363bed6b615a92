//! Unit tests of the sleep protocol's decisions, with the races forced by
//! `has_work` closures that block on barriers (a real queue scan can be
//! preempted at the same points).

use super::*;
use crate::sync::Arc;
use crate::sync::{AtomicBool, Barrier};
use std::sync::atomic::Ordering::SeqCst;

fn word(sleep: &Sleep) -> u64 {
    sleep.state.load(SeqCst)
}

#[test]
fn a_sleeper_whose_recheck_finds_work_leaves_as_a_searcher() {
    // A submitter that saw this worker searching woke nobody: the worker's
    // re-check is the only thing that will get the job run, so it must leave
    // counted as searching (and later stop searching with its own re-check).
    let sleep = Sleep::new(2, 2);
    sleep.register_thread(0, crate::sync::thread::current());
    sleep.start_searching();
    for kind in [SleepKind::Helper, SleepKind::Main] {
        let woke = sleep.sleep(0, kind, true, &|| true, &|| false, None);
        assert_eq!(woke, Woke::Notified, "{kind:?}");
        let s = word(&sleep);
        assert_eq!((searching(s), sleeping(s), idle(s)), (1, 0, 0), "{kind:?}");
        assert!(sleep.idle.lock().is_empty());
    }
}

#[test]
fn a_helper_whose_condition_holds_leaves_uncounted() {
    let sleep = Sleep::new(1, 1);
    sleep.register_thread(0, crate::sync::thread::current());
    let woke = sleep.sleep(0, SleepKind::Helper, false, &|| false, &|| true, None);
    assert_eq!(woke, Woke::Unregistered);
    assert_eq!(word(&sleep) & !(FIELD << 36), 0, "only `live` is left");
}

#[test]
fn helpers_never_see_termination() {
    let sleep = Sleep::new(1, 1);
    sleep.register_thread(0, crate::sync::thread::current());
    sleep.terminate();
    let woke = sleep.sleep(0, SleepKind::Helper, false, &|| false, &|| true, None);
    assert_eq!(woke, Woke::Unregistered);
    assert!(sleep.idle.lock().is_empty());
}

#[test]
fn the_last_sleeper_terminates_a_shut_down_pool() {
    let sleep = Sleep::new(1, 1);
    sleep.register_thread(0, crate::sync::thread::current());
    sleep.shutdown();
    let woke = sleep.sleep(0, SleepKind::Main, false, &|| false, &|| false, None);
    assert_eq!(woke, Woke::Terminate);
    assert!(sleep.is_terminated());
}

#[test]
fn no_termination_while_a_worker_that_saw_work_goes_to_run_it() {
    // Worker 0 re-checks and sees job J; worker 1 then registers as the
    // last sleeper, and re-checks only after worker 0 has taken J. Worker 1
    // must not terminate the pool: worker 0 was never counted idle.
    let sleep = Arc::new(Sleep::new(2, 2));
    sleep.shutdown();
    sleep.start_searching();
    sleep.start_searching();
    let queued = Arc::new(AtomicBool::new(true));
    let w0_saw_work = Arc::new(Barrier::new(2));
    let j_taken = Arc::new(Barrier::new(2));
    let w0 = {
        let (sleep, queued, w0_saw_work, j_taken) = (
            sleep.clone(),
            queued.clone(),
            w0_saw_work.clone(),
            j_taken.clone(),
        );
        crate::sync::thread::spawn(move || {
            sleep.register_thread(0, crate::sync::thread::current());
            let has_work = || {
                let seen = queued.load(SeqCst);
                w0_saw_work.wait();
                seen
            };
            let woke = sleep.sleep(0, SleepKind::Main, true, &has_work, &|| false, None);
            queued.store(false, SeqCst); // it pops J and runs it
            j_taken.wait();
            woke
        })
    };
    let w1 = {
        let (sleep, queued, w0_saw_work, j_taken) = (
            sleep.clone(),
            queued.clone(),
            w0_saw_work.clone(),
            j_taken.clone(),
        );
        crate::sync::thread::spawn(move || {
            sleep.register_thread(1, crate::sync::thread::current());
            w0_saw_work.wait(); // worker 0 has registered and seen J
            let has_work = || {
                j_taken.wait();
                queued.load(SeqCst)
            };
            sleep.sleep(1, SleepKind::Main, true, &has_work, &|| false, None)
        })
    };
    assert_eq!(
        w0.join().unwrap(),
        Woke::Notified,
        "worker 0 leaves as a searcher"
    );
    // Worker 1 parks (committed idle) instead of terminating.
    while idle(word(&sleep)) != 1 {
        crate::sync::thread::yield_now();
    }
    assert!(!sleep.is_terminated(), "terminated while worker 0 runs J");
    sleep.wake_all();
    assert_eq!(w1.join().unwrap(), Woke::Notified);
}

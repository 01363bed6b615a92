//! Model 6: shutdown racing a submission from another thread.
//!
//! Proves: the submission is either refused with `SubmitError::Shutdown`
//! (the closure handed back, never run) or accepted; an accepted task runs
//! (a waiting shutdown) or is cancelled (a cancelling shutdown), its handle
//! resolves, and the workers exit (the waiting shutdown joins them; loom
//! would report a worker that never exits as a deadlock).
//!
//! `cancelling_shutdown_withdraws_what_it_missed` proves: a task pending
//! when a cancelling shutdown returns ends cancelled and never runs, even
//! when the worker had already popped it (the stand-in queue lets loom put
//! that pop anywhere): the claim's SeqCst CAS and flag load pair with the
//! shutdown's flag store. With the claim-time check removed (tried as a
//! mutation), loom finds the task running after the call returned.

use crate::{model, Tally};
use stealpool::{ShutdownOptions, TaskError, ThreadPool};

fn race(name: &str, cancel_pending: bool) {
    model(name, move || {
        let pool = ThreadPool::new(1).unwrap();
        let ran = Tally::default();
        let submitter = {
            let (pool, ran) = (pool.clone(), ran.clone());
            loom::thread::spawn(move || match pool.submit(move || ran.bump()) {
                Ok(handle) => Some(handle),
                Err(err) => {
                    assert!(err.is_shutdown());
                    let _closure = err.into_inner();
                    None
                }
            })
        };
        pool.shutdown_with(
            ShutdownOptions::new()
                .wait(true)
                .cancel_pending(cancel_pending),
        );
        let accepted = submitter.join().unwrap();
        match accepted {
            None => assert_eq!(ran.get(), 0),
            Some(handle) => match handle.result() {
                Ok(()) => assert_eq!(ran.get(), 1),
                Err(TaskError::Cancelled) => {
                    assert!(cancel_pending, "only a cancelling shutdown cancels");
                    assert_eq!(ran.get(), 0);
                }
                Err(e) => panic!("unexpected outcome: {e}"),
            },
        }
        assert!(pool.is_shutdown());
    });
}

#[test]
fn shutdown_races_submit() {
    race("shutdown_race", false);
}

#[test]
fn cancelling_shutdown_races_submit() {
    race("shutdown_race_cancelling", true);
}

#[test]
fn cancelling_shutdown_withdraws_what_it_missed() {
    model("shutdown_withdraw", || {
        let pool = ThreadPool::new(1).unwrap();
        let ran = Tally::default();
        let r = ran.clone();
        let handle = pool.submit(move || r.bump()).unwrap();
        pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
        // Running first: a task seen not running, then not done, was
        // pending at the first load (two loads can straddle a completion).
        let pending_at_return = !handle.running() && !handle.done();
        pool.shutdown();
        if pending_at_return {
            assert!(handle.cancelled(), "a task pending at the return ran later");
            assert_eq!(ran.get(), 0);
        }
        assert!(handle.done());
    });
}

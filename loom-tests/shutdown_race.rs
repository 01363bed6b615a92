//! Model 6: shutdown racing a submission from another thread.
//!
//! Proves: the submission is either refused with `SubmitError::Shutdown`
//! (the closure handed back, never run) or accepted; an accepted task runs
//! (a waiting shutdown) or is cancelled (a cancelling shutdown), its handle
//! resolves, and the workers exit (the waiting shutdown joins them; loom
//! would report a worker that never exits as a deadlock).

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

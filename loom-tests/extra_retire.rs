//! Model 11: extra workers for a blocking section starting, retiring and
//! covering the worker again.
//!
//! Proves: a worker whose task blocks twice, waiting the second time for a
//! task only an extra worker can run, is covered both times, whatever the
//! first section's extra does meanwhile (runs that task, parks, or retires
//! and releases its slot around the second section's start); the blocked
//! task and the one it waits for both finish, and shutdown joins every
//! extra thread. With a worker that enters a section not starting an extra
//! (tried as a mutation), loom reports the deadlock. (Removing only the
//! retiring extra's cover on its way out was not caught at 2 or 3
//! preemptions: the ordering that needs it, the extra retiring between the
//! two sections with the waited-for task not yet submitted, takes more.)

use crate::model;
use loom::sync::{Arc, Condvar, Mutex};
use stealpool::ThreadPool;

#[test]
fn extra_retires_while_its_worker_blocks_again() {
    model("extra_retire", || {
        let pool = ThreadPool::builder()
            .max_workers(1)
            .max_blocking(1)
            .build()
            .unwrap();
        let gate = Arc::new((Mutex::new(false), Condvar::new()));
        let g = gate.clone();
        let blocked = pool
            .submit(move || {
                // Starts the extra, which may retire at once...
                stealpool::blocking(|| ());
                // ...while this second section needs an extra again: the
                // only worker waits here for a task only an extra can run.
                stealpool::blocking(|| {
                    let (open, cv) = &*g;
                    let mut open = open.lock().unwrap();
                    while !*open {
                        open = cv.wait(open).unwrap();
                    }
                });
            })
            .unwrap();
        let g = gate.clone();
        let opener = pool
            .submit(move || {
                let (open, cv) = &*g;
                *open.lock().unwrap() = true;
                cv.notify_all();
            })
            .unwrap();
        blocked.result().unwrap();
        opener.result().unwrap();
        drop(pool);
    });
}

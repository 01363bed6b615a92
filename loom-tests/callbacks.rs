//! Model 4: done callbacks added while the task completes.
//!
//! Proves: each callback runs exactly once, whether it was pushed before the
//! completer closed the list (the completer runs it) or found the task
//! finished (the adder runs it at once), and never both.
//!
//! Model 4b (`listeners_init`): two threads make a task's first
//! registrations at once (a blocking `result` and a done callback) while the
//! worker completes it. Proves: whichever thread creates the lazily
//! allocated listeners, the other's registration lands in the same ones, so
//! the waiter is woken and the callback runs exactly once. Bound: 3
//! preemptions (143,187 interleavings on 2026-12-07): a loser that published its
//! own listeners over the winner's (checked as a mutation) deadlocks the
//! model there and passes at 2.

use crate::{model, model_preempting, Tally};
use stealpool::ThreadPool;

#[test]
fn callbacks_race_completion() {
    model("callbacks", || {
        let pool = ThreadPool::new(1).unwrap();
        let h = pool.submit(|| 3u32).unwrap();
        let (a, b) = (Tally::default(), Tally::default());
        let (ta, tb) = (a.clone(), b.clone());
        h.add_done_callback(move |h| {
            assert!(h.done());
            ta.bump();
        });
        h.add_done_callback(move |_| tb.bump());
        assert_eq!(h.result().unwrap(), 3);
        // The completer may still be running callbacks after `result`
        // returns; joining the worker settles it.
        drop(pool);
        assert_eq!((a.get(), b.get()), (1, 1));
    });
}

#[test]
fn first_registrations_race() {
    model_preempting("listeners_init", 3, || {
        let pool = ThreadPool::new(1).unwrap();
        let h = pool.submit(|| 3u32).unwrap();
        let ran = Tally::default();
        let (r, other) = (ran.clone(), h.clone());
        let adder = loom::thread::spawn(move || other.add_done_callback(move |_| r.bump()));
        assert_eq!(h.result().unwrap(), 3);
        adder.join().unwrap();
        drop(pool);
        assert_eq!(ran.get(), 1);
    });
}

//! Model 5: a submission racing the last awake worker going to sleep.
//!
//! Proves: the submitted task always runs. The submitter pushes, fences and
//! reads the sleep word (side A); the sleeper registers in the word, fences
//! and re-checks the queues (side B). Whatever the interleaving, one side
//! sees the other: either the submitter sees a sleeper and wakes it, or the
//! sleeper sees the task. A lost wake-up leaves the task queued and the main
//! thread parked in `result()` forever: loom reports a deadlock.

use crate::model;
use stealpool::ThreadPool;

#[test]
fn outside_submit_races_sleeper() {
    model("sleep_wake", || {
        let pool = ThreadPool::new(1).unwrap();
        let h = pool.submit(|| 5u32).unwrap();
        assert_eq!(h.result().unwrap(), 5);
        // A second submission, after the worker has had a chance to go back
        // to sleep having run the first.
        let h = pool.submit(|| 6u32).unwrap();
        assert_eq!(h.result().unwrap(), 6);
        drop(pool);
    });
}

#[test]
fn inside_submit_races_other_sleeper() {
    // Two workers: a task submits a child to its own deque and returns
    // without waiting; the child must run (on either worker) although the
    // other worker may be going to sleep as it is pushed.
    model("sleep_wake_inside", || {
        let pool = ThreadPool::new(2).unwrap();
        let outer = pool
            .submit(|| {
                let pool = ThreadPool::current().unwrap();
                pool.submit(|| 9u32).unwrap()
            })
            .unwrap();
        let child = outer.result().unwrap();
        assert_eq!(child.result().unwrap(), 9);
        drop(pool);
    });
}

#[test]
fn two_outside_submits_race_sleeper() {
    // Two submissions back to back while the only worker goes to sleep: a
    // sleeper whose re-check finds the first task must leave the idle list
    // counted as searching, or the second submitter (seeing no searcher and
    // nobody asleep) wakes nobody and the second task is stranded.
    model("sleep_wake_two", || {
        let pool = ThreadPool::new(1).unwrap();
        let a = pool.submit(|| 1u32).unwrap();
        let b = pool.submit(|| 2u32).unwrap();
        assert_eq!(b.result().unwrap() + a.result().unwrap(), 3);
        drop(pool);
    });
}

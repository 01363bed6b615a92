//! Model 10: `wait_idle` racing the last worker going idle.
//!
//! Proves: a thread in `wait_idle` returns, and only once the task submitted
//! before it has run; the worker that makes every worker idle either sees
//! the waiter's flag in its own RMW and wakes it, or the waiter's read after
//! its registration sees every worker idle. With the waiter's read after
//! registering removed (it parks at once; tried as a mutation), loom
//! reports a deadlock.

use crate::{model, Tally};
use stealpool::ThreadPool;

#[test]
fn wait_idle_races_the_worker_going_idle() {
    model("wait_idle", || {
        let pool = ThreadPool::new(1).unwrap();
        let ran = Tally::default();
        let r = ran.clone();
        drop(pool.submit(move || r.bump()).unwrap());
        pool.wait_idle().unwrap();
        assert_eq!(ran.get(), 1, "wait_idle returned before the task ran");
    });
}

//! Model 2: a task completing while a thread outside the pool goes to sleep
//! in `result()`.
//!
//! Proves: the waiter always wakes with the value. The waiter registers in
//! the task's waiter list and sets WAITERS under the list's lock, then parks;
//! the completer's terminal transition either sees WAITERS (and drains and
//! unparks the list) or the waiter's registration sees the task finished. A
//! lost wake-up would leave the main thread parked forever, which loom
//! reports as a deadlock.

use crate::model;
use stealpool::ThreadPool;

#[test]
fn completion_races_blocking_waiter() {
    model("blocking_wait", || {
        let pool = ThreadPool::new(1).unwrap();
        let h = pool.submit(|| 11u32).unwrap();
        assert_eq!(h.result().unwrap(), 11);
        assert!(h.done());
        drop(pool);
    });
}

#[test]
fn timed_wait_then_result() {
    // A timed wait never times out under loom (it is a plain park there), so
    // this checks that a waiter which registered through the timed path and
    // then waits again is still woken exactly as the untimed one.
    model("blocking_wait_timed", || {
        let pool = ThreadPool::new(1).unwrap();
        let h = pool.submit(|| 12u32).unwrap();
        assert!(h.wait_timeout(std::time::Duration::from_secs(3600)));
        assert_eq!(h.result().unwrap(), 12);
        drop(pool);
    });
}

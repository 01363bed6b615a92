//! Model 12: a broadcast racing the other worker going to sleep.
//!
//! Proves: `broadcast` from outside the pool returns with every regular
//! worker's value, each copy run once, on its own worker. The carrier task
//! lands on one worker, which pushes a copy for the other and wakes it if
//! it is on the idle list, runs its own copy inline and waits; the other
//! worker may be anywhere between its last search and its park. Either the
//! broadcaster's `wake_worker` finds it on the idle list, or its
//! registration comes later under the same lock and its re-check
//! (`has_work`, which counts its own copies) sees the copy. A worker that
//! slept past its copy leaves the broadcaster and the main thread parked
//! forever: loom reports a deadlock.
//!
//! Runs at 2 preemptions whatever the environment says (672,813
//! interleavings, about 90 s on the shared 2-core machine): the two
//! mutations it was checked against, a `has_work` that does not count the
//! worker's own copies and a `wake_worker` that wakes nobody, each deadlock
//! there and pass at 1 (the other worker must be preempted between its last
//! search and its registration).

use crate::model_preempting;
use stealpool::{current_thread_index, ThreadPool};

#[test]
fn outside_broadcast_races_sleeper() {
    model_preempting("broadcast", 2, || {
        let pool = ThreadPool::new(2).unwrap();
        let values = pool.broadcast(current_thread_index).unwrap();
        assert_eq!(values, [Some(0), Some(1)]);
        drop(pool);
    });
}

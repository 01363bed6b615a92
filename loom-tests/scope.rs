//! Model 8: a scope's completion count, waited on from outside the pool.
//!
//! Proves: `scope` returns only after its task has finished, and what the
//! task wrote into the scope's borrowed data is visible when it returns.
//! The owner registers itself (writes its `Thread`, then sets WAITER in the
//! count's word) and parks; the task's last act is the decrement, one CAS
//! that reads WAITER and clones the `Thread` before it lands. Either that
//! CAS sees WAITER and unparks the owner, or the owner's registration sees
//! the count at zero and does not park. The task's handle is dropped first,
//! so the task also disposes of its value before the decrement.
//!
//! Mutation checked: the decrement as a load (to decide whether to wake)
//! followed by a separate `fetch_sub` lets the owner set WAITER in between
//! and park forever: loom reports a deadlock at 3 preemptions and misses it
//! at 2, so the model runs at 3 at least (1,396 interleavings).

use crate::model_preempting;
use loom::cell::UnsafeCell;
use stealpool::ThreadPool;

/// Borrowed data the task writes and the owner reads after `scope`.
struct Slot(UnsafeCell<u32>);

// SAFETY: the only accesses are the task's write and the owner's read after
// `scope` returned, ordered by the scope's count; that ordering is what the
// model checks (loom flags the accesses if it is missing).
unsafe impl Sync for Slot {}

#[test]
fn scope_waits_for_its_detached_task() {
    model_preempting("scope_count", 3, || {
        let pool = ThreadPool::new(1).unwrap();
        let slot = Slot(UnsafeCell::new(0));
        pool.scope(|s| {
            let slot = &slot;
            // SAFETY: the one write; see `Slot`.
            drop(s.submit(move || slot.0.with_mut(|p| unsafe { *p = 7 })));
        });
        // A read with no happens-before edge from the task's write would be
        // reported by loom as a data race.
        // SAFETY: after `scope`: see `Slot`.
        assert_eq!(slot.0.with(|p| unsafe { *p }), 7);
        drop(pool);
    });
}

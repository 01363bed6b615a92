//! Model 9: a continuation registered while its parent completes.
//!
//! Proves: registered from outside the pool on a parent the worker may be
//! finishing at that moment, the continuation runs exactly once, with the
//! parent's value, and its handle resolves. Either the registration's done
//! callback is in the parent's list before the completer closes it (the
//! completer delivers onto its own deque), or the registration finds the
//! parent finished and delivers through the injector, waking the worker
//! (submit's side A).
//!
//! Mutation checked: the delivery from outside the pool pushing to the
//! injector without announcing the work (`new_outside_work`) leaves the
//! only worker asleep beside it: loom reports a deadlock.

use crate::{model, Tally};
use stealpool::ThreadPool;

#[test]
fn continuation_registered_while_parent_completes() {
    model("then", || {
        let pool = ThreadPool::new(1).unwrap();
        let parent = pool.submit(|| 20u32).unwrap();
        let runs = Tally::default();
        let r = runs.clone();
        let child = parent.then(move |v| {
            r.bump();
            v.unwrap() + 1
        });
        assert_eq!(child.result().unwrap(), 21);
        drop(pool);
        assert_eq!(runs.get(), 1);
    });
}

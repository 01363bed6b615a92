//! Model 4: done callbacks added while the task completes.
//!
//! Proves: each callback runs exactly once, whether it was pushed before the
//! completer closed the list (the completer runs it) or found the task
//! finished (the adder runs it at once), and never both.

use crate::{model, Tally};
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

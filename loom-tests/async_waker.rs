//! Model 3: a task completing while async code polls its handle, first
//! with one waker and then with another.
//!
//! Proves: the latest registered waker is always woken (or the poll sees the
//! task finished and returns `Ready`). The second poll goes through loom's
//! `block_on`, whose waker unparks a loom thread: if completion woke only the
//! first, stale waker, the model deadlocks and loom says so.

use crate::{model, Tally};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use stealpool::ThreadPool;

/// A waker that only counts its wake-ups: the first, replaced waker.
struct Counting(Tally);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.bump();
    }
}

#[test]
fn completion_races_poll_and_waker_swap() {
    model("async_waker", || {
        let pool = ThreadPool::new(1).unwrap();
        let mut handle = pin!(pool.submit(|| 21u32).unwrap());
        let first = Tally::default();
        let waker = Waker::from(Arc::new(Counting(first.clone())));
        let value = match handle.as_mut().poll(&mut Context::from_waker(&waker)) {
            Poll::Ready(v) => v.unwrap(),
            // Poll again from a "different task": loom's executor, whose
            // waker replaces the first one.
            Poll::Pending => loom::future::block_on(handle.as_mut()).unwrap(),
        };
        assert_eq!(value, 21);
        drop(pool);
        // The replaced waker may or may not have been woken, but at most once.
        assert!(first.get() <= 1);
    });
}

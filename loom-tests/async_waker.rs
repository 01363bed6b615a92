//! Model 3: async code polling handles while the task completes.
//!
//! `completion_races_poll_and_waker_swap` proves: a handle polled first with
//! one waker and then with another (it moved to another task) wakes the
//! latest one, or the poll sees the task finished and returns `Ready`; the
//! earlier waker, registered while the task was pending, is woken exactly
//! once. The second poll goes through loom's `block_on`, whose waker unparks
//! a loom thread: if completion woke only the first waker, the model
//! deadlocks and loom says so.
//!
//! `two_clones_awaited_at_once` proves: two clones of one handle, awaited by
//! two threads at once, both finish, and exactly one gets the value. With a
//! single shared waker slot (the design before the waiter list held wakers)
//! the second registration replaced the first, and this model deadlocks.

use crate::{model, Tally};
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use stealpool::{TaskError, ThreadPool};

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
        let (value, first_registered) = match handle.as_mut().poll(&mut Context::from_waker(&waker))
        {
            Poll::Ready(v) => (v.unwrap(), false),
            // Poll again from a "different task": loom's executor, whose
            // waker joins the first one.
            Poll::Pending => (loom::future::block_on(handle.as_mut()).unwrap(), true),
        };
        assert_eq!(value, 21);
        // Dropping the pool joins the worker, so its notify has finished.
        drop(pool);
        let expected = usize::from(first_registered);
        assert_eq!(first.get(), expected, "a registered waker is woken once");
    });
}

#[test]
fn two_clones_awaited_at_once() {
    model("async_waker_clones", || {
        let pool = ThreadPool::new(1).unwrap();
        let handle = pool.submit(|| 7u32).unwrap();
        let clone = handle.clone();
        let other = loom::thread::spawn(move || loom::future::block_on(clone));
        let mine = loom::future::block_on(handle);
        let theirs = other.join().unwrap();
        let values = [&mine, &theirs]
            .iter()
            .filter(|r| matches!(r, Ok(7)))
            .count();
        assert_eq!(values, 1, "one value, one taker");
        let taken = [&mine, &theirs]
            .iter()
            .filter(|r| matches!(r, Err(TaskError::ResultTaken)))
            .count();
        assert_eq!(taken, 1, "the other clone finds it taken");
        drop(pool);
    });
}

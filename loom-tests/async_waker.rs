//! Model 3: async code polling handles while the task completes.
//!
//! `completion_races_poll_and_waker_swap` proves: a handle polled first with
//! one waker and then with another (it moved to another task) wakes the
//! latest one, or the poll sees the task finished and returns `Ready`. The
//! second poll goes through loom's `block_on`, whose waker unparks a loom
//! thread: if completion woke only the first waker, the model deadlocks and
//! loom says so. The re-poll replaces the waker in the clone's slot without
//! the waiter list's lock, so this is the model of that lock-free path:
//! with the re-check after the replacement removed (tried as a mutation),
//! loom reports the deadlock. The earlier waker is woken at most once (only
//! if completion came before the replacement), and released either way.
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

/// A waker that counts its wake-ups and its drop: the first, replaced
/// waker.
#[derive(Clone, Default)]
struct Counts {
    wakes: Tally,
    drops: Tally,
}

impl Counts {
    fn get(&self) -> usize {
        self.wakes.get()
    }

    fn drops(&self) -> usize {
        self.drops.get()
    }
}

struct Counting(Counts);

impl Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.wakes.bump();
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        self.0.drops.bump();
    }
}

#[test]
fn completion_races_poll_and_waker_swap() {
    model("async_waker", || {
        let pool = ThreadPool::new(1).unwrap();
        let mut handle = pin!(pool.submit(|| 21u32).unwrap());
        let first = Counts::default();
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
        assert!(
            first.get() <= usize::from(first_registered),
            "woken once at most"
        );
        drop(waker);
        assert_eq!(first.drops(), 1, "the replaced waker is released");
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

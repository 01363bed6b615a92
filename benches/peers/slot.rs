//! A one-shot result slot for pools whose spawn returns nothing (threadpool,
//! rayon's `spawn`): the task fills it, the submitter waits on it. The
//! waiter polls and yields before it parks with the same budget as
//! stealpool's outside wait (up to 20 µs, yielding every 64 polls, then
//! the 6-spin, 4-yield backoff), so neither side gets a head start.

use std::sync::atomic::AtomicU8;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::sync::{Arc, Mutex};
use std::thread::Thread;

const EMPTY: u8 = 0;
const PARKED: u8 = 1;
const FULL: u8 = 2;

struct Inner<T> {
    state: AtomicU8,
    value: Mutex<Option<T>>,
    waiter: Mutex<Option<Thread>>,
}

/// The task's end.
pub(crate) struct Filler<T>(Arc<Inner<T>>);

/// The submitter's end.
pub(crate) struct Waiter<T>(Arc<Inner<T>>);

pub(crate) fn new<T>() -> (Filler<T>, Waiter<T>) {
    let inner = Arc::new(Inner {
        state: AtomicU8::new(EMPTY),
        value: Mutex::new(None),
        waiter: Mutex::new(None),
    });
    (Filler(inner.clone()), Waiter(inner))
}

impl<T> Filler<T> {
    pub(crate) fn fill(self, value: T) {
        *self.0.value.lock().unwrap() = Some(value);
        // ORDERING: Release publishes the value; Acquire sees the parked
        // waiter's registration.
        if self.0.state.swap(FULL, AcqRel) == PARKED {
            if let Some(thread) = self.0.waiter.lock().unwrap().take() {
                thread.unpark();
            }
        }
    }
}

impl<T> Waiter<T> {
    pub(crate) fn wait(self) -> T {
        let inner = &*self.0;
        let full = || inner.state.load(Acquire) == FULL;
        let start = std::time::Instant::now();
        for poll in 0..1u32 << 12 {
            if full() {
                return inner.value.lock().unwrap().take().unwrap();
            }
            std::hint::spin_loop();
            if poll % 64 == 63 {
                if start.elapsed() >= std::time::Duration::from_micros(20) {
                    break;
                }
                std::thread::yield_now();
            }
        }
        // 6 spin steps doubling from 1, then 4 yields, then park.
        for step in 0..10u32 {
            if full() {
                return inner.value.lock().unwrap().take().unwrap();
            }
            if step < 6 {
                for _ in 0..1u32 << step {
                    std::hint::spin_loop();
                }
            } else {
                std::thread::yield_now();
            }
        }
        *inner.waiter.lock().unwrap() = Some(std::thread::current());
        if inner
            .state
            .compare_exchange(EMPTY, PARKED, AcqRel, Acquire)
            .is_ok()
        {
            while !full() {
                std::thread::park();
            }
        }
        inner.value.lock().unwrap().take().unwrap()
    }
}

impl<T> super::Join<T> for Waiter<T> {
    fn join(self) -> T {
        self.wait()
    }
}

//! The completion inbox behind `as_completed` and `wait`: one mailbox that
//! many tasks post their index to when they finish.
//!
//! A set of handles registers one inbox on every task (as an entry in the
//! task's waiter list, next to parked threads). The completer of a task
//! drains that list and posts the task's index here; the one thread
//! consuming the set parks on the inbox, not on any task. So the consumer
//! wakes once per completion, never polls, and can take back its
//! registrations (nothing is left behind on tasks it stops watching).
//!
//! No lost wake-up: a post and the consumer's check-then-register both run
//! under the inbox lock, so either the consumer sees the posted index or the
//! poster sees the registered thread and unparks it.

use crate::sync::{Mutex, Thread};
use std::collections::VecDeque;

/// Indices of finished tasks, in completion order, and who waits for them.
pub(crate) struct Inbox {
    inner: Mutex<Inner>,
}

struct Inner {
    finished: VecDeque<usize>,
    sleeper: Option<Thread>,
}

impl Inbox {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                finished: VecDeque::with_capacity(capacity),
                sleeper: None,
            }),
        }
    }

    /// Posts `index` as finished and wakes the consumer if it is parked.
    pub(crate) fn post(&self, index: usize) {
        let sleeper = {
            let mut inner = self.inner.lock();
            inner.finished.push_back(index);
            inner.sleeper.take()
        };
        if let Some(thread) = sleeper {
            thread.unpark();
        }
    }

    /// The oldest finished index not yet taken.
    pub(crate) fn pop(&self) -> Option<usize> {
        self.inner.lock().finished.pop_front()
    }

    /// True if an index is waiting to be taken.
    pub(crate) fn has_finished(&self) -> bool {
        !self.inner.lock().finished.is_empty()
    }

    /// Registers `thread` to be unparked by the next post. Returns false (and
    /// registers nothing) if an index is already waiting.
    pub(crate) fn add_sleeper(&self, thread: &Thread) -> bool {
        let mut inner = self.inner.lock();
        if !inner.finished.is_empty() {
            return false;
        }
        inner.sleeper = Some(thread.clone());
        true
    }

    /// Drops the registration, if no post has consumed it.
    pub(crate) fn remove_sleeper(&self) {
        self.inner.lock().sleeper = None;
    }
}

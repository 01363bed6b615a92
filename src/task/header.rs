//! The untyped part of a task: its state word and the ways a finished task
//! tells the world (blocking waiters, watching sets and async wakers in one
//! list, done callbacks), which live in [`LazyListeners`] until someone
//! registers.

use super::callbacks::Callback;
use super::future::AwaitSlot;
use super::inbox::Inbox;
use super::listeners::{LazyListeners, Waiter};
use super::state::{Snapshot, State, CALLBACKS, WAITERS};
use crate::error::PanicOrigin;
use crate::sync::{Arc, AtomicWaker, Thread};
use crate::unwind;

/// State word plus completion notification, shared by every task type.
pub(crate) struct Header {
    pub(crate) state: State,
    /// Created by the first registration, always before its flag is set: a
    /// completer that sees a flag in the state word finds them (the flag's
    /// RMW orders after the publishing CAS).
    listeners: LazyListeners,
    /// Identifies the pool the task was submitted to: a worker of that pool
    /// may run it inline while waiting for it.
    pub(crate) pool_id: usize,
}

impl Header {
    pub(crate) fn new(pool_id: usize) -> Self {
        Self {
            state: State::new(),
            listeners: LazyListeners::new(),
            pool_id,
        }
    }

    /// Tells everyone who registered before the terminal transition that
    /// returned `prev`. Called exactly once per task, by that transition's
    /// winner. Most tasks finish before anyone registers: that check
    /// inlines into the completion, the telling does not.
    #[inline]
    pub(crate) fn notify(&self, prev: Snapshot) {
        if prev.has(WAITERS) || prev.has(CALLBACKS) {
            self.notify_cold(prev);
        }
    }

    #[cold]
    fn notify_cold(&self, prev: Snapshot) {
        let Some(listeners) = self.listeners.get() else {
            unwind::invariant_broken("a notification flag without listeners");
        };
        if prev.has(WAITERS) {
            let waiters = std::mem::take(&mut *listeners.waiters.lock());
            // Each one alone: a waker's `wake` (or its drop) is user code,
            // and a panic there must not keep the rest untold.
            for waiter in waiters {
                unwind::contain(
                    self.pool(),
                    PanicOrigin::Waker,
                    "an async waker",
                    move || {
                        waiter.notify();
                    },
                );
            }
        }
        if prev.has(CALLBACKS) {
            for callback in listeners.callbacks.close() {
                unwind::contain(
                    self.pool(),
                    PanicOrigin::DoneCallback,
                    "a done callback",
                    callback,
                );
            }
        }
    }

    /// Registers `thread` to be unparked on completion. Returns false if the
    /// task had already finished (nothing was registered).
    pub(crate) fn add_waiter(&self, thread: &Thread) -> bool {
        self.push_waiter(|| Waiter::Thread(thread.clone()))
    }

    /// Removes `thread`'s registration, if the completer has not drained it.
    pub(crate) fn remove_waiter(&self, thread: &Thread) {
        self.remove_where(|w| matches!(w, Waiter::Thread(t) if t.id() == thread.id()));
    }

    /// Registers `inbox` to receive `index` on completion. Returns false if
    /// the task had already finished (nothing was registered).
    pub(crate) fn add_inbox(&self, inbox: &Arc<Inbox>, index: usize) -> bool {
        self.push_waiter(|| Waiter::Inbox(inbox.clone(), index))
    }

    /// Sets WAITERS and pushes `waiter()` in one critical section, so the
    /// completer's drain (under the same lock) either finds it or the
    /// register already saw the task finished. False if it had (and
    /// `waiter` is not called).
    fn push_waiter(&self, waiter: impl FnOnce() -> Waiter) -> bool {
        let mut waiters = self.listeners.get_or_init().waiters.lock();
        if self.state.register(WAITERS).is_finished() {
            return false;
        }
        waiters.push(waiter());
        true
    }

    /// The id of the pool the task belongs to (without the mark a
    /// continuation carries until it is queued, `task::then`).
    pub(crate) fn pool(&self) -> usize {
        super::then::pool_of(self.pool_id)
    }

    /// True while the task is pending in the pool `pool_id`: a worker of
    /// that pool may claim it and run it inline.
    pub(crate) fn is_pending_in(&self, pool_id: usize) -> bool {
        self.pool_id == pool_id && self.state.load().is_pending()
    }

    /// Removes `inbox`'s registration, if the completer has not drained it.
    pub(crate) fn remove_inbox(&self, inbox: &Arc<Inbox>) {
        self.remove_where(|w| matches!(w, Waiter::Inbox(i, _) if Arc::ptr_eq(i, inbox)));
    }

    fn remove_where(&self, is_it: impl Fn(&Waiter) -> bool) {
        let Some(listeners) = self.listeners.get() else {
            return;
        };
        let removed = {
            let mut waiters = listeners.waiters.lock();
            let found = waiters.iter().position(is_it);
            found.map(|i| waiters.swap_remove(i))
        };
        // Dropped after the lock is released: nothing user-defined runs
        // under it.
        drop(removed);
    }

    /// Registers an awaiting handle clone's waker slot, to be woken on
    /// completion. Returns false if the task had already finished (nothing
    /// was registered): the caller must not return `Pending`.
    ///
    /// One entry per awaiting clone: its re-polls replace the waker inside
    /// the slot, and dropping the clone removes the entry
    /// ([`remove_waker`](Self::remove_waker)), so a task awaited by many
    /// short-lived futures holds only the live ones' wakers.
    pub(crate) fn add_waker(&self, slot: &Arc<AtomicWaker>) -> bool {
        self.push_waiter(|| Waiter::Waker(slot.clone()))
    }

    /// Removes a clone's waker slot, if the completer has not drained it.
    pub(crate) fn remove_waker(&self, slot: &AwaitSlot) {
        self.remove_where(|w| matches!(w, Waiter::Waker(entry) if slot.is(entry)));
    }

    /// Adds a done callback, or runs it now on this thread if the task has
    /// already finished.
    pub(crate) fn add_callback(&self, callback: Callback) {
        let listeners = self.listeners.get_or_init();
        let callback = if self.state.register(CALLBACKS).is_finished() {
            Err(callback)
        } else {
            listeners.callbacks.push(callback)
        };
        if let Err(callback) = callback {
            unwind::contain(
                self.pool_id,
                PanicOrigin::DoneCallback,
                "a done callback",
                callback,
            );
        }
    }
}

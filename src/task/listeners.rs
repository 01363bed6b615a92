//! Who is told when a task finishes (parked threads, watching sets, async
//! wakers, done callbacks), kept in one allocation made on the first
//! registration.
//!
//! Most tasks finish before anyone registers (a waiter spins first, and a
//! collected result is usually already there), so a task carries one
//! pointer here instead of the lists themselves: with a word-sized closure
//! and result the whole task is a 64-byte malloc chunk instead of 112, which
//! is what a million queued tasks are made of.
//!
//! Access rules for the pointer (cited by the SAFETY comments below):
//! 1. It is null until a thread publishes a fully built `Listeners` with a
//!    successful CAS; after that it never changes while the task lives.
//! 2. A published `Listeners` is only read through shared references, and
//!    is freed only by `Drop`, which has `&mut self`: no reference handed
//!    out by [`LazyListeners::get_or_init`] or [`LazyListeners::get`] can
//!    outlive it, since both borrow `self`.
//! 3. A CAS loser still owns the `Listeners` it built (it was never
//!    published) and frees it.

use super::callbacks::CallbackList;
use super::inbox::Inbox;
use crate::sync::{Arc, AtomicPtr, AtomicWaker, Mutex, Thread};
use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire};

/// Someone told of completion through the waiter list.
pub(crate) enum Waiter {
    /// A thread parked in a blocking wait on this task alone.
    Thread(Thread),
    /// A set of handles (`as_completed`, `wait`) that knows this task as
    /// the given index.
    Inbox(Arc<Inbox>, usize),
    /// A handle clone that was polled while the task was pending: one
    /// entry per awaiting clone, whose waker its re-polls replace in place
    /// (without this list's lock) and whose drop removes the entry.
    Waker(Arc<AtomicWaker>),
}

impl Waiter {
    /// Tells this waiter that the task finished. A waker's `wake` is user
    /// code and may panic: the completer calls this under `unwind::contain`,
    /// so that one panicking waker cannot keep the others untold.
    pub(crate) fn notify(self) {
        match self {
            Self::Thread(thread) => thread.unpark(),
            Self::Inbox(inbox, index) => inbox.post(index),
            Self::Waker(slot) => slot.wake(),
        }
    }
}

/// The two ways a finished task tells the world.
pub(crate) struct Listeners {
    /// Parked threads, watching sets and async wakers; drained by the
    /// completer.
    pub(crate) waiters: Mutex<Vec<Waiter>>,
    pub(crate) callbacks: CallbackList,
}

/// A `Listeners` allocated on first use. See the access rules above.
pub(crate) struct LazyListeners {
    ptr: AtomicPtr<Listeners>,
}

impl LazyListeners {
    pub(crate) fn new() -> Self {
        Self {
            ptr: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// The listeners, if a registration has created them.
    pub(crate) fn get(&self) -> Option<&Listeners> {
        // ORDERING: Acquire pairs with the publishing CAS's Release, so the
        // `Listeners` it built is visible before it is read.
        let p = self.ptr.load(Acquire);
        // SAFETY: rules 1-2: a non-null pointer was published whole and stays
        // alive for as long as `self` is borrowed.
        unsafe { p.as_ref() }
    }

    /// The listeners, created now if no one has yet.
    pub(crate) fn get_or_init(&self) -> &Listeners {
        if let Some(listeners) = self.get() {
            return listeners;
        }
        self.init_cold()
    }

    #[cold]
    fn init_cold(&self) -> &Listeners {
        let fresh = Box::into_raw(Box::new(Listeners {
            waiters: Mutex::new(Vec::new()),
            callbacks: CallbackList::new(),
        }));
        // ORDERING: Release publishes the new `Listeners` to every Acquire
        // load in `get`; Acquire on failure makes the winner's visible.
        let p = match self
            .ptr
            .compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire)
        {
            Ok(_) => fresh,
            Err(winner) => {
                // SAFETY: rule 3: the CAS failed, so `fresh` (from
                // `Box::into_raw` above) was never published and is ours.
                drop(unsafe { Box::from_raw(fresh) });
                winner
            }
        };
        // SAFETY: rules 1-2: `p` is the published pointer (ours or the
        // winner's), alive while `self` is borrowed.
        unsafe { &*p }
    }
}

impl Drop for LazyListeners {
    fn drop(&mut self) {
        // ORDERING: `&mut self` already excludes other threads; a plain load
        // keeps one spelling for std and loom atomics.
        let p = self.ptr.load(Acquire);
        if !p.is_null() {
            // SAFETY: rule 2: `&mut self` means no reference into the
            // `Listeners` is left, and it came from `Box::into_raw`.
            drop(unsafe { Box::from_raw(p) });
        }
    }
}

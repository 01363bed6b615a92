//! The done-callback list: a lock-free stack that is closed exactly once.
//!
//! Access rules for the nodes (cited by the SAFETY comments below):
//! 1. A node is owned by the thread that allocated it until a successful CAS
//!    publishes it at `head`; until then only that thread touches it.
//! 2. Once published, a node is never written and never freed by anyone but
//!    the thread that swaps `head` to `CLOSED` (the task's completer), which
//!    then owns every node reachable from the old head.
//! 3. `Drop` has `&mut self`, so it owns whatever is still linked.

use crate::sync::AtomicPtr;
use std::ptr::{self, NonNull};
use std::sync::atomic::Ordering::{AcqRel, Acquire};

/// A type-erased done callback.
pub(crate) type Callback = Box<dyn FnOnce() + Send + 'static>;

struct Node {
    callback: Callback,
    next: *mut Node,
}

/// The stack of callbacks still to run when the task finishes.
pub(crate) struct CallbackList {
    /// Null when empty, `closed()` after [`close`](Self::close), else the newest node.
    head: AtomicPtr<Node>,
}

/// The sentinel for "closed": an aligned address no allocation can have.
fn closed() -> *mut Node {
    NonNull::dangling().as_ptr()
}

impl CallbackList {
    pub(crate) fn new() -> Self {
        Self {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Adds `callback`, or hands it back if the list is already closed (the
    /// caller then runs it itself).
    pub(crate) fn push(&self, callback: Callback) -> Result<(), Callback> {
        let node = Box::into_raw(Box::new(Node {
            callback,
            next: ptr::null_mut(),
        }));
        // ORDERING: Acquire so that a CLOSED seen here orders after the close.
        let mut head = self.head.load(Acquire);
        loop {
            if head == closed() {
                // SAFETY: rule 1: `node` came from `Box::into_raw` above and no
                // CAS published it, so this thread still owns it.
                let node = unsafe { Box::from_raw(node) };
                return Err(node.callback);
            }
            // SAFETY: rule 1: `node` is unpublished and ours alone.
            unsafe { (*node).next = head };
            // ORDERING: Release publishes the node's contents to the closer's
            // Acquire swap; Acquire on failure as for the load above.
            match self.head.compare_exchange_weak(head, node, AcqRel, Acquire) {
                Ok(_) => return Ok(()),
                Err(actual) => head = actual,
            }
        }
    }

    /// Closes the list and returns its callbacks oldest first. Called once,
    /// by the thread that made the task's terminal transition.
    pub(crate) fn close(&self) -> Vec<Callback> {
        // ORDERING: Acquire pairs with each push's Release (node contents);
        // Release orders the close before later pushers see CLOSED.
        let head = self.head.swap(closed(), AcqRel);
        debug_assert!(head != closed(), "callback list closed twice");
        let mut callbacks = Vec::new();
        let mut cur = head;
        while !cur.is_null() && cur != closed() {
            // SAFETY: rule 2: the swap unlinked every node reachable from
            // `head`, so this thread owns each one, and each was allocated by
            // `Box::into_raw` in `push`.
            let node = unsafe { Box::from_raw(cur) };
            cur = node.next;
            callbacks.push(node.callback);
        }
        callbacks.reverse();
        callbacks
    }
}

impl Drop for CallbackList {
    fn drop(&mut self) {
        // ORDERING: `&mut self` already excludes other threads; a plain load
        // keeps one spelling for std and loom atomics.
        let mut cur = self.head.load(Acquire);
        while !cur.is_null() && cur != closed() {
            // SAFETY: rule 3: `&mut self` means no other thread can reach the
            // list, and every linked node came from `Box::into_raw`.
            let node = unsafe { Box::from_raw(cur) };
            cur = node.next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::{Arc, AtomicUsize, Mutex};
    use std::sync::atomic::Ordering::SeqCst;

    #[test]
    fn runs_in_push_order_and_rejects_after_close() {
        let list = CallbackList::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        for i in 0..5 {
            let order = order.clone();
            assert!(list.push(Box::new(move || order.lock().push(i))).is_ok());
        }
        for cb in list.close() {
            cb();
        }
        assert_eq!(*order.lock(), vec![0, 1, 2, 3, 4]);
        assert!(list.push(Box::new(|| ())).is_err());
    }

    #[test]
    fn drop_frees_unrun_callbacks_once() {
        let drops = Arc::new(AtomicUsize::new(0));
        struct Count(Arc<AtomicUsize>);
        impl Drop for Count {
            fn drop(&mut self) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let list = CallbackList::new();
        for _ in 0..3 {
            let c = Count(drops.clone());
            assert!(list.push(Box::new(move || drop(c))).is_ok());
        }
        drop(list);
        assert_eq!(drops.load(SeqCst), 3);
    }
}

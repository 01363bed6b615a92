//! A narrow facade over `crossbeam-deque`: the only queue operations the pool
//! uses. Under `cfg(stealpool_loom)` the same API is backed by a loom
//! `Mutex<VecDeque>`, because crossbeam-deque's atomics are invisible to loom.
//! The models then check our protocol around the queues; crossbeam's own test
//! suite is the authority on the deque itself (DESIGN.md, "What loom does not
//! see").

pub(crate) use crossbeam_deque::Steal;

#[cfg(not(stealpool_loom))]
mod imp {
    use super::Steal;

    /// The owner's end of a worker's LIFO deque. Not `Sync`: only its worker
    /// thread pushes and pops.
    pub(crate) struct LocalQueue<T>(crossbeam_deque::Worker<T>);

    /// The end of a worker's deque that other threads steal from (FIFO).
    pub(crate) struct Stealer<T>(crossbeam_deque::Stealer<T>);

    /// The global FIFO queue for work submitted from outside the pool.
    pub(crate) struct Injector<T>(crossbeam_deque::Injector<T>);

    impl<T> LocalQueue<T> {
        pub(crate) fn new_lifo() -> (Self, Stealer<T>) {
            let w = crossbeam_deque::Worker::new_lifo();
            let s = w.stealer();
            (Self(w), Stealer(s))
        }

        #[inline]
        pub(crate) fn push(&self, task: T) {
            self.0.push(task);
        }

        #[inline]
        pub(crate) fn pop(&self) -> Option<T> {
            self.0.pop()
        }

        #[inline]
        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal(&self) -> Steal<T> {
            self.0.steal()
        }

        /// Moves about half of the victim's tasks into `dest` and returns one.
        pub(crate) fn steal_batch_and_pop(&self, dest: &LocalQueue<T>) -> Steal<T> {
            self.0.steal_batch_and_pop(&dest.0)
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Self {
            Self(crossbeam_deque::Injector::new())
        }

        #[inline]
        pub(crate) fn push(&self, task: T) {
            self.0.push(task);
        }

        pub(crate) fn steal(&self) -> Steal<T> {
            self.0.steal()
        }

        /// Moves a batch into `dest` and returns one task of it.
        pub(crate) fn steal_batch_and_pop(&self, dest: &LocalQueue<T>) -> Steal<T> {
            self.0.steal_batch_and_pop(&dest.0)
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }
    }
}

#[cfg(stealpool_loom)]
mod imp {
    use super::Steal;
    use crate::sync::{Arc, Mutex};
    use std::collections::VecDeque;

    type Shared<T> = Arc<Mutex<VecDeque<T>>>;

    pub(crate) struct LocalQueue<T>(Shared<T>);
    pub(crate) struct Stealer<T>(Shared<T>);
    pub(crate) struct Injector<T>(Mutex<VecDeque<T>>);

    impl<T> LocalQueue<T> {
        pub(crate) fn new_lifo() -> (Self, Stealer<T>) {
            let q = Arc::new(Mutex::new(VecDeque::new()));
            (Self(q.clone()), Stealer(q))
        }

        pub(crate) fn push(&self, task: T) {
            self.0.lock().push_back(task);
        }

        pub(crate) fn pop(&self) -> Option<T> {
            self.0.lock().pop_back()
        }

        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }

    fn steal_from<T>(q: &Mutex<VecDeque<T>>) -> Steal<T> {
        q.lock().pop_front().map_or(Steal::Empty, Steal::Success)
    }

    impl<T> Stealer<T> {
        pub(crate) fn steal(&self) -> Steal<T> {
            steal_from(&self.0)
        }

        /// Takes one task; batching adds nothing a model needs to explore.
        pub(crate) fn steal_batch_and_pop(&self, _dest: &LocalQueue<T>) -> Steal<T> {
            steal_from(&self.0)
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }

        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }

    impl<T> Injector<T> {
        pub(crate) fn new() -> Self {
            Self(Mutex::new(VecDeque::new()))
        }

        pub(crate) fn push(&self, task: T) {
            self.0.lock().push_back(task);
        }

        pub(crate) fn steal(&self) -> Steal<T> {
            steal_from(&self.0)
        }

        pub(crate) fn steal_batch_and_pop(&self, _dest: &LocalQueue<T>) -> Steal<T> {
            steal_from(&self.0)
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.lock().is_empty()
        }

        pub(crate) fn len(&self) -> usize {
            self.0.lock().len()
        }
    }
}

pub(crate) use imp::{Injector, LocalQueue, Stealer};

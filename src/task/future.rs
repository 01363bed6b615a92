//! `impl Future for TaskHandle`: await a task from async code.

use super::handle::TaskHandle;
use crate::error::TaskError;
use crate::sync::{Arc, AtomicWaker};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// Resolves to the task's outcome, like [`TaskHandle::result`], without
/// blocking the executor; dropping the future does not cancel the task.
/// Clones of a handle may be awaited by several tasks at once: each is
/// woken, and the first to be polled after completion gets the value (the
/// others [`TaskError::ResultTaken`]). Each awaiting clone keeps one waker,
/// the one of its latest poll: a handle moved to another task wakes only
/// that task, and a clone that is dropped takes its waker back from the
/// task at once.
///
/// Any executor will do; here tokio's, awaiting two tasks at once from one
/// runtime thread that never blocks on them:
///
/// ```
/// use stealpool::ThreadPool;
///
/// #[tokio::main(flavor = "current_thread")]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let pool = ThreadPool::new(2)?;
///     let sum = pool.submit(|| (1..=1000u64).sum::<u64>())?;
///     let loud = pool.submit(|| "hello".to_uppercase())?;
///     let (sum, loud) = tokio::join!(sum, loud);
///     assert_eq!(sum?, 500_500);
///     assert_eq!(loud?, "HELLO");
///     Ok(())
/// }
/// ```
impl<T: Send + 'static> Future for TaskHandle<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `TaskHandle` is `Unpin`: the pin guards nothing here.
        let this = self.get_mut();
        let header = this.task.header();
        if header.state.load().is_finished() {
            return Poll::Ready(this.take());
        }
        match &this.waker {
            // A re-poll: replace the waker in this clone's slot, lock-free,
            // then look again. The completer marks the task finished before
            // it wakes the slot, so either its wake finds the new waker or
            // this load sees the task finished.
            Some(slot) => {
                slot.register(cx.waker());
                if header.state.load().is_finished() {
                    return Poll::Ready(this.take());
                }
            }
            // The first pending poll of this clone: fill a slot, then put
            // it on the task's waiter list (which refuses it, under the
            // list's lock, if the task has finished meanwhile).
            None => {
                let slot = AwaitSlot::new();
                slot.register(cx.waker());
                if !header.add_waker(&slot.share()) {
                    return Poll::Ready(this.take());
                }
                this.waker = Some(slot);
            }
        }
        Poll::Pending
    }
}

/// One handle clone's registration as an awaiter: an `Arc<AtomicWaker>`
/// whose other reference is on the task's waiter list.
///
/// Held as a raw pointer rather than an `Arc`, so that a `TaskHandle`
/// contains no interior mutability that clippy's `mutable_key_type` can
/// see: handles are meant to be keys of a `HashSet`, as Python's futures
/// are, and the lint would fire in every user's code that does so. The slot
/// is not part of a handle's identity (`Eq`/`Hash` use the task).
///
/// Access rules (cited by the SAFETY comments below):
/// 1. The pointer comes from `Arc::into_raw` in [`new`](Self::new); this
///    value owns that one strong count and gives it back in `Drop`.
/// 2. While this value lives the count is at least one, so the `AtomicWaker`
///    is alive and may be borrowed for as long as `self` is.
pub(crate) struct AwaitSlot(NonNull<AtomicWaker>);

// SAFETY: the slot is an `Arc<AtomicWaker>` in disguise (rule 1), and
// `AtomicWaker` is `Send + Sync`: moving or sharing the pointer moves or
// shares an `Arc` of it.
unsafe impl Send for AwaitSlot {}
// SAFETY: as for `Send`: `&AwaitSlot` only hands out `&AtomicWaker`.
unsafe impl Sync for AwaitSlot {}

impl AwaitSlot {
    fn new() -> Self {
        let raw = Arc::into_raw(Arc::new(AtomicWaker::default())).cast_mut();
        // SAFETY: `Arc::into_raw` points at the `Arc`'s live value: never
        // null.
        Self(unsafe { NonNull::new_unchecked(raw) })
    }

    fn get(&self) -> &AtomicWaker {
        // SAFETY: rule 2: the count this value owns keeps the waker alive
        // while `self` is borrowed.
        unsafe { self.0.as_ref() }
    }

    /// Replaces the waker in the slot.
    fn register(&self, waker: &std::task::Waker) {
        self.get().register(waker);
    }

    /// Another strong reference, for the task's waiter list.
    fn share(&self) -> Arc<AtomicWaker> {
        let raw = self.0.as_ptr().cast_const();
        // SAFETY: rule 1: `raw` came from `Arc::into_raw` and (rule 2) its
        // count is at least one while `self` lives, so adding one is sound.
        unsafe { Arc::increment_strong_count(raw) };
        // SAFETY: the count just added is the one the new `Arc` owns.
        unsafe { Arc::from_raw(raw) }
    }

    /// True if `entry` is this slot's other reference.
    pub(crate) fn is(&self, entry: &Arc<AtomicWaker>) -> bool {
        std::ptr::eq(Arc::as_ptr(entry), self.0.as_ptr())
    }
}

impl Drop for AwaitSlot {
    fn drop(&mut self) {
        // SAFETY: rule 1: this value owns one strong count of the `Arc` the
        // pointer came from, given back exactly once, here.
        drop(unsafe { Arc::from_raw(self.0.as_ptr().cast_const()) });
    }
}

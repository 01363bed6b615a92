//! `impl Future for TaskHandle`: await a task from async code.

use super::handle::TaskHandle;
use crate::error::TaskError;
use crate::sync::{Arc, AtomicWaker};
use std::future::Future;
use std::pin::Pin;
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
                let slot = Arc::new(AtomicWaker::default());
                slot.register(cx.waker());
                if !header.add_waker(&slot) {
                    return Poll::Ready(this.take());
                }
                this.waker = Some(slot);
            }
        }
        Poll::Pending
    }
}

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
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Wake, Waker};
/// #     struct T(std::thread::Thread);
/// #     impl Wake for T { fn wake(self: std::sync::Arc<Self>) { self.0.unpark() } }
/// #     let waker = Waker::from(std::sync::Arc::new(T(std::thread::current())));
/// #     let mut cx = Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop { if let Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; } std::thread::park(); }
/// # }
/// let pool = stealpool::ThreadPool::new(2)?;
/// let handle = pool.submit(|| "hello").unwrap();
/// assert_eq!(block_on(async { handle.await })?, "hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
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

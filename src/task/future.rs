//! `impl Future for TaskHandle`: await a task from async code.

use super::handle::TaskHandle;
use crate::error::TaskError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Resolves to the task's outcome, like [`TaskHandle::result`], without
/// blocking the executor; dropping the future does not cancel the task.
/// Clones of a handle may be awaited by several tasks at once: each is
/// woken, and the first to be polled after completion gets the value (the
/// others [`TaskError::ResultTaken`]). A handle moved to another task while
/// pending is fine too; the task it left gets one spurious wake-up.
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
        let header = self.task.header();
        if !header.state.load().is_finished() && header.register_waker(cx.waker()) {
            return Poll::Pending;
        }
        Poll::Ready(self.take())
    }
}

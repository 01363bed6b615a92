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
        let header = self.task.header();
        if !header.state.load().is_finished() && header.register_waker(cx.waker()) {
            return Poll::Pending;
        }
        Poll::Ready(self.take())
    }
}

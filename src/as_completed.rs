//! `as_completed`: handles in the order their tasks finish.

use crate::error::{TaskError, TimeoutError};
use crate::sync::Instant;
use crate::task::handle::{IntoTaskHandle, TaskHandle};
use crate::task::watch::{TimedOut, WatchSet};
use std::fmt;
use std::iter::FusedIterator;
use std::time::Duration;

/// Yields `handles` as their tasks finish (done, panicked or cancelled),
/// those already finished first, so `result()` on each returns at once.
///
/// It never polls: the caller sleeps until the next completion (on a pool
/// worker it runs other work meanwhile, the awaited tasks first). The
/// iterator knows how many remain, which makes a progress line natural.
/// An empty input yields nothing. The handles are taken as a set, as in
/// Python: clones of one task (equal handles) are yielded once, and count
/// once in [`total`](AsCompleted::total) and
/// [`remaining`](AsCompleted::remaining).
///
/// ```
/// let pool = stealpool::ThreadPool::new(2)?;
/// let handles: Vec<_> = (1..=3u64).map(|i| pool.submit(move || i * 10).unwrap()).collect();
/// let mut done = stealpool::as_completed(handles);
/// let total = done.total();
/// let mut sum = 0;
/// while let Some(h) = done.next() {
///     sum += h.result()?;
///     println!("[{}/{total}] done", total - done.remaining());
/// }
/// assert_eq!(sum, 60);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn as_completed<I>(handles: I) -> AsCompleted<<I::Item as IntoTaskHandle>::Output>
where
    I: IntoIterator,
    I::Item: IntoTaskHandle,
{
    let set = WatchSet::new(handles.into_iter().map(IntoTaskHandle::into_task_handle));
    AsCompleted {
        total: set.remaining(),
        set,
    }
}

/// Like [`as_completed`], but gives up `timeout` after the call: the item
/// after the last handle to finish in time is an `Err` holding the handles
/// still pending (its message says how many of how many), and the iterator
/// then ends. A zero timeout yields what has
/// already finished; a timeout too large to represent waits forever.
///
/// The deadline counts from this call, for the whole iteration (Python's
/// `as_completed(fs, timeout)`); [`AsCompleted::next_timeout`] instead
/// bounds each wait on its own.
///
/// ```
/// use std::time::Duration;
/// use stealpool::{as_completed_timeout, ThreadPool};
/// let pool = ThreadPool::new(2)?;
/// let (tx, rx) = std::sync::mpsc::channel::<u32>();
/// let stuck = pool.submit(move || rx.recv().unwrap_or(0))?; // until told
/// let quick = pool.submit(|| 7)?;
/// quick.wait(); // already finished: yielded first, whatever the deadline
/// let mut done = Vec::new();
/// for item in as_completed_timeout([stuck, quick], Duration::from_millis(50)) {
///     match item {
///         Ok(handle) => done.push(handle.result()?),
///         Err(timeout) => {
///             // "timed out with 1 of 2 task(s) still pending"
///             assert_eq!(timeout.pending().len(), 1);
///             tx.send(1)?; // let it finish, then collect it
///             for handle in timeout.into_pending() {
///                 done.push(handle.result()?);
///             }
///         }
///     }
/// }
/// assert_eq!(done, [7, 1]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn as_completed_timeout<I>(
    handles: I,
    timeout: Duration,
) -> AsCompletedTimeout<<I::Item as IntoTaskHandle>::Output>
where
    I: IntoIterator,
    I::Item: IntoTaskHandle,
{
    AsCompletedTimeout {
        deadline: Instant::now().checked_add(timeout),
        inner: Some(as_completed(handles)),
    }
}

/// The iterator of [`as_completed`].
pub struct AsCompleted<T: Send + 'static> {
    set: WatchSet<T>,
    total: usize,
}

impl<T: Send + 'static> AsCompleted<T> {
    /// How many distinct tasks it was given (clones of one count once).
    pub fn total(&self) -> usize {
        self.total
    }

    /// How many of them it has not yielded yet.
    pub fn remaining(&self) -> usize {
        self.set.remaining()
    }

    /// The next handle to finish, waiting at most `timeout` for it (each
    /// call has its own timeout); `Ok(None)` once every handle was yielded.
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = stealpool::ThreadPool::new(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<u32>();
    /// let stuck = pool.submit(move || rx.recv().unwrap_or(0))?; // until told
    /// let mut it = stealpool::as_completed([stuck]);
    /// let err = it.next_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert!(err.is_timeout());
    /// assert_eq!(it.remaining(), 1); // still watched
    /// tx.send(3)?;
    /// let handle = it.next_timeout(Duration::from_secs(60))?.expect("one left");
    /// assert_eq!(handle.result()?, 3);
    /// assert!(it.next_timeout(Duration::ZERO)?.is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`TaskError::Timeout`] if no handle finished within `timeout`.
    /// Nothing is lost: call it again, iterate on, or take the rest with
    /// [`into_pending`](Self::into_pending). It returns no other error: a
    /// task's own failure is in the handle it yields.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<TaskHandle<T>>, TaskError> {
        let deadline = Instant::now().checked_add(timeout);
        self.next_until(deadline)
            .map_err(|TimedOut| TaskError::Timeout)
    }

    /// Stops watching and gives back the handles not yet yielded, in input
    /// order.
    pub fn into_pending(mut self) -> Vec<TaskHandle<T>> {
        self.set.take_pending()
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Result<Option<TaskHandle<T>>, TimedOut> {
        let next = self.set.next_finished(deadline)?;
        Ok(next.map(|(_, handle)| handle))
    }
}

impl<T: Send + 'static> Iterator for AsCompleted<T> {
    type Item = TaskHandle<T>;

    fn next(&mut self) -> Option<TaskHandle<T>> {
        // Without a deadline the wait only returns once a task finished.
        self.next_until(None).ok().flatten()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining(), Some(self.remaining()))
    }
}

impl<T: Send + 'static> ExactSizeIterator for AsCompleted<T> {}

impl<T: Send + 'static> FusedIterator for AsCompleted<T> {}

impl<T: Send + 'static> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("total", &self.total)
            .field("remaining", &self.remaining())
            .finish()
    }
}

/// The iterator of [`as_completed_timeout`].
pub struct AsCompletedTimeout<T: Send + 'static> {
    /// `None` once the timeout has been reported.
    inner: Option<AsCompleted<T>>,
    deadline: Option<Instant>,
}

impl<T: Send + 'static> AsCompletedTimeout<T> {
    /// How many distinct tasks it was given (clones of one count once);
    /// 0 once the timeout was reported.
    pub fn total(&self) -> usize {
        self.inner.as_ref().map_or(0, AsCompleted::total)
    }

    /// How many it has not yielded yet (0 once the timeout was reported).
    pub fn remaining(&self) -> usize {
        self.inner.as_ref().map_or(0, AsCompleted::remaining)
    }
}

impl<T: Send + 'static> Iterator for AsCompletedTimeout<T> {
    type Item = Result<TaskHandle<T>, TimeoutError<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        let inner = self.inner.as_mut()?;
        match inner.next_until(self.deadline) {
            Ok(next) => next.map(Ok),
            Err(TimedOut) => {
                let inner = self.inner.take()?;
                let total = inner.total();
                Some(Err(TimeoutError::new(inner.into_pending(), total)))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        // Every pending handle, or one timeout error for all of them.
        let n = self.remaining();
        (n.min(1), Some(n))
    }
}

impl<T: Send + 'static> FusedIterator for AsCompletedTimeout<T> {}

impl<T: Send + 'static> fmt::Debug for AsCompletedTimeout<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompletedTimeout")
            .field("remaining", &self.remaining())
            .finish()
    }
}

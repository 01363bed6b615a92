//! `wait`: split handles into finished and unfinished, like Python's
//! `concurrent.futures.wait`.

use crate::sync::Instant;
use crate::task::handle::{IntoTaskHandle, TaskHandle};
use crate::task::watch::WatchSet;
use std::fmt;
use std::time::Duration;

/// When [`wait`] returns: Python's `return_when` constants.
///
/// `#[non_exhaustive]`: a later version may add a condition (a first
/// success, say), so a `match` on it outside this crate needs a `_` arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReturnWhen {
    /// As soon as any task has finished (done, panicked or cancelled).
    ///
    /// ```
    /// use stealpool::{wait, ReturnWhen};
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<u32>();
    /// let slow = pool.submit(move || rx.recv().unwrap_or(0))?; // until told
    /// let fast = pool.submit(|| 1)?;
    /// let w = wait([slow.clone(), fast.clone()], ReturnWhen::FirstCompleted, None);
    /// assert_eq!((w.done, w.not_done), (vec![fast], vec![slow.clone()]));
    /// tx.send(2)?;
    /// assert_eq!(slow.result()?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    FirstCompleted,
    /// As soon as any task has failed (see [`TaskHandle::failed`]: it
    /// panicked, or returned `Err` after
    /// [`submit_fallible`](crate::ThreadPool::submit_fallible)); with no
    /// failure, when all have finished. A cancelled task is finished, not
    /// failed, as in Python.
    ///
    /// ```
    /// use stealpool::{wait, ReturnWhen};
    /// let pool = stealpool::ThreadPool::new(3)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let slow = pool.submit_fallible(move || rx.recv().map(|()| 1).map_err(|e| e.to_string()))?;
    /// let ok = pool.submit_fallible(|| Ok(2))?;
    /// let bad = pool.submit_fallible(|| "x".parse::<u32>().map_err(|e| e.to_string()))?;
    /// // Returns at the failure, while `slow` still waits to be told.
    /// let w = wait([slow.clone(), ok, bad.clone()], ReturnWhen::FirstError, None);
    /// assert!(w.done.contains(&bad) && w.not_done.contains(&slow));
    /// assert!(bad.failed());
    /// tx.send(())?;
    /// assert_eq!(slow.result()?, Ok(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    FirstError,
    /// When every task has finished.
    ///
    /// ```
    /// use stealpool::{wait, ReturnWhen};
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let handles: Vec<_> = (1..=4u32).map(|i| pool.submit(move || i)).collect::<Result<_, _>>()?;
    /// let w = wait(handles, ReturnWhen::AllCompleted, None);
    /// assert!(w.not_done.is_empty());
    /// let sum: u32 = w.done.iter().map(|h| h.result()).sum::<Result<_, _>>()?;
    /// assert_eq!(sum, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    AllCompleted,
}

/// What [`wait`] returns: the handles split by whether their task had
/// finished, each part in input order, each task once.
///
/// `#[non_exhaustive]`, so a later version may add a field: read the fields
/// (or destructure with `..`) rather than build it.
#[non_exhaustive]
pub struct Waited<T> {
    /// Finished: `result()` on these returns at once.
    pub done: Vec<TaskHandle<T>>,
    /// Still pending or running.
    pub not_done: Vec<TaskHandle<T>>,
}

impl<T> fmt::Debug for Waited<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waited")
            .field("done", &self.done.len())
            .field("not_done", &self.not_done.len())
            .finish()
    }
}

/// Waits until `return_when` holds for `handles` or `timeout` passes, and
/// returns them split into `done` and `not_done`.
///
/// `None` waits as long as it takes; a zero timeout only looks; a timeout
/// too large to represent waits forever. On a pool worker it runs the
/// awaited tasks, then other work, while it waits. An empty input returns at
/// once with both parts empty.
///
/// The handles are taken as a set, as in Python: clones of one task (equal
/// handles) are one entry, placed where its first handle was, so
/// `done.len() + not_done.len()` counts distinct tasks.
///
/// ```
/// use stealpool::{wait, ReturnWhen};
/// let pool = stealpool::ThreadPool::new(2)?;
/// let ok = pool.submit_fallible(|| Ok::<u32, String>(1)).unwrap();
/// let bad = pool.submit_fallible(|| Err::<u32, _>("bad input".to_string())).unwrap();
/// let w = wait([ok, bad], ReturnWhen::FirstError, None);
/// assert!(w.done.iter().any(|h| h.failed()));
/// # Ok::<(), stealpool::BuildError>(())
/// ```
pub fn wait<I>(
    handles: I,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
) -> Waited<<I::Item as IntoTaskHandle>::Output>
where
    I: IntoIterator,
    I::Item: IntoTaskHandle,
{
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let mut set = WatchSet::new(handles.into_iter().map(IntoTaskHandle::into_task_handle));
    let mut done = Vec::new();
    while let Ok(Some((index, handle))) = set.next_finished(deadline) {
        let stop = match return_when {
            ReturnWhen::FirstCompleted => true,
            ReturnWhen::FirstError => handle.failed(),
            ReturnWhen::AllCompleted => false,
        };
        done.push((index, handle));
        if stop {
            // Whatever else has finished by now is done too.
            done.extend(set.drain_finished());
            break;
        }
    }
    done.sort_unstable_by_key(|(index, _)| *index);
    Waited {
        done: done.into_iter().map(|(_, handle)| handle).collect(),
        not_done: set.take_pending(),
    }
}

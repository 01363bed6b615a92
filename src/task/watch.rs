//! A set of handles watched through one [`Inbox`]: the engine shared by
//! `as_completed` and `wait`.
//!
//! The set holds each task once: clones of one handle (equal by
//! [`TaskHandle`]'s identity) are kept at the first one's place, as
//! Python's `wait` and `as_completed` treat their futures as a set.
//! Every watched task knows the set's inbox and its own index; finishing
//! posts the index. Taking the next finished handle pops the inbox, and
//! waits (through the one wait core, so a worker helps meanwhile) only when
//! it is empty. Dropping the set takes its registrations back from the
//! tasks it still holds.

use super::handle::TaskHandle;
use super::inbox::Inbox;
use super::wait::{self, Awaited};
use super::RawTask;
use crate::sync::{Arc, Instant, Thread};
use std::cell::Cell;
use std::collections::HashSet;

/// The deadline passed before another task finished.
pub(crate) struct TimedOut;

pub(crate) struct WatchSet<T: Send + 'static> {
    /// `None` once handed out.
    slots: Vec<Option<TaskHandle<T>>>,
    inbox: Arc<Inbox>,
    remaining: usize,
    /// (pool, index): no slot before `index` holds a task still pending in
    /// `pool`. A task never returns to pending, so the scan only moves on.
    pending_scan: Cell<(usize, usize)>,
}

impl<T: Send + 'static> WatchSet<T> {
    pub(crate) fn new(handles: impl IntoIterator<Item = TaskHandle<T>>) -> Self {
        let handles = distinct(handles);
        let inbox = Arc::new(Inbox::new(handles.len()));
        for (index, handle) in handles.iter().enumerate() {
            if !handle.header().add_inbox(&inbox, index) {
                // Already finished: it comes out first, in input order.
                inbox.post(index);
            }
        }
        let slots: Vec<_> = handles.into_iter().map(Some).collect();
        Self {
            remaining: slots.len(),
            slots,
            inbox,
            pending_scan: Cell::new((usize::MAX, 0)),
        }
    }

    /// Handles not yet handed out.
    pub(crate) fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next handle to finish, with its input index: `Ok(None)` once all
    /// have been handed out, `Err` if `deadline` passed first.
    pub(crate) fn next_finished(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Option<(usize, TaskHandle<T>)>, TimedOut> {
        if self.remaining == 0 {
            return Ok(None);
        }
        loop {
            if let Some(index) = self.inbox.pop() {
                let Some(handle) = self.slots[index].take() else {
                    crate::unwind::invariant_broken("a watched index was posted twice");
                };
                self.remaining -= 1;
                return Ok(Some((index, handle)));
            }
            if !wait::wait_until(self, deadline) {
                return Err(TimedOut);
            }
        }
    }

    /// Every handle already posted as finished, without waiting.
    pub(crate) fn drain_finished(&mut self) -> Vec<(usize, TaskHandle<T>)> {
        let mut finished = Vec::new();
        while let Some(index) = self.inbox.pop() {
            if let Some(handle) = self.slots[index].take() {
                self.remaining -= 1;
                finished.push((index, handle));
            }
        }
        finished
    }

    /// Gives back every handle not yet handed out, in input order, and stops
    /// watching them.
    pub(crate) fn take_pending(&mut self) -> Vec<TaskHandle<T>> {
        self.remaining = 0;
        let inbox = &self.inbox;
        self.slots
            .iter_mut()
            .filter_map(Option::take)
            .inspect(|h| h.header().remove_inbox(inbox))
            .collect()
    }
}

/// `handles` in order, each task once (at its first handle's place).
fn distinct<T: Send + 'static>(
    handles: impl IntoIterator<Item = TaskHandle<T>>,
) -> Vec<TaskHandle<T>> {
    let mut handles: Vec<_> = handles.into_iter().collect();
    if handles.len() > 1 {
        // Keyed by the task's header, which lives in the task allocation:
        // one address per task, no reference count touched.
        let mut seen = HashSet::with_capacity(handles.len());
        handles.retain(|h| seen.insert(std::ptr::from_ref(h.header())));
    }
    handles
}

impl<T: Send + 'static> Awaited for WatchSet<T> {
    fn is_ready(&self) -> bool {
        self.inbox.has_finished()
    }

    fn pending_task(&self, pool_id: usize) -> Option<&dyn RawTask> {
        let (pool, mut index) = self.pending_scan.get();
        if pool != pool_id {
            index = 0;
        }
        let found = self.slots[index.min(self.slots.len())..]
            .iter()
            .position(|slot| {
                slot.as_ref()
                    .is_some_and(|h| h.header().is_pending_in(pool_id))
            });
        let next = found.map_or(self.slots.len(), |offset| index + offset);
        self.pending_scan.set((pool_id, next));
        let handle = self.slots.get(next)?.as_ref()?;
        Some(handle.raw())
    }

    fn add_waiter(&self, thread: &Thread) -> bool {
        self.inbox.add_sleeper(thread)
    }

    fn remove_waiter(&self, _thread: &Thread) {
        self.inbox.remove_sleeper();
    }
}

impl<T: Send + 'static> Drop for WatchSet<T> {
    fn drop(&mut self) {
        for handle in self.slots.iter().flatten() {
            handle.header().remove_inbox(&self.inbox);
        }
    }
}

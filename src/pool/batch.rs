//! `ThreadPool::submit_all`: many tasks submitted as one batch.
//!
//! From outside the pool, a batch enters the global queue as a single
//! entry, a [`Batch`], behind one fence and at most one wake-up. The worker
//! that claims it moves the members into the global queue (where every
//! worker takes them as if each had been submitted alone) and wakes one
//! helper. So the submitting thread, which bounds how fast tiny tasks can
//! be fed in, only allocates the tasks; the queue pushes run on a worker.
//! The batch is accepted or refused whole: a shutdown that races it either
//! finds its entry unclaimed, and the submitter takes every closure back,
//! or finds it claimed, and every member runs. DESIGN.md, "Batches", has
//! the long story.
//!
//! The members wait in the batch's slot until then. Access rules for it
//! (each SAFETY comment cites one):
//! 1. The constructor fills it. Afterwards only the thread whose CAS moved
//!    the batch's state out of PENDING (claim: the worker that runs,
//!    abandons or cancels the entry; cancel: the submitter taking it back)
//!    touches it, once, to move the members out. The CAS makes that thread
//!    unique.
//! 2. `Drop` has `&mut self`: members no transition took (none, in
//!    practice: an entry is always run, abandoned or cancelled) are
//!    dropped there.

use super::ThreadPool;
use crate::error::SubmitError;
use crate::shared::Shared;
use crate::stats::Counters;
use crate::sync::{Arc, TaskArc, UnsafeCell};
use crate::task::cell::{Plain, TaskCell};
use crate::task::handle::TaskHandle;
use crate::task::{CancelOutcome, Header, Job, RawTask, Runner};
use crate::{unwind, worker};

/// One task of a batch, typed, so that a refused batch can hand its
/// closure back.
type Member<F, T> = TaskArc<TaskCell<F, T, Plain>>;

impl ThreadPool {
    /// Submits every closure of `tasks` as one batch and returns their
    /// handles in the same order: the fast way to feed many small tasks.
    ///
    /// From outside the pool the whole batch is one entry in the global
    /// queue, pushed behind one fence with at most one wake-up; the worker
    /// that takes it hands the members out to the queue, from where every
    /// worker takes them as if each had been [`submit`](Self::submit)ted
    /// alone (in order, each run, cancelled or waited on by itself). So
    /// the calling thread does little more than allocate the tasks. From
    /// one of the pool's own workers the members go to its own deque, as
    /// `submit` does there, and are accepted even after shutdown.
    ///
    /// The batch is accepted or refused whole: either every closure
    /// becomes a task, or none does and all come back, in order, in the
    /// error. A shutdown racing the call decides the same way as for
    /// `submit`: if no worker has claimed the batch yet, the call takes
    /// every closure back; if one has, every member runs. No closure is
    /// ever lost or run twice. An empty batch is accepted (`Ok` with no
    /// handles) while the pool accepts work.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let handles = pool.submit_all((0..1000u64).map(|i| move || i * i))?;
    /// let total: u64 = handles.iter().map(|h| h.result()).sum::<Result<_, _>>()?;
    /// assert_eq!(total, 332_833_500);
    ///
    /// // Refused whole after a shutdown, every closure handed back in order.
    /// pool.shutdown();
    /// let refused = pool.submit_all((0..3u64).map(|i| move || i + 10)).unwrap_err();
    /// assert!(refused.is_shutdown());
    /// let back: Vec<u64> = refused.into_inner().into_iter().map(|f| f()).collect();
    /// assert_eq!(back, [10, 11, 12]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`submit`](Self::submit), with every closure of the batch handed
    /// back in a `Vec`, in input order: [`SubmitError::Shutdown`] after
    /// [`shutdown`](Self::shutdown) (from outside the pool),
    /// [`SubmitError::Broken`] if a worker initializer panicked. `?` turns
    /// it into a [`TaskError`](crate::TaskError), dropping the closures.
    pub fn submit_all<I, F, T>(&self, tasks: I) -> Result<Vec<TaskHandle<T>>, SubmitError<Vec<F>>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let shared = &self.shared;
        let flags = shared.sleep.flags();
        let inside = worker::with_worker(|w| w.pool_id() == shared.id()).unwrap_or(false);
        if flags.broken() {
            return Err(SubmitError::Broken(tasks.into_iter().collect()));
        }
        if !inside && flags.shutdown() {
            return Err(SubmitError::Shutdown(tasks.into_iter().collect()));
        }
        let tasks = tasks.into_iter();
        let mut handles = Vec::with_capacity(tasks.size_hint().0);
        let mut members: Vec<Member<F, T>> = Vec::with_capacity(tasks.size_hint().0);
        for f in tasks {
            let cell = TaskArc::new(TaskCell::new(f, shared.id()));
            shared.mark_if_late(cell.state());
            handles.push(TaskHandle::new(cell.clone()));
            members.push(cell);
        }
        if members.is_empty() {
            return Ok(handles);
        }
        if inside {
            // `inside` was just seen on this thread, so the members run (if
            // they could not, dropping their jobs would resolve them
            // abandoned).
            let _ = worker::with_worker(move |ctx| {
                for member in members {
                    ctx.push_local(Job::new(member));
                }
            });
            return Ok(handles);
        }
        let len = members.len();
        let batch = TaskArc::new(Batch {
            header: Header::new(shared.id()),
            len,
            shared: shared.clone(),
            members: UnsafeCell::new(members),
        });
        let flags = shared.push_outside(Job::new(batch.clone()), len);
        if flags.shutdown() {
            // Raced with shutdown: take the batch back whole if no worker
            // has claimed it; if one has, it was accepted and runs.
            if let Some(closures) = batch.retract() {
                return Err(super::refusal(flags, closures));
            }
        }
        Ok(handles)
    }
}

/// The queue entry of a batch submitted from outside the pool: a task of
/// the pool's own, never seen by hooks or statistics, whose run moves its
/// members into the global queue. See the access rules in the module docs.
/// `repr(C)` with the header first, as `RawTask` requires.
#[repr(C)]
struct Batch<F, T> {
    header: Header,
    /// How many members the batch was built with.
    len: usize,
    /// The pool, for its queue and its counters. A batch never outlives
    /// its place in the queue by much: termination waits for the queues to
    /// drain, so this reference cannot keep a finished pool alive.
    shared: Arc<Shared>,
    members: UnsafeCell<Vec<Member<F, T>>>,
}

// SAFETY: rule 1 of the module docs gives the members one accessing thread,
// handed over by the state word's AcqRel CAS; the members are `Send` and
// `Sync` (`TaskCell` is, for `Send` closures and values).
unsafe impl<F: Send, T: Send> Sync for Batch<F, T> {}

impl<F, T> Batch<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    /// Moves the members out. Only the winner of the PENDING transition
    /// may call this, once (rule 1).
    fn take_members(&self) -> Vec<Member<F, T>> {
        // SAFETY: rule 1: every caller has just won claim or cancel, the
        // only ways out of PENDING, so no other thread touches the slot.
        self.members
            .with_mut(|members| unsafe { std::mem::take(&mut *members) })
    }

    /// RUNNING -> DONE once the members are handed on. Nobody waits on a
    /// batch; the notification is for form.
    fn finish(&self) {
        let prev = self.header.state.complete(false);
        self.header.notify(prev);
    }

    /// The submitter's rollback when its push raced shutdown: if no worker
    /// has claimed the batch, cancels it and gives every closure back, in
    /// order. `None` if a worker claimed it (the batch was accepted).
    fn retract(&self) -> Option<Vec<F>> {
        let CancelOutcome::Won(prev) = self.header.state.cancel() else {
            return None;
        };
        let members = self.take_members();
        self.header.notify(prev);
        let closures = members
            .iter()
            .map(|member| {
                // Nobody else can have a member: its handle has not been
                // returned yet and it is in no queue.
                member
                    .retract()
                    .unwrap_or_else(|| unwind::invariant_broken("a refused batch member ran"))
            })
            .collect();
        Some(closures)
    }
}

// SAFETY: `Batch` is `#[repr(C)]` and its first field is its `Header`.
unsafe impl<F, T> RawTask for Batch<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    /// Pushes the members onto the global queue, in order, waking one
    /// sleeper after the first push (so the others start while the rest
    /// are pushed) and again after the last.
    fn run(&self, runner: &dyn Runner) {
        if !self.header.state.claim() {
            if self.header.state.load().is_cancelled() {
                // Taken back by its submitter: as a single task's stale
                // entry does, each member counts as cancelled.
                for _ in 0..self.len {
                    runner.skipped_cancelled();
                }
            }
            return;
        }
        let shared = &self.shared;
        let mut members = self.take_members().into_iter();
        if let Some(first) = members.next() {
            shared.injector.push(Job::new(first));
            let _ = shared.sleep.new_work();
        }
        if members.len() > 0 {
            members.for_each(|member| shared.injector.push(Job::new(member)));
            let _ = shared.sleep.new_work();
        }
        self.finish();
    }

    /// Resolves every member with `PoolBroken`.
    fn abandon(&self) {
        if !self.header.state.claim() {
            return;
        }
        for member in self.take_members() {
            Job::new(member).abandon();
        }
        self.finish();
    }

    /// Cancels every member that has not started (a cancelling shutdown
    /// found the entry queued) and counts each as cancelled. The entry is
    /// not a task of its own: it completes, and says `TooLate` so that the
    /// caller counts nothing for it.
    fn cancel(&self) -> CancelOutcome {
        let cancelled = if self.header.state.claim() {
            let cancelled = self
                .take_members()
                .iter()
                .filter(|member| RawTask::cancel(&***member) != CancelOutcome::TooLate)
                .count();
            self.finish();
            cancelled
        } else if self.header.state.load().is_cancelled() {
            // Taken back by its submitter: counted as a skipped entry is.
            self.len
        } else {
            0
        };
        Counters::add_shared(&self.shared.stats.shared.cancelled, cancelled);
        CancelOutcome::TooLate
    }
}

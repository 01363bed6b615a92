//! `join`: fork-join of two closures that may borrow, with no allocation on
//! a worker.
//!
//! On a worker, `b` waits in a stack job in `join`'s own frame
//! (`task/stack.rs`) while this thread runs `a`; an idle worker may steal
//! it meanwhile. Afterwards the caller pops its deque back down to `b` and
//! runs it inline, or, if `b` was stolen, helps with other work until the
//! thief sets its latch. DESIGN.md, "Task graphs", tells the whole story.

use crate::error::{Panic, TaskError};
use crate::sync::Mutex;
use crate::task::stack::{Progress, StackJob};
use crate::task::wait;
use crate::unwind::{self, AbortOnPanic};
use crate::worker::{self, WorkerCtx};
use crate::ThreadPool;

/// Runs `a` and `b`, in parallel if a worker is free, and returns both
/// results: fork-join without a task handle or a heap allocation.
///
/// Called from a task, both run on the calling worker's pool: `b` is
/// offered to idle workers while this thread runs `a`, then this thread
/// runs `b` itself if nobody took it, or runs other work until the thief
/// is done. The closures may borrow from the caller's stack (they need
/// `Send`, not `'static`), and on a worker a `join` allocates nothing.
/// Called outside any pool, it runs `a` and then `b` on this thread.
///
/// If either closure panics, the panic is re-raised once both have
/// finished (`a`'s if both panicked), so nothing they borrow is still in
/// use when the caller unwinds.
///
/// ```
/// fn sum(v: &[u64]) -> u64 {
///     if v.len() <= 1_000 {
///         return v.iter().sum();
///     }
///     let (left, right) = v.split_at(v.len() / 2);
///     let (a, b) = stealpool::join(|| sum(left), || sum(right));
///     a + b
/// }
/// let pool = stealpool::ThreadPool::new(2)?;
/// let v: Vec<u64> = (1..=100_000).collect();
/// assert_eq!(pool.join(|| sum(&v[..50_000]), || sum(&v[50_000..])), (1_250_025_000, 3_750_025_000));
/// assert_eq!(sum(&v), 5_000_050_000); // outside the pool: sequential
/// # Ok::<(), stealpool::BuildError>(())
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let mut pair = Some((a, b));
    let on_worker = worker::with_worker(|ctx| pair.take().map(|(a, b)| join_on(ctx, a, b)));
    match (on_worker.flatten(), pair) {
        (Some(both), _) => both,
        (None, Some((a, b))) => join_here(a, b),
        (None, None) => unwind::invariant_broken("join lost its closures"),
    }
}

impl ThreadPool {
    /// Runs `a` and `b` on this pool, in parallel if a worker is free, and
    /// returns both results; see [`join`](crate::join) for how.
    ///
    /// On one of this pool's workers it is `stealpool::join` (no
    /// allocation). Elsewhere (another thread, or a worker of another pool)
    /// the pair is handed to this pool as one scoped task that joins them
    /// there, and the caller waits for it (a worker of another pool helps
    /// its own pool meanwhile). If this pool takes no more work (it shut
    /// down, or a cancelling shutdown cancelled that task before it
    /// started), `a` and `b` run on the caller, one after the other.
    ///
    /// A panic in either closure is re-raised after both finished.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let mut left = vec![3, 1, 2];
    /// let mut right = vec![9, 7, 8];
    /// pool.join(|| left.sort(), || right.sort());
    /// assert_eq!((left, right), (vec![1, 2, 3], vec![7, 8, 9]));
    /// # Ok::<(), stealpool::BuildError>(())
    /// ```
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let mut pair = Some((a, b));
        let id = self.shared.id();
        let here = worker::with_worker(|ctx| {
            if ctx.pool_id() == id {
                pair.take().map(|(a, b)| join_on(ctx, a, b))
            } else {
                None
            }
        });
        if let Some(both) = here.flatten() {
            return both;
        }
        // The pair waits on this stack; the pool's task takes it if it runs,
        // and if it never runs the pair is still here for the caller.
        let pair = Mutex::new(pair);
        let outcome = self.scope(|s| {
            let pair = &pair;
            s.submit(move || pair.lock().take().map(|(a, b)| join(a, b)))
                .result()
        });
        match outcome {
            Ok(Some(both)) => both,
            Err(TaskError::Panicked(panic)) => resume(panic),
            Ok(None) | Err(_) => match pair.lock().take() {
                Some((a, b)) => join_here(a, b),
                None => unwind::invariant_broken("join's task took its closures and vanished"),
            },
        }
    }
}

/// `join` on a worker: `b` as a stack job in this frame.
fn join_on<A, B, RA, RB>(ctx: &WorkerCtx, a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    let (ra, rb) = {
        // User code is caught below; a panic here is ours, and unwinding
        // past `job` while its entry is queued would leave a dangling entry.
        let _guard = AbortOnPanic("a join's bookkeeping");
        let job = StackJob::new(b);
        // SAFETY: `job` stays in this frame, unmoved, until `finish_b`
        // returns, and `finish_b` returns only once this thread ran `b`
        // itself (it popped the entry, or saw it released) or saw DONE.
        ctx.push_stack_job(unsafe { job.as_job() });
        let ra = unwind::catch(a);
        let rb = finish_b(ctx, &job);
        (ra, rb)
    };
    match (ra, rb) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(panic), _) | (_, Err(panic)) => resume(panic),
    }
}

/// After `a`: pop this worker's deque down to `job`'s entry and run it
/// here, running whatever was pushed above it first (rayon's order); if the
/// entry is gone, it was stolen (wait, helping, for the thief's latch) or
/// released unrun (run it here).
fn finish_b<F, R>(ctx: &WorkerCtx, job: &StackJob<F, R>) -> Result<R, Panic>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let mine = job.as_ref();
    loop {
        match job.latch().progress() {
            Progress::Done => return job.take_result(),
            // SAFETY: RELEASED: the entry was consumed unrun (stack rule 1).
            Progress::Released => return unsafe { job.run_here() },
            Progress::Out => {}
        }
        match ctx.pop_local() {
            Some(entry) => match entry.take_if_stack(mine) {
                // SAFETY: we popped and consumed the entry (stack rule 1).
                Ok(()) => return unsafe { job.run_here() },
                Err(other) => ctx.execute(other),
            },
            // Stolen, or released: wait (helping) until the latch says which.
            None => {
                wait::wait_until(job.latch(), None);
            }
        }
    }
}

/// `join` with no pool: `a`, then `b`, on this thread.
fn join_here<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA,
    B: FnOnce() -> RB,
{
    let ra = unwind::catch(a);
    let rb = unwind::catch(b);
    match (ra, rb) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(panic), _) | (_, Err(panic)) => resume(panic),
    }
}

fn resume(panic: Panic) -> ! {
    std::panic::resume_unwind(panic.into_payload())
}

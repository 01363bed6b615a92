//! `ThreadPool::map`: an ordered parallel map, eager for its first window
//! and lazy after it.
//!
//! Items are pulled from the input in chunks; at most `window` chunks are
//! in flight, so an endless input runs in bounded memory. The call fills
//! the window once (as Python 3.14's `buffersize` does), so that much work
//! starts whether or not the iterator is ever advanced. Results come out
//! in input order: the iterator waits on the oldest chunk (helping, on a
//! worker), hands out its results, and tops the window up again. Chunk
//! sizes come from `sizing.rs`: one item until a chunk has been measured,
//! then about a millisecond of work each.

use crate::error::TaskError;
use crate::pool::ThreadPool;
use crate::sync::{Arc, AtomicBool, Instant};
use crate::task::handle::TaskHandle;
use crate::task::wait::WaitEnd;
use chunk::{run_chunk, ChunkOut, Ready};
use sizing::{Sizer, WINDOW_PER_WORKER};
use std::collections::VecDeque;
use std::fmt;
use std::iter::FusedIterator;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

mod chunk;
mod sizing;

/// One entry of the window, in input order.
enum Slot<T> {
    /// A submitted chunk of `len` items.
    Chunk(TaskHandle<ChunkOut<T>>, usize),
    /// `len` items the pool refused: each one's outcome is this error
    /// (`Shutdown`, or `PoolBroken`).
    Refused(TaskError, usize),
}

/// The iterator of [`ThreadPool::map`]: `Result<T, TaskError>` per input
/// item, in input order. See there.
#[must_use = "dropping a Map cancels every item not yet started; iterate it for the results"]
pub struct Map<I: Iterator, F, T: Send + 'static> {
    pool: ThreadPool,
    func: Arc<F>,
    /// `None` once exhausted (or abandoned after a timeout).
    input: Option<I>,
    window: VecDeque<Slot<T>>,
    /// Results of the oldest chunk, not yet handed out.
    ready: Ready<T>,
    /// Errors still to hand out for the oldest entry, when it failed whole.
    failed: Option<(TaskError, usize)>,
    /// Emptied value buffers of handed-out chunks, for the next chunks
    /// (see `chunk.rs`); at most one per chunk of the window.
    spare: Vec<Vec<T>>,
    sizer: Sizer,
    max_window: usize,
    deadline: Option<Instant>,
    created: Instant,
    /// Set on drop and timeout: running chunks skip their remaining items.
    stop: Arc<AtomicBool>,
    finished: bool,
}

impl ThreadPool {
    /// Applies `f` to every item on the pool and yields the results in the
    /// input's order, like Python's `Executor.map`: eager for a first
    /// window, lazy after it.
    ///
    /// The call itself pulls and submits the first window, 4 chunks per
    /// worker (see [`Map::window`]) of one item each (nothing is measured
    /// yet), so that work starts at once and runs even if the iterator is
    /// only advanced later, as with Python 3.14's `buffersize`. From then
    /// on the iterator pulls more input only as it hands results out, so
    /// memory stays bounded and an endless input is fine.
    ///
    /// Every item pulled from the input gets exactly one outcome, in order:
    /// its value; its own `Err(TaskError::Panicked)` (the other items still
    /// run); or, if the pool refused its chunk, `Err(TaskError::Shutdown)`
    /// (`PoolBroken` for a broken pool). Chunks submitted before a plain
    /// [`shutdown`](Self::shutdown) run to completion and hand out their
    /// values; every item pulled after it is a `Shutdown` error, so an
    /// endless input then yields errors endlessly: stop at the first `Err`
    /// if that matters. Items are batched into chunks sized automatically
    /// (about 1 ms of work each, at most 16,384 items, and at most
    /// `1 / (4 * workers)` of what the input's `size_hint` says is left)
    /// unless [`Map::chunk_size`] says otherwise.
    ///
    /// Dropping the iterator cancels every chunk not yet started, the first
    /// window included, and running chunks stop after their current item:
    /// unlike Python, whose discarded `map` still runs what it submitted,
    /// `let _ = pool.map(f, items);` runs at most what started before the
    /// drop. Keep the iterator (or collect it) to have the work done.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let squares: Vec<u64> = pool
    ///     .map(|x: u64| x * x, 0..1000)
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(squares[999], 998_001);
    ///
    /// // Endless input, bounded memory: only the window is ever pulled ahead.
    /// let firsts: Vec<_> = pool.map(|x: u64| x + 1, 0..).take(5).map(Result::unwrap).collect();
    /// assert_eq!(firsts, [1, 2, 3, 4, 5]);
    ///
    /// // The first window (8 items on 2 workers) was submitted at the call:
    /// // it runs through a shutdown, and every item pulled after it says
    /// // that the pool refused it.
    /// let it = pool.map(|x: i32| x.abs(), -5..5);
    /// pool.shutdown();
    /// let out: Vec<_> = it.collect();
    /// let values: Vec<i32> = out[..8].iter().map(|r| *r.as_ref().unwrap()).collect();
    /// assert_eq!(values, [5, 4, 3, 2, 1, 0, 1, 2]);
    /// assert!(out[8..].iter().all(|r| matches!(r, Err(stealpool::TaskError::Shutdown))));
    /// assert_eq!(out.len(), 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use = "dropping the Map cancels every item not yet started; iterate it for the results"]
    pub fn map<I, F, T>(&self, f: F, items: I) -> Map<I::IntoIter, F, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        let mut map = Map {
            pool: self.clone(),
            func: Arc::new(f),
            input: Some(items.into_iter()),
            window: VecDeque::new(),
            ready: Ready::empty(),
            failed: None,
            spare: Vec::new(),
            sizer: Sizer::new(
                self.max_workers(),
                std::mem::size_of::<I::Item>().max(std::mem::size_of::<T>()),
            ),
            max_window: WINDOW_PER_WORKER * self.max_workers(),
            deadline: None,
            created: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
            finished: false,
        };
        map.fill_window();
        map
    }
}

impl<I, F, T> Map<I, F, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    /// Items per task, instead of the automatic size; `1` submits one task
    /// per item. It shapes the chunks pulled after the first window (which
    /// the call to `map` submitted one item per chunk). Zero counts as one.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// // Cheap items: a few large chunks, instead of measuring their cost.
    /// let sum: u64 = pool
    ///     .map(|x: u64| x % 7, 0..100_000)
    ///     .chunk_size(10_000)
    ///     .map(Result::unwrap)
    ///     .sum();
    /// assert_eq!(sum, (0..100_000u64).map(|x| x % 7).sum::<u64>());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn chunk_size(mut self, n: usize) -> Self {
        self.sizer.fix(n);
        self
    }

    /// At most `n` chunks in flight (default: 4 per worker). Memory is
    /// bounded by `n` times the chunk size. The call to `map` filled the
    /// default window already; a smaller `n` takes effect as those chunks
    /// are handed out (no more input is pulled until fewer than `n` are in
    /// flight), a larger one at the next `next()`. Zero counts as one.
    ///
    /// ```
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// // An endless input in bounded memory: at most 2 chunks of 100 ahead.
    /// let firsts: Vec<u64> = pool
    ///     .map(|x: u64| x * x, 0..)
    ///     .chunk_size(100)
    ///     .window(2)
    ///     .take(500)
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(firsts[499], 499 * 499);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn window(mut self, n: usize) -> Self {
        self.max_window = n.max(1);
        self
    }

    /// Gives up `timeout` after the call to `map` (not per item), which is
    /// when the first window was submitted.
    ///
    /// The deadline is checked only when the iterator must wait: an item
    /// whose chunk has finished is handed out even after the deadline (as
    /// Python's `map` hands out a finished future's result), so a late
    /// reader loses nothing that was ready. The first item the iterator
    /// reaches unfinished yields `Err(TaskError::Timeout)` once the
    /// deadline has passed (at once, if it already has); then everything
    /// not yet started is cancelled and the iteration ends. No input is
    /// pulled after the deadline. A chunk is handed out whole, so with
    /// chunks of several items the timeout hits the first item of the
    /// unfinished chunk; `chunk_size(1)` makes it exact per item (the first
    /// window always is).
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = stealpool::ThreadPool::new(2)?;
    /// let it = pool.map(|x: u32| x * 2, 0..3).timeout(Duration::ZERO);
    /// pool.shutdown(); // waits for the three items submitted at the call
    /// // The deadline has passed, but every item had finished by then.
    /// let out: Vec<u32> = it.collect::<Result<_, _>>()?;
    /// assert_eq!(out, [0, 2, 4]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.deadline = self.created.checked_add(timeout);
        self
    }

    /// Pulls and submits chunks until the window is full, the input ends or
    /// the deadline has passed.
    fn fill_window(&mut self) {
        while self.window.len() < self.max_window && !self.past_deadline() {
            let Some(rest) = self.input.as_ref().map(|input| input.size_hint().0) else {
                return;
            };
            let size = self.sizer.next(rest);
            let Some(input) = self.input.as_mut() else {
                return;
            };
            let items: Vec<I::Item> = input.take(size).collect();
            if items.is_empty() {
                self.input = None;
                return;
            }
            let len = items.len();
            let (func, stop) = (self.func.clone(), self.stop.clone());
            let buffer = self.spare.pop().unwrap_or_default();
            let slot = match self
                .pool
                .submit(move || run_chunk(&*func, items, &stop, buffer))
            {
                Ok(handle) => Slot::Chunk(handle, len),
                // The items go with the closure; each one's outcome is the
                // refusal. The input is still pulled on: every item gets one.
                Err(refused) if refused.is_broken() => Slot::Refused(TaskError::PoolBroken, len),
                Err(_) => Slot::Refused(TaskError::Shutdown, len),
            };
            self.window.push_back(slot);
        }
    }

    /// Keeps a handed-out chunk's emptied buffer for a later chunk.
    fn recycle(&mut self, mut used: Ready<T>) {
        if self.spare.len() < self.max_window {
            self.spare.extend(used.take_buffer());
        }
    }

    fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// Moves the oldest entry of the window into `ready` or `failed`;
    /// `Ok(false)` once the input is used up. `Err` if the deadline passed
    /// before the oldest chunk finished (or before another item was pulled).
    fn open_oldest(&mut self) -> Result<bool, ()> {
        let Some(slot) = self.window.front() else {
            // An empty window with input left means the deadline stopped the
            // pulling: the next item, if there is one, is the one timed out.
            // An input that says it is empty is not pulled.
            let left = self
                .input
                .as_mut()
                .filter(|input| input.size_hint().1 != Some(0))
                .and_then(Iterator::next);
            self.input = None;
            return match left {
                Some(_timed_out) => Err(()),
                None => Ok(false),
            };
        };
        if let Slot::Chunk(handle, _) = slot {
            if handle.wait_until(self.deadline) != WaitEnd::Finished {
                return Err(());
            }
        }
        match self.window.pop_front() {
            Some(Slot::Chunk(handle, len)) => match handle.result() {
                Ok(out) => {
                    self.sizer.record(out.nanos, out.len());
                    let used = std::mem::replace(&mut self.ready, Ready::new(out));
                    self.recycle(used);
                }
                Err(error) => self.failed = Some((error, len)),
            },
            Some(Slot::Refused(error, len)) => self.failed = Some((error, len)),
            None => return Ok(false),
        }
        Ok(true)
    }

    /// Hands out the next outcome once the open chunk is used up (`next`
    /// has just found it empty): a failed entry's errors, or the next
    /// chunk's, after topping up the window.
    #[inline(never)]
    fn next_from_window(&mut self) -> Option<Result<T, TaskError>> {
        loop {
            if let Some(error) = repeat_error(&mut self.failed) {
                return Some(Err(error));
            }
            if self.finished {
                return None;
            }
            self.fill_window();
            match self.open_oldest() {
                Ok(true) => self.fill_window(),
                Ok(false) => {
                    self.finished = true;
                    return None;
                }
                Err(()) => {
                    self.abandon();
                    return Some(Err(TaskError::Timeout));
                }
            }
            if let Some(result) = self.ready.next() {
                return Some(result);
            }
        }
    }

    /// Ends the iteration early, stopping everything still in flight.
    fn abandon(&mut self) {
        self.finished = true;
        self.input = None;
        self.stop_in_flight();
    }
}

impl<I: Iterator, F, T: Send + 'static> Map<I, F, T> {
    /// Unstarted chunks are cancelled, running ones skip their remaining
    /// items.
    fn stop_in_flight(&mut self) {
        // ORDERING: a hint read between items; nothing is published by it.
        self.stop.store(true, Relaxed);
        for slot in self.window.drain(..) {
            if let Slot::Chunk(handle, _) = slot {
                handle.cancel();
            }
        }
    }
}

/// One error per item of a chunk that failed whole. Only the first can carry
/// a panic (its payload is not clonable); the chunk body catches every item's
/// panic, so a whole-chunk panic does not happen in practice.
fn repeat_error(error: &mut Option<(TaskError, usize)>) -> Option<TaskError> {
    let (err, left) = error.as_mut()?;
    *left -= 1;
    let next = match err {
        TaskError::Panicked(_) => std::mem::replace(err, TaskError::Cancelled),
        TaskError::Cancelled => TaskError::Cancelled,
        TaskError::PoolBroken => TaskError::PoolBroken,
        TaskError::Shutdown => TaskError::Shutdown,
        TaskError::Timeout => TaskError::Timeout,
        TaskError::ResultTaken => TaskError::ResultTaken,
        TaskError::Deadlock => TaskError::Deadlock,
    };
    if *left == 0 {
        *error = None;
    }
    Some(next)
}

impl<I, F, T> Iterator for Map<I, F, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
    type Item = Result<T, TaskError>;

    /// The common case, handing out the next outcome of the open chunk,
    /// inlines into the caller's loop; opening the next chunk does not.
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.ready.has_next() {
            return self.ready.next();
        }
        self.next_from_window()
    }

    /// At least the outcomes already in hand; at most those plus every item
    /// in flight and whatever the input may still hold (a timeout's `Err`
    /// stands in for the items it cuts off, so it never adds one).
    fn size_hint(&self) -> (usize, Option<usize>) {
        let failed = self.failed.as_ref().map_or(0, |(_, left)| *left);
        let in_hand = self.ready.len() + failed;
        if self.finished {
            return (in_hand, Some(in_hand));
        }
        let in_flight: usize = self
            .window
            .iter()
            .map(|slot| match slot {
                Slot::Chunk(_, len) | Slot::Refused(_, len) => *len,
            })
            .sum();
        let input = match &self.input {
            Some(input) => input.size_hint().1,
            None => Some(0),
        };
        let upper = input.and_then(|rest| rest.checked_add(in_hand + in_flight));
        (in_hand, upper)
    }
}

impl<I, F, T> FusedIterator for Map<I, F, T>
where
    I: Iterator,
    I::Item: Send + 'static,
    F: Fn(I::Item) -> T + Send + Sync + 'static,
    T: Send + 'static,
{
}

impl<I: Iterator, F, T: Send + 'static> Drop for Map<I, F, T> {
    fn drop(&mut self) {
        self.stop_in_flight();
    }
}

impl<I: Iterator, F, T: Send + 'static> fmt::Debug for Map<I, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("in_flight", &self.window.len())
            .field("finished", &self.finished)
            .finish()
    }
}

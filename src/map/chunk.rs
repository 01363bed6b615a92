//! One chunk of a [`Map`](super::Map): running it on a worker, and handing
//! its outcomes out in order.
//!
//! A chunk's outcomes are stored as the values of the items that returned
//! plus a sparse list of the items that panicked, not as one
//! `Result<T, TaskError>` per item: for a word-sized `T` that `Result` is
//! two words, so the chunks in flight would hold twice the memory the values
//! need, and the hand-out would move twice the bytes.
//!
//! The values' buffer is recycled: once a chunk's values are handed out,
//! its emptied buffer goes to the next chunk submitted (`run_chunk` takes
//! one), so a map in its steady state allocates no result buffers. A fresh
//! buffer per chunk cost a page fault per 4 KiB of results whenever glibc
//! served it from fresh or trimmed pages, as it does for chunks of large
//! values (1 KiB vectors: ~0.14 faults per item, a third more CPU per
//! item than the same work fed by hand).

use crate::error::TaskError;
use crate::sync::{AtomicBool, Instant};
use crate::unwind;
use std::sync::atomic::Ordering::Relaxed;

/// What one chunk hands back.
pub(super) struct ChunkOut<T> {
    /// The values of the items that returned, in order.
    values: Vec<T>,
    /// The items that panicked: position in the chunk, ascending.
    panics: Vec<(usize, TaskError)>,
    /// How long the chunk's items took, for sizing the next chunks.
    pub(super) nanos: u64,
}

impl<T> ChunkOut<T> {
    /// Items that ran: returned or panicked.
    pub(super) fn len(&self) -> usize {
        self.values.len() + self.panics.len()
    }
}

/// Runs `f` on each item until `stop`, storing the values in `buffer`
/// (emptied, from an earlier chunk, or new). A panic is the outcome of the
/// item that raised it, and the items after it still run. One panic guard
/// covers a whole run of items rather than each one, so `f` inlines into
/// the loop; after a panic a new guard picks up at the next item.
pub(super) fn run_chunk<A, T>(
    f: &impl Fn(A) -> T,
    items: Vec<A>,
    stop: &AtomicBool,
    buffer: Vec<T>,
) -> ChunkOut<T> {
    let start = Instant::now();
    let mut values = buffer;
    values.clear();
    values.reserve(items.len());
    let mut panics = Vec::new();
    let mut items = items.into_iter();
    loop {
        let run = unwind::catch(|| {
            for item in &mut items {
                // ORDERING: a hint read between items, set by
                // `Map::stop_in_flight`; a late stop only costs finished work.
                if stop.load(Relaxed) {
                    return;
                }
                values.push(f(item));
            }
        });
        match run {
            Ok(()) => break,
            // The item that panicked was taken from `items` and pushed
            // nothing: its position is the count of outcomes so far.
            Err(panic) => {
                let at = values.len() + panics.len();
                panics.push((at, TaskError::Panicked(panic)));
            }
        }
    }
    let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    ChunkOut {
        values,
        panics,
        nanos,
    }
}

/// The outcomes of the oldest finished chunk, handed out in input order.
///
/// The values are moved out of their buffer one by one, front first, and
/// the emptied buffer is kept for the next chunk (`take_buffer`): neither
/// `vec::IntoIter` (which cannot give its buffer back) nor a `VecDeque`
/// (whose front pop costs a wrap-around per value, 12 instructions
/// against 4 here, on the consumer's path of every item) does both. So the
/// buffer's elements are tracked by hand, under one invariant:
/// `buffer.len()` is 0 and the elements at `next..end` are initialized and
/// owned by this `Ready` (the ones before `next` were moved out); each
/// SAFETY comment below cites it.
pub(super) struct Ready<T> {
    buffer: Vec<T>,
    /// The next value to move out, and one past the last.
    next: usize,
    end: usize,
    panics: std::vec::IntoIter<(usize, TaskError)>,
    /// Position of the next outcome in the chunk.
    at: usize,
    /// Position of the next panicked item; `usize::MAX` when none is left.
    next_panic: usize,
}

impl<T> Ready<T> {
    pub(super) fn empty() -> Self {
        Self::new(ChunkOut {
            values: Vec::new(),
            panics: Vec::new(),
            nanos: 0,
        })
    }

    pub(super) fn new(out: ChunkOut<T>) -> Self {
        let panics = out.panics.into_iter();
        let next_panic = first_position(&panics);
        let mut buffer = out.values;
        let end = buffer.len();
        // SAFETY: the elements `0..end` are initialized; from here on the
        // invariant (with `next` = 0) says this `Ready` owns them, and
        // `Drop` drops those not moved out.
        unsafe { buffer.set_len(0) };
        Ready {
            buffer,
            next: 0,
            end,
            panics,
            at: 0,
            next_panic,
        }
    }

    /// Outcomes not handed out yet.
    pub(super) fn len(&self) -> usize {
        self.end - self.next + self.panics.len()
    }

    /// True while an outcome is left: [`len`](Self::len) > 0, in two
    /// compares on the consumer's path of every item.
    #[inline]
    pub(super) fn has_next(&self) -> bool {
        self.next != self.end || self.next_panic != usize::MAX
    }

    /// The values' buffer, emptied, for the next chunk; `None` while values
    /// are left to hand out, or if it never held any.
    pub(super) fn take_buffer(&mut self) -> Option<Vec<T>> {
        if self.next < self.end || self.buffer.capacity() == 0 {
            return None;
        }
        (self.next, self.end) = (0, 0);
        // Every value was moved out and the length is 0: an empty vector.
        Some(std::mem::take(&mut self.buffer))
    }

    #[cold]
    fn next_panicked(&mut self) -> Option<Result<T, TaskError>> {
        let (_, error) = self.panics.next()?;
        self.next_panic = first_position(&self.panics);
        self.at += 1;
        Some(Err(error))
    }
}

impl<T> Drop for Ready<T> {
    fn drop(&mut self) {
        let left = std::ptr::slice_from_raw_parts_mut(
            self.buffer.as_mut_ptr().wrapping_add(self.next),
            self.end - self.next,
        );
        // SAFETY: by the invariant the elements at `next..end` are
        // initialized and owned here, and nothing else drops them: the
        // buffer's length is 0, so its own drop frees the allocation only.
        unsafe { std::ptr::drop_in_place(left) };
    }
}

/// Position of the first panicked item left; `usize::MAX` when none is.
fn first_position(panics: &std::vec::IntoIter<(usize, TaskError)>) -> usize {
    panics.as_slice().first().map_or(usize::MAX, |p| p.0)
}

impl<T> Iterator for Ready<T> {
    type Item = Result<T, TaskError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.at == self.next_panic {
            return self.next_panicked();
        }
        if self.next == self.end {
            return None;
        }
        // SAFETY: by the invariant the element at `next` (< `end`) is
        // initialized and owned here; advancing `next` past it hands that
        // ownership to the caller, so it is read once.
        let value = unsafe { self.buffer.as_ptr().add(self.next).read() };
        self.next += 1;
        self.at += 1;
        Some(Ok(value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.len(), Some(self.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcomes(out: ChunkOut<u32>) -> Vec<Result<u32, String>> {
        Ready::new(out)
            .map(|r| r.map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn panics_keep_their_places_among_the_values() {
        let stop = AtomicBool::new(false);
        let f = |x: u32| {
            assert!(x % 3 != 0, "multiple of three");
            x
        };
        let out = run_chunk(&f, (0..8).collect(), &stop, Vec::new());
        assert_eq!(out.len(), 8);
        let got = outcomes(out);
        let ok: Vec<_> = got.iter().map(Result::is_ok).collect();
        assert_eq!(ok, [false, true, true, false, true, true, false, true]);
        assert_eq!(got[1], Ok(1));
        assert_eq!(got[7], Ok(7));
    }

    #[test]
    fn a_panic_in_the_last_item_is_handed_out_last() {
        let stop = AtomicBool::new(false);
        let f = |x: u32| {
            assert!(x != 2, "last");
            x
        };
        let got = outcomes(run_chunk(&f, vec![0, 1, 2], &stop, Vec::new()));
        assert_eq!(got.len(), 3);
        assert_eq!(&got[..2], [Ok(0), Ok(1)]);
        assert!(got[2].is_err());
    }

    #[test]
    fn a_stopped_chunk_runs_nothing() {
        let stop = AtomicBool::new(true);
        let out = run_chunk(&|x: u32| x, vec![1, 2, 3], &stop, Vec::new());
        assert_eq!(out.len(), 0);
        assert_eq!(Ready::new(out).next().map(|r| r.is_ok()), None);
    }

    #[test]
    fn a_handed_out_chunk_gives_its_buffer_to_the_next() {
        let stop = AtomicBool::new(false);
        let mut ready = Ready::new(run_chunk(&|x: u32| x * 2, vec![1, 2, 3], &stop, Vec::new()));
        assert!(ready.take_buffer().is_none(), "values left to hand out");
        assert_eq!(
            ready.by_ref().map(Result::unwrap).collect::<Vec<_>>(),
            [2, 4, 6]
        );
        let buffer = ready.take_buffer().expect("emptied");
        let (at, capacity) = (buffer.as_ptr(), buffer.capacity());
        let out = run_chunk(&|x: u32| x + 1, vec![7, 8], &stop, buffer);
        assert_eq!(out.values, [8, 9]);
        assert_eq!((out.values.as_ptr(), out.values.capacity()), (at, capacity));
    }

    #[test]
    fn values_not_handed_out_are_dropped_once_and_taken_ones_never() {
        use std::rc::Rc;
        let token = Rc::new(());
        let stop = AtomicBool::new(false);
        let make = |_: u32| token.clone();
        let mut ready = Ready::new(run_chunk(&make, vec![0, 1, 2, 3], &stop, Vec::new()));
        let taken = ready.next().unwrap().unwrap();
        assert_eq!(Rc::strong_count(&token), 5);
        drop(ready); // three left in the buffer
        assert_eq!(
            Rc::strong_count(&token),
            2,
            "the taken one and the original"
        );
        drop(taken);
        assert_eq!(Rc::strong_count(&token), 1);
    }

    #[test]
    fn the_empty_ready_yields_nothing() {
        let mut ready = Ready::<u32>::empty();
        assert_eq!(ready.size_hint(), (0, Some(0)));
        assert!(ready.next().is_none());
    }
}

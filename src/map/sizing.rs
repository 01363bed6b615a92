//! How many items go into each chunk of a [`Map`](super::Map), and how many
//! chunks it keeps in flight.
//!
//! Without an override the chunk size adapts: it aims at
//! [`TARGET_CHUNK_NANOS`] of work per chunk from the time per item measured
//! in finished chunks, and where the input tells how many items it still
//! holds, no chunk takes more than `1 / (SHARE_OF_REST * workers)` of them
//! ([`SHARE_OF_REST`]), so a short input still spreads over every worker and
//! the tail of a long one runs in ever smaller chunks that finish together.
//! Until a chunk has been measured, a chunk is one item: the whole first
//! window, which the call to `map` submits, is single items. A chunk also
//! holds at most [`MAX_CHUNK_BYTES`] of input items or of values, so that
//! large values (embedding vectors) travel in chunks that stay in cache.

/// Work per automatically sized chunk: large against what a chunk costs
/// to submit and collect (a few µs once the waiting consumer has to be
/// woken), small enough to balance across workers (the share cap below
/// keeps the tail fine-grained). 1M items of 100 ns on 2 workers,
/// interleaved with rayon's `par_iter`: 50 µs chunks took 1.24-1.31x its
/// time, 200 µs chunks 1.07-1.11x; in a later run 200 µs chunks were 4%
/// slower than 1 ms ones (10,000 items), which matched chunked submission.
const TARGET_CHUNK_NANOS: u64 = 1_000_000;
/// A chunk takes at most `1 / (SHARE_OF_REST * workers)` of the items the
/// input says are left (its `size_hint` lower bound), so there are always
/// enough chunks to keep every worker busy and the last ones are small.
const SHARE_OF_REST: usize = 4;
/// The largest automatic chunk, so one chunk never holds many results.
const MAX_AUTO_CHUNK: usize = 16_384;
/// The most bytes of input items, or of values, one automatic chunk
/// holds. With 1 KiB values (an embedding vector) the time target alone
/// made chunks of ~770 items: 770 KiB buffers, 6 MiB in flight, and ~1,700
/// fresh pages faulted in per `map` call of 100,000 items (a fault costs
/// microseconds in a VM). Capped at 256 items, the same job faulted ~570
/// pages and took 7-8% less CPU per item (medians of six alternating
/// runs, 2026-12-07, shared machine). Word-sized values are not affected:
/// 16,384 of them are 128 KiB.
const MAX_CHUNK_BYTES: usize = 256 * 1024;
/// Chunks in flight per worker by default.
pub(super) const WINDOW_PER_WORKER: usize = 4;

/// Chooses chunk sizes from what finished chunks took.
pub(super) struct Sizer {
    /// Regular workers of the pool, for the share cap.
    workers: usize,
    /// The most items [`MAX_CHUNK_BYTES`] allows.
    by_bytes: usize,
    /// The user's override.
    fixed: Option<usize>,
    /// Nanoseconds spent and items run in the chunks measured so far.
    nanos: u64,
    items: u64,
}

impl Sizer {
    /// A sizer for a pool of `workers`, whose input items or values take
    /// up to `item_bytes` each.
    pub(super) fn new(workers: usize, item_bytes: usize) -> Self {
        Self {
            workers,
            by_bytes: MAX_CHUNK_BYTES
                .checked_div(item_bytes)
                .unwrap_or(MAX_AUTO_CHUNK),
            fixed: None,
            nanos: 0,
            items: 0,
        }
    }

    /// Every chunk from now on takes `n` items (at least one).
    pub(super) fn fix(&mut self, n: usize) {
        self.fixed = Some(n.max(1));
    }

    /// A finished chunk ran `items` items in `nanos`.
    pub(super) fn record(&mut self, nanos: u64, items: usize) {
        self.nanos = self.nanos.saturating_add(nanos);
        self.items += items as u64;
    }

    /// The size of the next chunk: the override, or enough items for
    /// [`TARGET_CHUNK_NANOS`] at the time per item measured so far, capped
    /// by the share of the known rest ([`SHARE_OF_REST`]) and by
    /// [`MAX_CHUNK_BYTES`]; one item while nothing is measured. `rest` is
    /// the input's lower bound on the items it still holds.
    pub(super) fn next(&self, rest: usize) -> usize {
        if let Some(n) = self.fixed {
            return n;
        }
        if self.items == 0 {
            return 1;
        }
        let per_item = (self.nanos / self.items).max(1);
        let by_time = usize::try_from(TARGET_CHUNK_NANOS / per_item).unwrap_or(MAX_AUTO_CHUNK);
        let share = rest / (SHARE_OF_REST * self.workers);
        // An input that tells nothing (lower bound 0) is sized by time alone.
        let by_share = if share == 0 { MAX_AUTO_CHUNK } else { share };
        by_time
            .min(by_share)
            .min(self.by_bytes)
            .clamp(1, MAX_AUTO_CHUNK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sizer for 2 workers whose chunks measured `per_item` ns each.
    fn sizer(per_item: u64) -> Sizer {
        let mut sizer = Sizer::new(2, 8);
        sizer.record(per_item * 1000, 1000);
        sizer
    }

    #[test]
    fn the_first_chunk_is_one_item_to_measure() {
        assert_eq!(Sizer::new(2, 8).next(1_000_000), 1);
    }

    #[test]
    fn chunks_aim_at_the_target_time_while_the_rest_is_long() {
        // 100 ns items: a millisecond is 10,000 of them, well under 1M / 8.
        assert_eq!(sizer(100).next(1_000_000), 10_000);
        // 1 ns items would make a 1M-item chunk: the cap holds it.
        assert_eq!(sizer(1).next(1 << 30), MAX_AUTO_CHUNK);
    }

    #[test]
    fn a_short_rest_is_shared_out_over_every_worker() {
        // 10,000 items left on 2 workers: at most 10,000 / (4 * 2) each.
        assert_eq!(sizer(100).next(10_000), 1_250);
        // Under one share per worker left: by time alone (the rest is small).
        assert_eq!(sizer(100).next(7), 10_000);
        // An input that says nothing of its length: by time alone.
        assert_eq!(sizer(100).next(0), 10_000);
    }

    #[test]
    fn large_items_or_values_are_capped_by_bytes() {
        // 1 KiB each, 1.3 µs each: the time target alone would take 769.
        let mut sizer = Sizer::new(2, 1024);
        sizer.record(1_300_000, 1000);
        assert_eq!(sizer.next(1_000_000), 256);
        // Larger than the cap: one item per chunk.
        let mut huge = Sizer::new(2, 1 << 20);
        huge.record(1_000, 1000);
        assert_eq!(huge.next(1_000_000), 1);
        // Zero-sized values: no byte cap.
        let mut zst = Sizer::new(2, 0);
        zst.record(100_000, 1000);
        assert_eq!(zst.next(1_000_000), 10_000);
    }

    #[test]
    fn an_override_is_used_as_given() {
        let mut sizer = sizer(100);
        sizer.fix(3);
        assert_eq!(sizer.next(10), 3);
        sizer.fix(0);
        assert_eq!(sizer.next(10), 1, "zero counts as one");
    }
}

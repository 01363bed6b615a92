//! Nested parallelism on a pool of 2 workers, two ways, both checked
//! against `sort_unstable`:
//!
//! 1. `join`: a parallel merge sort of 1,000,000 numbers that borrows its
//!    slices. Each level sorts its halves with `stealpool::join` and merges
//!    them with a merge that is itself split by `join`. Leaves are 65,536
//!    elements (about a millisecond of `sort_unstable`), so the pool's cost,
//!    one stack job per `join`, disappears next to the work; this is the
//!    version that is faster than `sort_unstable` alone.
//! 2. Nested tasks that block: every task submits its two halves as child
//!    tasks and waits on their `result()`, with 512 leaves. In Python this
//!    deadlocks: with `ThreadPoolExecutor(max_workers=2)`, once two tasks
//!    wait on children, both threads are blocked and the children never
//!    start. Here a worker that waits runs the awaited child itself if it
//!    has not started (and other queued work while it runs elsewhere), so
//!    the sort completes. It is slower: every node is a heap task whose
//!    data is moved in and out (`'static` closures cannot borrow).
//!
//! `NESTED_LEN` sets the number of elements (default 1,000,000).
//!
//! Run: `cargo run --release --example nested`

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stealpool::{join, ThreadPool};

/// Below this length the join sort calls `sort_unstable`.
const SORT_LEAF: usize = 1 << 16;
/// Below this total length a merge runs sequentially.
const MERGE_LEAF: usize = 1 << 15;
/// Below this length a nested task sorts on its own instead of splitting.
const TASK_LEAF: usize = 2_000;

/// Sorts `v`, leaving the result in `v` if `into_scratch` is false and in
/// `scratch` (same length) if it is true; the other slice is clobbered.
fn join_sort(v: &mut [u64], scratch: &mut [u64], into_scratch: bool) {
    if v.len() <= SORT_LEAF {
        v.sort_unstable();
        if into_scratch {
            scratch.copy_from_slice(v);
        }
        return;
    }
    let mid = v.len() / 2;
    {
        let (v_lo, v_hi) = v.split_at_mut(mid);
        let (s_lo, s_hi) = scratch.split_at_mut(mid);
        // The halves land in the other buffer, to be merged back.
        join(
            || join_sort(v_lo, s_lo, !into_scratch),
            || join_sort(v_hi, s_hi, !into_scratch),
        );
    }
    if into_scratch {
        let (lo, hi) = v.split_at(mid);
        merge(lo, hi, scratch);
    } else {
        let (lo, hi) = scratch.split_at(mid);
        merge(lo, hi, v);
    }
}

/// Merges sorted `a` and `b` into `out`, splitting the work with `join`:
/// the middle of the longer run and its place in the shorter one cut both
/// into halves that merge independently.
fn merge(a: &[u64], b: &[u64], out: &mut [u64]) {
    if a.len() + b.len() <= MERGE_LEAF {
        merge_here(a, b, out);
        return;
    }
    let (a, b) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let am = a.len() / 2;
    let bm = b.partition_point(|x| *x < a[am]);
    let (out_lo, out_hi) = out.split_at_mut(am + bm);
    join(
        || merge(&a[..am], &b[..bm], out_lo),
        || merge(&a[am..], &b[bm..], out_hi),
    );
}

fn merge_here(a: &[u64], b: &[u64], out: &mut [u64]) {
    let (mut i, mut j) = (0, 0);
    for slot in out.iter_mut() {
        if j == b.len() || (i < a.len() && a[i] <= b[j]) {
            *slot = a[i];
            i += 1;
        } else {
            *slot = b[j];
            j += 1;
        }
    }
}

/// Counts tasks created and waits open now and at the most.
#[derive(Default)]
struct Census {
    tasks: AtomicUsize,
    waiting: AtomicUsize,
    peak_waiting: AtomicUsize,
}

/// Sorts `v`, splitting into child tasks on the current pool and blocking
/// on their results, as a Python task would with `f.result()`.
fn task_sort(mut v: Vec<u64>, census: Arc<Census>) -> Vec<u64> {
    if v.len() <= TASK_LEAF {
        v.sort_unstable();
        return v;
    }
    let pool = ThreadPool::current().expect("task_sort runs on a pool worker");
    let right_half = v.split_off(v.len() / 2);
    let (c1, c2) = (census.clone(), census.clone());
    let left = pool
        .submit(move || task_sort(v, c1))
        .expect("workers may submit");
    let right = pool
        .submit(move || task_sort(right_half, c2))
        .expect("workers may submit");
    census.tasks.fetch_add(2, SeqCst);
    let now = census.waiting.fetch_add(1, SeqCst) + 1;
    census.peak_waiting.fetch_max(now, SeqCst);
    let (left, right) = (left.result(), right.result());
    census.waiting.fetch_sub(1, SeqCst);
    let (left, right) = (left.expect("left half"), right.expect("right half"));
    let mut out = vec![0; left.len() + right.len()];
    merge_here(&left, &right, &mut out);
    out
}

/// The best of three runs of `f` on fresh copies of `input`.
fn best_of_three(input: &[u64], mut f: impl FnMut(Vec<u64>) -> Vec<u64>) -> (Duration, Vec<u64>) {
    let mut best: Option<(Duration, Vec<u64>)> = None;
    for _ in 0..3 {
        let data = input.to_vec();
        let start = Instant::now();
        let out = f(data);
        let took = start.elapsed();
        if best.as_ref().map_or(true, |(b, _)| took < *b) {
            best = Some((took, out));
        }
    }
    best.expect("three runs")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let len: usize = std::env::var("NESTED_LEN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    // Deterministic pseudo-random input (xorshift64).
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let input: Vec<u64> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % 1_000_000_007
        })
        .collect();
    let pool = ThreadPool::new(2)?;

    let (sequential, expected) = best_of_three(&input, |mut v| {
        v.sort_unstable();
        v
    });
    let (joined, by_join) = best_of_three(&input, |mut v| {
        pool.join(
            || {
                let mut scratch = vec![0; v.len()];
                join_sort(&mut v, &mut scratch, false);
                v
            },
            || (),
        )
        .0
    });
    let census = Arc::new(Census::default());
    let (tasked, by_tasks) = best_of_three(&input, |v| {
        let c = census.clone();
        pool.submit(move || task_sort(v, c))
            .expect("pool is running")
            .result()
            .expect("the sort task")
    });
    assert_eq!(by_join, expected, "join sort output differs");
    assert_eq!(by_tasks, expected, "nested-task sort output differs");

    let speedup = |d: Duration| sequential.as_secs_f64() / d.as_secs_f64();
    println!(
        "sorting {len} numbers on {} workers (best of three runs each):",
        pool.max_workers()
    );
    println!("  sort_unstable on one thread          {sequential:>9.1?}");
    println!(
        "  join merge sort (leaves of {SORT_LEAF})   {joined:>9.1?}  {:.2}x",
        speedup(joined)
    );
    println!(
        "  nested tasks blocking in result()    {tasked:>9.1?}  {:.2}x ({} tasks per sort, leaves of {TASK_LEAF})",
        speedup(tasked),
        census.tasks.load(SeqCst) / 3 + 1,
    );
    println!(
        "at most {} tasks were blocked in result() at the same time, on 2 worker threads",
        census.peak_waiting.load(SeqCst)
    );
    println!("(a 2-thread Python ThreadPoolExecutor deadlocks once both threads wait on children that have not started)");
    println!(
        "all outputs match sort_unstable: {} elements in order",
        expected.len()
    );
    Ok(())
}

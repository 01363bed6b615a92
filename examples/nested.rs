//! Nested tasks on a tiny pool: a parallel merge sort in which every task
//! submits its two halves as child tasks (through `ThreadPool::current()`)
//! and blocks on their `result()`, on a pool of only 2 workers.
//!
//! The task graph (1,023 tasks, 512 leaves, at the default size) is far
//! wider than the pool, and both workers hold a chain of tasks blocked in
//! `result()`, one per level of the recursion. In Python this deadlocks: with
//! `ThreadPoolExecutor(max_workers=2)`, once two tasks wait on children,
//! both threads are blocked and the children never start. Here a worker that
//! waits runs the awaited child itself if it has not started (and other
//! queued work while it runs elsewhere), so the sort completes. The example
//! counts how many waits were open at once and checks the output against
//! `sort_unstable`.
//!
//! `NESTED_LEN` sets the number of elements (default 1,000,000).
//!
//! Run: `cargo run --release --example nested`

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Instant;
use stealpool::ThreadPool;

/// Below this length a task sorts on its own instead of splitting.
const LEAF: usize = 2_000;

/// Counts tasks created and waits open now and at the most.
#[derive(Default)]
struct Census {
    tasks: AtomicUsize,
    waiting: AtomicUsize,
    peak_waiting: AtomicUsize,
}

/// Sorts `v`, splitting into child tasks on the current pool.
fn merge_sort(mut v: Vec<u64>, census: Arc<Census>) -> Vec<u64> {
    if v.len() <= LEAF {
        v.sort_unstable();
        return v;
    }
    let pool = ThreadPool::current().expect("merge_sort runs on a pool worker");
    let right_half = v.split_off(v.len() / 2);
    let (c1, c2) = (census.clone(), census.clone());
    let left = pool
        .submit(move || merge_sort(v, c1))
        .expect("workers may submit");
    let right = pool
        .submit(move || merge_sort(right_half, c2))
        .expect("workers may submit");
    census.tasks.fetch_add(2, SeqCst);

    // Block on both children, as a Python task would with `f.result()`.
    let now = census.waiting.fetch_add(1, SeqCst) + 1;
    census.peak_waiting.fetch_max(now, SeqCst);
    let (left, right) = (left.result(), right.result());
    census.waiting.fetch_sub(1, SeqCst);
    merge(&left.expect("left half"), &right.expect("right half"))
}

fn merge(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            out.push(a[i]);
            i += 1;
        } else {
            out.push(b[j]);
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
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
    let census = Arc::new(Census::default());
    let c = census.clone();
    let data = input.clone();
    let start = Instant::now();
    let sorted = pool.submit(move || merge_sort(data, c))?.result()?;
    let parallel = start.elapsed();

    let mut expected = input;
    let start = Instant::now();
    expected.sort_unstable();
    let sequential = start.elapsed();

    let tasks = census.tasks.load(SeqCst) + 1;
    println!(
        "sorted {len} numbers on {} workers with {tasks} nested tasks (leaves of {LEAF}) in {parallel:.1?}; sort_unstable: {sequential:.1?}",
        pool.max_workers()
    );
    println!(
        "at most {} tasks were blocked in result() at the same time, on 2 worker threads",
        census.peak_waiting.load(SeqCst)
    );
    println!("(a 2-thread Python ThreadPoolExecutor deadlocks once both threads wait on children that have not started)");
    assert_eq!(sorted, expected, "merge sort output differs");
    println!(
        "output matches sort_unstable: {} elements in order",
        sorted.len()
    );
    Ok(())
}

//! Create, use and drop 1,000 pools (`STEALPOOL_POOLS` overrides), some
//! dropped from inside their own tasks (the last clone of a pool dropped on
//! one of its workers). Afterwards the process has as many threads and as
//! many live heap allocations as before: no worker, stack or task leaks.
//!
//! The only test in this binary: thread and allocation counts are
//! process-wide. Counts are compared after the same flush of
//! crossbeam-epoch's deferred frees (see `flush_deferred_frees`), so a
//! leak of even one block per pool shows, while the epoch's bounded
//! garbage does not.

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering::SeqCst};
use stealpool::{ShutdownOptions, ThreadPool};
use support::{Latch, Rng};

/// Counts live allocations and bytes on top of the system allocator.
struct Counting;

static LIVE_BLOCKS: AtomicIsize = AtomicIsize::new(0);
static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged, so `System`'s guarantees hold; the counters are only atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BLOCKS.fetch_add(1, SeqCst);
            LIVE_BYTES.fetch_add(layout.size() as isize, SeqCst);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc_zeroed`'s contract.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BLOCKS.fetch_add(1, SeqCst);
            LIVE_BYTES.fetch_add(layout.size() as isize, SeqCst);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is; `ptr` came from this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BLOCKS.fetch_sub(1, SeqCst);
        LIVE_BYTES.fetch_sub(layout.size() as isize, SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, SeqCst);
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn live() -> (isize, isize) {
    (LIVE_BLOCKS.load(SeqCst), LIVE_BYTES.load(SeqCst))
}

/// How a pool's life ends.
#[derive(Clone, Copy, Debug)]
enum End {
    /// Dropped by the test thread: shutdown waits.
    Drop,
    /// `shutdown()` then dropped.
    Shutdown,
    /// A cancelling, non-waiting shutdown with work still queued.
    CancelNoWait,
    /// The last clone moved into a task and dropped there, on a worker.
    DropInTask,
    /// The last clone is one a task got from `ThreadPool::current()`.
    DropCurrentInTask,
}

fn fib(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let pool = ThreadPool::current().expect("on a worker");
    let a = pool.submit(move || fib(n - 1)).unwrap();
    let b = pool.submit(move || fib(n - 2)).unwrap();
    a.result().unwrap() + b.result().unwrap()
}

/// One pool's life: build, use, end as `end` says.
fn life(rng: &mut Rng, end: End) {
    let workers = 1 + rng.below(4) as usize;
    let pool = ThreadPool::builder()
        .max_workers(workers)
        .thread_name_prefix("many")
        .build()
        .unwrap();
    // Use it: plain, nested, panicking, mapped and watched work.
    assert_eq!(pool.submit(|| fib(8)).unwrap().result().unwrap(), 21);
    let panicked = pool.submit(|| -> u8 { std::panic::resume_unwind(Box::new("quiet")) });
    assert!(panicked.unwrap().result().unwrap_err().is_panic());
    let squares: u64 = pool.map(|x: u64| x * x, 0..20).map(Result::unwrap).sum();
    assert_eq!(squares, 2470);
    let handles: Vec<_> = (0..8u64).map(|i| pool.submit(move || i).unwrap()).collect();
    assert_eq!(stealpool::as_completed(handles).count(), 8);
    match end {
        End::Drop => drop(pool),
        End::Shutdown => {
            pool.shutdown();
            drop(pool);
        }
        End::CancelNoWait => {
            let hold = Latch::new();
            let blocker = support::submit_after(&pool, &hold, || ());
            let queued: Vec<_> = (0..16).map(|i| pool.submit(move || i).unwrap()).collect();
            pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
            hold.open(); // before the drop: dropping the last clone waits
            drop(pool);
            let _ = blocker.result(); // cancelled if it had not started
            for h in queued {
                let _ = h.result(); // a value or Cancelled: either resolves
            }
        }
        End::DropInTask => {
            let hold = Latch::new();
            let last = pool.clone();
            let task = support::submit_after(&pool, &hold, move || drop(last));
            drop(pool);
            hold.open();
            task.result().unwrap();
        }
        End::DropCurrentInTask => {
            let (got, hold) = (Latch::new(), Latch::new());
            let (g, h) = (got.clone(), hold.clone());
            let task = pool
                .submit(move || {
                    let me = ThreadPool::current().unwrap();
                    g.open();
                    h.wait();
                    drop(me);
                })
                .unwrap();
            got.wait();
            drop(pool);
            hold.open();
            task.result().unwrap();
        }
    }
}

/// Runs `f` on a new thread and waits for it. Every pool is used from such
/// a thread: crossbeam-epoch (under crossbeam-deque) keeps each thread's
/// deferred frees in a per-thread bag that only reaches the global queue
/// when the bag fills or the thread exits, so a long-lived thread that
/// touched a deque would hold up to 63 frees back for good.
fn on_fresh_thread(f: impl FnOnce() + Send) {
    std::thread::scope(|s| s.spawn(f).join().expect("a pool's life failed"));
}

/// Drives crossbeam-epoch's deferred frees (old deque blocks, exited
/// threads' records): they run when later pins advance the epoch. One flush
/// leaves about the same residue each time, so counts taken after a flush
/// compare.
fn flush_deferred_frees(threads: usize) {
    on_fresh_thread(|| {
        let pool = ThreadPool::new(1).unwrap();
        for _ in 0..20 {
            let handles: Vec<_> = (0..1000).map(|_| pool.submit(|| ()).unwrap()).collect();
            handles.iter().for_each(|h| h.result().unwrap());
        }
    });
    assert!(support::eventually(|| support::thread_count() <= threads));
}

#[test]
fn a_thousand_pools_leave_no_threads_or_allocations_behind() {
    let seed = support::seed(0x9001_2026);
    let pools = support::env_usize("STEALPOOL_POOLS", 1000);
    let ends = [
        End::Drop,
        End::Shutdown,
        End::CancelNoWait,
        End::DropInTask,
        End::DropCurrentInTask,
    ];
    let threads_before = support::thread_count();
    let mut rng = Rng::new(seed.0, 0);
    // Warm up what the first pool initializes once per process (thread
    // bookkeeping, the output capture buffer, lazy statics).
    for &end in &ends {
        on_fresh_thread(|| life(&mut rng, end));
    }
    let settled = |start: usize| support::eventually(|| support::thread_count() <= start);
    assert!(settled(threads_before), "warm-up pools left threads behind");
    flush_deferred_frees(threads_before);
    let allocs_before = live();
    println!("before: {threads_before} threads, {allocs_before:?} live (blocks, bytes)");

    for i in 0..pools {
        let end = ends[rng.below(ends.len() as u64) as usize];
        on_fresh_thread(|| life(&mut rng, end));
        if i % 100 == 99 {
            // Pools ended from their own tasks exit in the background.
            assert!(settled(threads_before + 64), "threads pile up");
        }
    }
    assert!(
        settled(threads_before),
        "{} threads after {pools} pools, {threads_before} before",
        support::thread_count()
    );
    let back = support::eventually(|| {
        flush_deferred_frees(threads_before);
        let now = live();
        now.0 <= allocs_before.0 && now.1 <= allocs_before.1
    });
    let allocs_after = live();
    println!(
        "after {pools} pools: {} threads, {allocs_after:?} live (blocks, bytes)",
        support::thread_count()
    );
    assert!(
        back,
        "{} blocks ({} bytes) still live",
        allocs_after.0 - allocs_before.0,
        allocs_after.1 - allocs_before.1
    );
}

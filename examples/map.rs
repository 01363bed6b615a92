//! Ordered bulk processing with `pool.map`, like Python's `Executor.map`:
//! results come back in input order even though the tasks finish in another
//! order, and each item's outcome is its own.
//!
//! 1. Eight items whose work gets shorter as the index grows, one task per
//!    item (`chunk_size(1)`) on eight workers: they finish roughly in
//!    reverse, yet the iterator yields item 0 first. The finish order is
//!    recorded by the tasks themselves and printed beside the output order.
//! 2. A panic in one item is that item's `Err`; the other items still run.
//! 3. A larger CPU-bound map with automatic chunking, checked against a
//!    sequential loop.
//! 4. Eager, then lazy: the call to `map` pulls and submits a first window
//!    (4 single-item chunks per worker) at once, like Python 3.14's
//!    `buffersize`; from then on input is pulled only as results are
//!    handed out, so an endless input runs in bounded memory.
//! 5. Because the first window was submitted at the call, it runs through
//!    a plain `shutdown()`; every item pulled after that is an
//!    `Err(Shutdown)`, so each item still gets exactly one outcome. (A
//!    dropped iterator, by contrast, cancels what has not started.)
//!
//! Run: `cargo run --release --example map`

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stealpool::{TaskError, ThreadPool};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadPool::new(8)?;

    // 1. Out-of-order finishing, in-order results.
    let finished = Arc::new(Mutex::new(Vec::new()));
    let log = finished.clone();
    let start = Instant::now();
    let work = move |i: u64| {
        std::thread::sleep(Duration::from_millis(20 * (8 - i)));
        log.lock().unwrap().push(i);
        i * i
    };
    let mut output = Vec::new();
    for (position, result) in pool.map(work, 0..8).chunk_size(1).enumerate() {
        let square = result?;
        println!(
            "  output #{position}: {square:>2} (item {position}) at {:>3} ms",
            start.elapsed().as_millis()
        );
        output.push(square);
    }
    let finish_order = finished.lock().unwrap().clone();
    println!("finish order of the tasks: {finish_order:?}");
    println!(
        "output order of the items: {:?}",
        (0..8).collect::<Vec<u64>>()
    );
    println!("values in output order:    {output:?}");
    assert_eq!(output, (0..8u64).map(|i| i * i).collect::<Vec<_>>());
    if finish_order.last() == Some(&0) {
        println!(
            "item 0 finished last, so the first output waited for it; the rest were ready by then"
        );
    }

    // 2. One failing item does not fail the batch.
    println!();
    std::panic::set_hook(Box::new(|_| {})); // the one panic below is expected
    let parsed: Vec<_> = pool
        .map(
            |s: &'static str| s.parse::<u32>().expect("not a number"),
            ["7", "11", "x", "42"],
        )
        .collect();
    let _ = std::panic::take_hook();
    for (input, result) in ["7", "11", "x", "42"].iter().zip(&parsed) {
        match result {
            Ok(n) => println!("  {input:>3} -> {n}"),
            Err(e) => println!("  {input:>3} -> {e}"),
        }
    }
    assert!(parsed[2].as_ref().is_err_and(|e| e.is_panic()));
    assert!(parsed[3].is_ok());

    // 3. Many small CPU-bound items: chunks are sized automatically.
    println!();
    let n = 100_000u64;
    let mix = |x: u64| (0..1000).fold(x, |h, k| h.rotate_left(7) ^ (k * 0x9E37_79B9));
    let start = Instant::now();
    let parallel: Vec<u64> = pool.map(mix, 0..n).collect::<Result<_, _>>()?;
    let parallel_time = start.elapsed();
    let start = Instant::now();
    let sequential: Vec<u64> = (0..n).map(mix).collect();
    let sequential_time = start.elapsed();
    assert_eq!(parallel, sequential);
    println!(
        "{n} items: map {parallel_time:.1?} on {} workers ({} cores), sequential {sequential_time:.1?}; same values in the same order",
        pool.max_workers(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    // 4. Eager for one window, lazy after it.
    println!();
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = pulled.clone();
    let input = (0..1_000u64).inspect(move |_| {
        counter.fetch_add(1, SeqCst);
    });
    let mut it = pool.map(|x: u64| x + 1, input);
    let window = 4 * pool.max_workers();
    println!(
        "  at the call:             {:>4} of 1000 items pulled and submitted (the window: 4 per worker)",
        pulled.load(SeqCst)
    );
    assert_eq!(pulled.load(SeqCst), window);
    assert_eq!(it.next().transpose()?, Some(1));
    println!(
        "  after the first result:  {:>4} pulled (the window topped up, chunks now sized by measured time)",
        pulled.load(SeqCst)
    );
    let rest = it.collect::<Result<Vec<_>, _>>()?;
    println!(
        "  after collecting:        {:>4} pulled, {} more results",
        pulled.load(SeqCst),
        rest.len()
    );

    // 5. What went in at the call survives a plain shutdown.
    println!();
    let small = ThreadPool::new(2)?;
    let it = small.map(|x: i32| x.abs(), -5..5);
    small.shutdown(); // no iteration yet: the first window (8 items) runs anyway
    for (x, outcome) in (-5..5).zip(it) {
        match outcome {
            Ok(v) => println!("  abs({x:>2}) = {v}"),
            Err(TaskError::Shutdown) => {
                println!("  abs({x:>2}): pulled after the shutdown, refused")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

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
//!
//! Run: `cargo run --release --example map`

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stealpool::ThreadPool;

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
    Ok(())
}

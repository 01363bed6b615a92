//! The basics: submit returns a handle at once, `result()` blocks until that
//! task has finished and moves its value out.
//!
//! Six simulated fetches (a sleep stands in for network latency) run on four
//! workers: the batch takes a little longer than the slowest fetch (six
//! fetches do not all fit on four workers at once), far less than the sum. A fetch that fails returns its `Err` as the
//! task's value: the pool only sees a value, the caller decides what it means.
//!
//! Run: `cargo run --release --example basic`

use std::time::{Duration, Instant};
use stealpool::ThreadPool;

/// A pretend HTTP GET: waits `latency`, then returns the body length.
fn fetch(url: &str, latency: Duration) -> Result<usize, String> {
    std::thread::sleep(latency);
    if url.ends_with("/missing") {
        return Err(format!("{url}: 404 not found"));
    }
    Ok(url.len() * 100)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pool = ThreadPool::new(4)?;
    let requests = [
        ("https://example.invalid/", 120),
        ("https://example.invalid/about", 80),
        ("https://example.invalid/missing", 40),
        ("https://example.invalid/blog", 150),
        ("https://example.invalid/docs", 60),
        ("https://example.invalid/contact", 100),
    ];
    let sequential: u64 = requests.iter().map(|(_, ms)| ms).sum();

    let start = Instant::now();
    let mut handles = Vec::new();
    for (url, ms) in requests {
        // The closure owns what it uses: tasks may outlive this stack frame.
        handles.push(pool.submit(move || fetch(url, Duration::from_millis(ms)))?);
    }
    println!(
        "submitted {} fetches in {:?} (submit does not wait)",
        handles.len(),
        start.elapsed()
    );

    // Collect in submission order; each `result()` waits only for its task.
    let mut bytes = 0;
    for ((url, ms), handle) in requests.iter().zip(&handles) {
        // The outer `?` is the pool's error (a panic, a cancel); the inner
        // `Result` is the fetch's own.
        match handle.result()? {
            Ok(n) => {
                bytes += n;
                println!("  {url:<34} {ms:>3} ms  -> {n} bytes");
            }
            Err(e) => println!("  {url:<34} {ms:>3} ms  -> error: {e}"),
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{bytes} bytes in {elapsed:.0?} on {} workers; one after another would take {sequential} ms",
        pool.max_workers()
    );

    pool.shutdown(); // optional: dropping the last clone does the same
    Ok(())
}

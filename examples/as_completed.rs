//! Handle results as they finish with `stealpool::as_completed`, like
//! Python's `concurrent.futures.as_completed`, with every task's failure
//! handled on its own.
//!
//! Ten simulated downloads of different latencies run on four workers. Two
//! return an `Err` (the task's own error, a value like any other) and one
//! panics (the pool's `TaskError::Panicked`). Each line is printed the moment
//! its download finishes, fastest first; one failure never stops the others.
//!
//! Run: `cargo run --release --example as_completed`

use std::time::{Duration, Instant};
use stealpool::{as_completed, TaskError, ThreadPool};

/// A finished download.
struct Download {
    id: usize,
    bytes: usize,
}

/// A pretend download: `latency` of waiting, then a size, an error or a panic.
fn download(id: usize, latency: Duration) -> Result<Download, String> {
    std::thread::sleep(latency);
    match id {
        3 => Err(format!("file {id}: HTTP 503 service unavailable")),
        6 => Err(format!("file {id}: checksum mismatch")),
        8 => panic!("file {id}: decoder bug"),
        _ => Ok(Download {
            id,
            bytes: 1000 + id * 317,
        }),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The panic below is expected: one line on stderr instead of the
    // default message (and a backtrace when RUST_BACKTRACE is set).
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("?");
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("unnamed");
        eprintln!("  (panic hook, thread {name}: {message})");
    }));

    let pool = ThreadPool::new(4)?;
    let start = Instant::now();
    let mut handles = Vec::new();
    let mut sequential = 0;
    for id in 0..10 {
        // Deterministic, uneven latencies between 30 and 300 ms.
        let ms = 30 + (id as u64 * 7919) % 271;
        sequential += ms;
        handles.push(pool.submit(move || download(id, Duration::from_millis(ms)))?);
    }

    let mut finished = as_completed(handles);
    let total = finished.total();
    let (mut ok, mut bytes, mut errors, mut panics) = (0, 0, Vec::new(), Vec::new());
    while let Some(handle) = finished.next() {
        let k = total - finished.remaining();
        let at = start.elapsed().as_millis();
        // `result()` returns at once: as_completed only yields finished tasks.
        match handle.result() {
            Ok(Ok(d)) => {
                ok += 1;
                bytes += d.bytes;
                println!(
                    "[{k:>2}/{total}] {at:>4} ms  file {}: {} bytes",
                    d.id, d.bytes
                );
            }
            Ok(Err(e)) => {
                println!("[{k:>2}/{total}] {at:>4} ms  failed: {e}");
                errors.push(e);
            }
            Err(TaskError::Panicked(p)) => {
                println!("[{k:>2}/{total}] {at:>4} ms  panicked: {}", p.message());
                panics.push(p.message().to_owned());
            }
            Err(other) => return Err(other.into()),
        }
    }
    println!(
        "{ok} ok ({bytes} bytes), {} errors, {} panics in {:.0?}; one after another: {sequential} ms",
        errors.len(),
        panics.len(),
        start.elapsed()
    );
    assert_eq!((ok, errors.len(), panics.len()), (7, 2, 1));
    Ok(())
}

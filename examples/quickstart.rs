//! Submit a few tasks, collect their results, see a panic and a cancel.
use std::time::{Duration, Instant};
use stealpool::ThreadPool;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // One task below panics on purpose: say so in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| eprintln!("(a task panicked: {info})")));
    let pool = ThreadPool::new(4)?;
    let start = Instant::now();
    let handles: Vec<_> = (1..=8u64)
        .map(|i| {
            pool.submit(move || {
                std::thread::sleep(Duration::from_millis(20 * i));
                i * i
            })
        })
        .collect::<Result<_, _>>()?;
    for (i, h) in handles.iter().enumerate() {
        println!("task {} -> {}", i + 1, h.result()?);
    }
    println!(
        "8 tasks of 20-160 ms on 4 workers took {:?}",
        start.elapsed()
    );

    let boom = pool.submit(|| -> u32 { panic!("boom") })?;
    println!("panicking task: {}", boom.result().unwrap_err());

    let blocker = pool.submit(|| std::thread::sleep(Duration::from_millis(50)))?;
    let blockers = (0..3)
        .map(|_| pool.submit(|| std::thread::sleep(Duration::from_millis(50))))
        .collect::<Result<Vec<_>, _>>()?;
    let queued = pool.submit(|| "ran")?;
    println!("cancel a queued task: {}", queued.cancel());
    println!("its result: {}", queued.result().unwrap_err());
    blocker.result()?;
    for b in blockers {
        b.result()?;
    }
    pool.shutdown();
    println!("submit after shutdown: {}", pool.submit(|| ()).unwrap_err());
    Ok(())
}

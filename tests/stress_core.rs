//! 1,000,000 tasks from 4 threads at once with random cancels: every handle
//! resolves exactly once with the right outcome.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use stealpool::{TaskError, ThreadPool};

/// Total tasks; `STEALPOOL_STRESS_SCALE` (a float, default 1) scales it.
fn total_tasks() -> usize {
    let scale: f64 = std::env::var("STEALPOOL_STRESS_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    ((1_000_000.0 * scale) as usize).max(4)
}

/// splitmix64: a seeded, reproducible stream.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn million_tasks_from_four_threads_with_random_cancels() {
    let seed: u64 = std::env::var("STEALPOOL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED);
    println!("seed {seed}");
    let total = total_tasks();
    let per_thread = total / 4;
    let pool = ThreadPool::new(2).unwrap();
    // runs[i] counts how often task i's closure ran (must end 0 or 1).
    let runs: Arc<Vec<AtomicU8>> =
        Arc::new((0..per_thread * 4).map(|_| AtomicU8::new(0)).collect());
    let cancelled = Arc::new(AtomicUsize::new(0));
    let submitters: Vec<_> = (0..4)
        .map(|t| {
            let pool = pool.clone();
            let runs = runs.clone();
            let cancelled = cancelled.clone();
            std::thread::spawn(move || {
                let mut rng = seed ^ (t as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407);
                let mut handles = Vec::with_capacity(1024);
                for k in 0..per_thread {
                    let id = t * per_thread + k;
                    let r = runs.clone();
                    let h = pool
                        .submit(move || {
                            r[id].fetch_add(1, SeqCst);
                            id
                        })
                        .unwrap();
                    if splitmix(&mut rng) % 8 == 0 {
                        h.cancel(); // may win or lose against a worker
                    }
                    handles.push((id, h));
                    if handles.len() == 1024 || k + 1 == per_thread {
                        for (id, h) in handles.drain(..) {
                            match h.result() {
                                Ok(v) => {
                                    assert_eq!(v, id);
                                    assert_eq!(runs[id].load(SeqCst), 1, "task {id} ran once");
                                }
                                Err(TaskError::Cancelled) => {
                                    assert!(h.cancelled());
                                    assert_eq!(
                                        runs[id].load(SeqCst),
                                        0,
                                        "cancelled task {id} never ran"
                                    );
                                    cancelled.fetch_add(1, SeqCst);
                                }
                                Err(e) => panic!("task {id}: unexpected {e}"),
                            }
                            // A value moves out once; a cancellation reads the same every time.
                            match h.result() {
                                Err(TaskError::ResultTaken) => assert!(!h.cancelled()),
                                Err(TaskError::Cancelled) => assert!(h.cancelled()),
                                other => panic!("task {id}: second wait gave {other:?}"),
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for s in submitters {
        s.join().unwrap();
    }
    pool.shutdown();
    let ran = runs.iter().filter(|r| r.load(SeqCst) == 1).count();
    assert!(runs.iter().all(|r| r.load(SeqCst) <= 1));
    assert_eq!(ran + cancelled.load(SeqCst), per_thread * 4);
    println!(
        "{} tasks: {ran} ran, {} cancelled",
        per_thread * 4,
        cancelled.load(SeqCst)
    );
}

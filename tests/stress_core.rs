//! 1,000,000 tasks from 4 threads at once with random cancels: every handle
//! resolves exactly once with the right outcome.
//!
//! Sized by `STEALPOOL_STRESS_SCALE`; seeded by `STEALPOOL_SEED`.

mod support;

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use stealpool::{TaskError, ThreadPool};
use support::Rng;

#[test]
fn million_tasks_from_four_threads_with_random_cancels() {
    let seed = support::seed(0x5EED);
    let seed_value = seed.0;
    let total = support::scaled(1_000_000, 4);
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
                let mut rng = Rng::new(seed_value, t as u64);
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
                    if rng.one_in(8) {
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

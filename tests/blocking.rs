//! blocking(): another worker takes over while a task blocks, up to
//! max_blocking; outside the pool it just runs the closure.

use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;
use stealpool::ThreadPool;

/// Waits (bounded) until `cond` holds; the bound turns a bug into a failure
/// instead of a hang, and is not a timing assertion.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

#[test]
fn outside_the_pool_it_just_runs() {
    assert_eq!(stealpool::blocking(|| "ran"), "ran");
}

#[test]
fn queued_work_flows_while_every_worker_blocks() {
    // Two workers, both blocked on a channel inside blocking sections; the
    // task that unblocks them is queued behind them and still runs.
    let pool = ThreadPool::builder()
        .max_workers(2)
        .max_blocking(2)
        .build()
        .unwrap();
    let started = Arc::new(Barrier::new(3));
    let (tx, rx) = mpsc::channel::<()>();
    let rx = Arc::new(std::sync::Mutex::new(rx));
    let blocked: Vec<_> = (0..2)
        .map(|_| {
            let (s, rx) = (started.clone(), rx.clone());
            pool.submit(move || {
                stealpool::blocking(|| {
                    s.wait(); // both workers are inside their sections
                    rx.lock().unwrap().recv().unwrap()
                });
            })
            .unwrap()
        })
        .collect();
    started.wait();
    let cpu: Vec<_> = (0..100u64)
        .map(|i| pool.submit(move || i * 2).unwrap())
        .collect();
    assert_eq!(cpu.iter().map(|h| h.result().unwrap()).sum::<u64>(), 9900);
    let stats = pool.stats();
    assert_eq!(stats.blocked, 2);
    assert!(stats.blocking_workers >= 1 && stats.blocking_workers <= 2);
    tx.send(()).unwrap();
    tx.send(()).unwrap();
    blocked.iter().for_each(|h| h.result().unwrap());
    assert!(
        eventually(|| pool.stats().blocking_workers == 0),
        "surplus extras retire"
    );
    pool.shutdown();
    assert_eq!(pool.stats().blocked, 0);
}

#[test]
fn without_compensation_blocking_only_runs_the_closure() {
    let pool = ThreadPool::builder()
        .max_workers(1)
        .max_blocking(0)
        .build()
        .unwrap();
    let h = pool.submit(|| stealpool::blocking(|| 5)).unwrap();
    assert_eq!(h.result().unwrap(), 5);
    assert_eq!(pool.stats().blocking_workers, 0);
}

#[test]
fn nested_sections_count_once_and_extra_workers_are_joined_on_shutdown() {
    let stops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let s = stops.clone();
    let pool = ThreadPool::builder()
        .max_workers(1)
        .max_blocking(3)
        .on_worker_stop(move |_| {
            s.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let (tx, rx) = mpsc::channel::<u8>();
    let h = pool
        .submit(move || stealpool::blocking(|| stealpool::blocking(|| rx.recv().unwrap())))
        .unwrap();
    let feeder = pool.submit(move || tx.send(9).unwrap()).unwrap();
    feeder.result().unwrap();
    assert_eq!(h.result().unwrap(), 9);
    let stats = pool.stats();
    assert!(
        stats.blocking_workers <= 1,
        "nested sections started {} extras",
        stats.blocking_workers
    );
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!((stats.blocked, stats.blocking_workers), (0, 0));
    assert_eq!(
        stops.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the worker and its extra stopped"
    );
}

#[test]
fn a_worker_blocked_in_blocking_can_still_wait_on_handles() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool
        .submit(|| {
            stealpool::blocking(|| {
                let child = ThreadPool::current().unwrap().submit(|| 3).unwrap();
                child.result().unwrap()
            })
        })
        .unwrap();
    assert_eq!(h.result().unwrap(), 3);
}

#[test]
fn a_worker_that_blocks_while_an_extra_retires_is_covered_when_the_slot_frees() {
    // One slot for extras. The first extra retires and, in its stop hook,
    // waits until another task has entered a blocking section: that section
    // found no free slot. When the slot comes free, it must be covered, or
    // the task that unblocks it never runs.
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let entered_rx = std::sync::Mutex::new(Some(entered_rx));
    let pool = ThreadPool::builder()
        .max_workers(1)
        .max_blocking(1)
        .on_worker_stop(move |index| {
            if index == 1 {
                if let Some(rx) = entered_rx.lock().unwrap().take() {
                    rx.recv().unwrap();
                }
            }
        })
        .build()
        .unwrap();
    let (a_tx, a_rx) = mpsc::channel::<()>();
    let a = pool
        .submit(move || stealpool::blocking(|| a_rx.recv().unwrap()))
        .unwrap();
    pool.submit(move || a_tx.send(()).unwrap())
        .unwrap()
        .result()
        .unwrap();
    a.result().unwrap();
    assert!(
        eventually(|| pool.stats().blocking_workers == 0),
        "the first extra retires"
    );
    let (c_tx, c_rx) = mpsc::channel::<u32>();
    let c = pool
        .submit(move || {
            stealpool::blocking(|| {
                entered_tx.send(()).unwrap();
                c_rx.recv().unwrap()
            })
        })
        .unwrap();
    let d = pool.submit(move || c_tx.send(4).unwrap()).unwrap();
    d.result_timeout(Duration::from_secs(30))
        .expect("the unblocking task ran");
    assert_eq!(c.result().unwrap(), 4);
}

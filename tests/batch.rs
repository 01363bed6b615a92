//! `ThreadPool::submit_all`: handles in order, the batch accepted or refused
//! whole, and every closure run, cancelled or handed back exactly once
//! (shutdown racing the batch, a broken pool, cancels, a panicking input).

mod support;

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use stealpool::{ShutdownOptions, SubmitError, TaskError, TaskHandle, ThreadPool};
use support::{eventually, scaled, Census, Counted, Latch, Watchdog};

/// One counter per item: how often its closure ran.
fn run_counts(n: usize) -> Arc<Vec<AtomicUsize>> {
    Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect())
}

/// Closures that count their run and return their index plus `offset`;
/// each owns a `Counted`, so the census sees every closure dropped.
fn counting_closures(
    runs: &Arc<Vec<AtomicUsize>>,
    census: &Census,
    offset: u64,
) -> impl Iterator<Item = impl FnOnce() -> u64 + Send + 'static> {
    let (runs, census) = (runs.clone(), census.clone());
    (0..runs.len()).map(move |i| {
        let (runs, token) = (runs.clone(), census.make(i as u64));
        move || {
            let token = token; // the whole value, not just its field
            runs[i].fetch_add(1, SeqCst);
            token.value + offset
        }
    })
}

/// Busy-waits about `n` spin hints: a start offset, not a timing.
fn spin(n: usize) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

fn total(runs: &[AtomicUsize]) -> usize {
    runs.iter().map(|r| r.load(SeqCst)).sum()
}

/// A one-worker pool whose worker is held until the latch opens, so
/// nothing else starts meanwhile.
fn held_pool() -> (ThreadPool, Latch, TaskHandle<()>) {
    let pool = ThreadPool::new(1).unwrap();
    let (started, hold) = (Latch::new(), Latch::new());
    let (s, h) = (started.clone(), hold.clone());
    let blocker = pool
        .submit(move || {
            s.open();
            h.wait();
        })
        .unwrap();
    started.wait();
    (pool, hold, blocker)
}

#[test]
fn handles_come_back_in_input_order_and_each_task_runs_once() {
    let pool = ThreadPool::new(2).unwrap();
    let (runs, census) = (run_counts(1000), Census::new());
    let handles = pool
        .submit_all(counting_closures(&runs, &census, 7))
        .unwrap();
    assert_eq!(handles.len(), 1000);
    for (i, h) in handles.iter().enumerate() {
        assert_eq!(h.result().unwrap(), i as u64 + 7);
    }
    assert!(runs.iter().all(|r| r.load(SeqCst) == 1));
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        (stats.submitted, stats.completed, stats.cancelled),
        (1000, 1000, 0)
    );
    assert_eq!(
        census.dropped(),
        1000,
        "every closure dropped once, after its run"
    );
}

#[test]
fn an_empty_batch_is_accepted_until_shutdown() {
    let pool = ThreadPool::new(1).unwrap();
    let none = std::iter::empty::<fn() -> u8>();
    assert!(pool.submit_all(none).unwrap().is_empty());
    pool.shutdown();
    let err = pool
        .submit_all(std::iter::empty::<fn() -> u8>())
        .unwrap_err();
    assert!(err.is_shutdown());
    assert!(err.into_inner().is_empty());
    assert_eq!(pool.stats().submitted, 0);
}

#[test]
fn a_batch_after_shutdown_comes_back_whole_and_in_order() {
    let pool = ThreadPool::new(2).unwrap();
    pool.shutdown();
    let (runs, census) = (run_counts(5), Census::new());
    let err = pool
        .submit_all(counting_closures(&runs, &census, 100))
        .unwrap_err();
    assert!(err.is_shutdown() && !err.is_broken());
    assert_eq!(err.to_string(), "submit after shutdown");
    assert!(matches!(TaskError::from(err), TaskError::Shutdown));
    assert_eq!(census.dropped(), 5, "`?` drops the closures, unrun");
    assert_eq!(total(&runs), 0);

    let err = pool
        .submit_all(counting_closures(&runs, &census, 100))
        .unwrap_err();
    let back: Vec<u64> = err.into_inner().into_iter().map(|f| f()).collect();
    assert_eq!(back, [100, 101, 102, 103, 104]);
    assert_eq!(total(&runs), 5, "each handed-back closure ran once, here");
    assert_eq!(census.dropped(), 10);
}

/// The input shuts the pool down while the batch is being built, with the
/// only worker busy: the push then sees the shutdown, and the submitter
/// takes the batch back before any worker could claim it.
#[test]
fn a_shutdown_during_the_batch_takes_it_back_whole() {
    let (pool, hold, blocker) = held_pool();
    let (runs, census) = (run_counts(6), Census::new());
    let p = pool.clone();
    let input = counting_closures(&runs, &census, 0)
        .enumerate()
        .map(move |(i, f)| {
            if i == 3 {
                p.shutdown_with(ShutdownOptions::new().wait(false));
            }
            f
        });
    let err = pool.submit_all(input).unwrap_err();
    assert!(err.is_shutdown());
    let closures = err.into_inner();
    assert_eq!(closures.len(), 6);
    assert_eq!(census.dropped(), 0, "nothing dropped: all handed back");
    hold.open();
    blocker.result().unwrap();
    pool.shutdown();
    assert_eq!(total(&runs), 0, "no member ran");
    let stats = pool.stats();
    assert_eq!(
        stats.cancelled, 6,
        "the taken-back entry counts each member"
    );
    assert_eq!((stats.completed, stats.submitted), (1, 7));
    drop(closures);
    assert_eq!(census.dropped(), 6);
}

/// Shutdown (plain or cancelling) from another thread races batches: each
/// batch is accepted (every member then runs or, for a cancelling
/// shutdown, runs or is cancelled) or refused whole (every closure handed
/// back); no closure is lost or run twice.
#[test]
fn shutdown_racing_batches_loses_and_repeats_nothing() {
    let _watchdog = Watchdog::new("shutdown racing batches", Duration::from_secs(120));
    let rounds = scaled(200, 20);
    let (mut accepted, mut refused) = (0, 0);
    for round in 0..rounds {
        let cancel = round % 2 == 1;
        let pool = ThreadPool::new(2).unwrap();
        let (runs, census) = (run_counts(64), Census::new());
        let start = Arc::new(Barrier::new(2));
        let (p, s) = (pool.clone(), start.clone());
        // Staggered starts, so the shutdown lands before, during and after
        // the batch's push in different rounds.
        let (stop_delay, submit_delay) = ((round * 7919) % 4000, (round * 104_729) % 4000);
        let stopper = std::thread::spawn(move || {
            s.wait();
            spin(stop_delay);
            p.shutdown_with(ShutdownOptions::new().cancel_pending(cancel));
        });
        start.wait();
        spin(submit_delay);
        match pool.submit_all(counting_closures(&runs, &census, 0)) {
            Ok(handles) => {
                accepted += 1;
                for (i, h) in handles.iter().enumerate() {
                    match h.result() {
                        Ok(v) => assert_eq!(v, i as u64),
                        Err(TaskError::Cancelled) if cancel => {
                            assert_eq!(runs[i].load(SeqCst), 0, "a cancelled member ran")
                        }
                        Err(e) => panic!("member {i}: {e}"),
                    }
                }
                let ran = handles.iter().zip(runs.iter());
                for (h, r) in ran {
                    assert_eq!(r.load(SeqCst), usize::from(!h.cancelled()));
                }
            }
            Err(err) => {
                refused += 1;
                assert!(err.is_shutdown());
                let closures = err.into_inner();
                assert_eq!(closures.len(), 64);
                assert_eq!(total(&runs), 0, "a refused batch ran a member");
                closures.into_iter().for_each(|f| assert!(f() < 64));
                assert!(runs.iter().all(|r| r.load(SeqCst) == 1));
            }
        }
        stopper.join().unwrap();
        pool.shutdown();
        drop(pool);
        assert!(eventually(|| census.dropped() == 64), "a closure leaked");
        assert_eq!(census.created(), 64);
    }
    println!("{accepted} batches accepted, {refused} refused");
}

#[test]
fn a_batch_from_inside_a_task_runs_on_its_pool_even_after_shutdown() {
    let pool = ThreadPool::new(1).unwrap();
    let (go, done) = (Latch::new(), Latch::new());
    let (g, d) = (go.clone(), done.clone());
    let outer = pool
        .submit(move || -> Result<u64, TaskError> {
            let pool = ThreadPool::current().expect("on a worker");
            let first = pool.submit_all((0..10u64).map(|i| move || i))?;
            g.wait(); // the pool is shut down by now
            let second = pool.submit_all((10..20u64).map(|i| move || i))?;
            d.open();
            let mut sum = 0;
            for h in first.iter().chain(&second) {
                sum += h.result()?; // one worker: the waits run them here
            }
            Ok(sum)
        })
        .unwrap();
    pool.shutdown_with(ShutdownOptions::new().wait(false));
    go.open();
    done.wait();
    assert_eq!(outer.result().unwrap().unwrap(), 190);
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!((stats.submitted, stats.completed), (21, 21));
}

#[test]
fn a_batch_for_another_pool_from_a_task_is_an_outside_batch() {
    let (a, b) = (ThreadPool::new(1).unwrap(), ThreadPool::new(1).unwrap());
    b.shutdown();
    let b2 = b.clone();
    let refused = a
        .submit(move || b2.submit_all((0..3u8).map(|i| move || i)).map(|h| h.len()))
        .unwrap()
        .result()
        .unwrap();
    let err = refused.unwrap_err();
    assert!(err.is_shutdown());
    assert_eq!(err.into_inner().len(), 3);
}

#[test]
fn members_cancel_one_by_one() {
    let (pool, hold, blocker) = held_pool();
    let (runs, census) = (run_counts(10), Census::new());
    let handles = pool
        .submit_all(counting_closures(&runs, &census, 0))
        .unwrap();
    // The batch waits in the queue (its one entry) behind the held worker.
    assert_eq!(pool.stats().tasks_queued, 1);
    assert!(handles[3].cancel() && handles[7].cancel());
    assert!(handles[3].cancel(), "a cancelled task stays cancelled");
    assert_eq!(census.dropped(), 2, "a cancel drops the closure at once");
    hold.open();
    blocker.result().unwrap();
    for (i, h) in handles.iter().enumerate() {
        match h.result() {
            Ok(v) => assert_eq!(v, i as u64),
            Err(e) => assert!(e.is_cancelled() && (i == 3 || i == 7), "{i}: {e}"),
        }
    }
    pool.shutdown();
    assert_eq!(runs[3].load(SeqCst) + runs[7].load(SeqCst), 0);
    assert_eq!(total(&runs), 8);
    let stats = pool.stats();
    assert_eq!(
        (stats.cancelled, stats.completed, stats.submitted),
        (2, 9, 11)
    );
    assert_eq!(census.dropped(), 10);
}

#[test]
fn a_cancelling_shutdown_cancels_a_queued_batch_member_by_member() {
    let (pool, hold, blocker) = held_pool();
    let (runs, census) = (run_counts(5), Census::new());
    let handles = pool
        .submit_all(counting_closures(&runs, &census, 0))
        .unwrap();
    assert!(handles[1].cancel(), "one cancelled before the shutdown");
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    assert!(handles.iter().all(TaskHandle::cancelled));
    assert_eq!(census.dropped(), 5);
    hold.open();
    blocker.result().unwrap();
    pool.shutdown();
    assert_eq!(total(&runs), 0);
    let stats = pool.stats();
    assert_eq!(
        (stats.cancelled, stats.completed, stats.submitted),
        (5, 1, 6)
    );
}

/// A worker waiting on a member whose batch has not been handed out yet
/// claims and runs that member itself; the hand-out then skips it.
#[test]
fn a_waiting_worker_runs_a_member_still_in_its_batch() {
    let (pool, hold, blocker) = held_pool();
    let (tx, rx) = std::sync::mpsc::channel::<TaskHandle<u64>>();
    // Queued before the batch, so it runs first.
    let waiter = pool.submit(move || rx.recv().unwrap().result()).unwrap();
    let handles = pool.submit_all((0..4u64).map(|i| move || i * 3)).unwrap();
    tx.send(handles[2].clone()).unwrap();
    hold.open();
    blocker.result().unwrap();
    assert_eq!(waiter.result().unwrap().unwrap(), 6);
    let values: Vec<u64> = handles.iter().map(|h| h.result().unwrap_or(99)).collect();
    assert_eq!(values, [0, 3, 99, 9], "member 2's value went to the waiter");
    pool.shutdown();
    let stats = pool.stats();
    assert_eq!(
        (stats.submitted, stats.completed, stats.cancelled),
        (6, 6, 0)
    );
}

#[test]
fn a_broken_pool_resolves_an_accepted_batch_and_refuses_the_next() {
    let _watchdog = Watchdog::new("broken pool batch", Duration::from_secs(60));
    let go = Latch::new();
    let g = go.clone();
    let pool = ThreadPool::builder()
        .max_workers(2)
        .initializer(move || {
            g.wait();
            resume_unwind(Box::new("init"));
        })
        .build()
        .unwrap();
    let (runs, census) = (run_counts(20), Census::new());
    // Accepted before any initializer finished: no member may run.
    let handles = pool
        .submit_all(counting_closures(&runs, &census, 0))
        .unwrap();
    go.open();
    for h in &handles {
        assert!(matches!(h.result(), Err(TaskError::PoolBroken)));
    }
    assert_eq!(total(&runs), 0);
    assert!(eventually(|| census.dropped() == 20));
    assert!(eventually(|| pool.submit(|| ()).is_err()));
    match pool.submit_all(counting_closures(&runs, &census, 0)) {
        Err(SubmitError::Broken(closures)) => assert_eq!(closures.len(), 20),
        other => panic!("expected Broken, got {:?}", other.map(|h| h.len())),
    }
    assert_eq!(census.dropped(), 40);
    pool.shutdown();
}

#[test]
fn a_panicking_input_drops_what_it_gave_and_submits_nothing() {
    let pool = ThreadPool::new(2).unwrap();
    let (runs, census) = (run_counts(8), Census::new());
    let input = counting_closures(&runs, &census, 0)
        .enumerate()
        .map(|(i, f)| {
            if i == 5 {
                resume_unwind(Box::new("the input fails at 5"));
            }
            f
        });
    let caught = catch_unwind(AssertUnwindSafe(|| pool.submit_all(input)));
    assert!(caught.is_err());
    assert_eq!(census.created(), 6);
    assert_eq!(census.dropped(), 6, "the five pulled and the sixth, unrun");
    pool.shutdown();
    assert_eq!(total(&runs), 0);
    assert_eq!(pool.stats().submitted, 0);
}

#[test]
fn values_and_closures_are_dropped_once_each() {
    let pool = ThreadPool::new(2).unwrap();
    let (closures, values) = (Census::new(), Census::new());
    let input: Vec<_> = (0..100u64)
        .map(|i| {
            let (token, values) = (closures.make(i), values.clone());
            move || {
                let token = token; // the whole value, not just its field
                values.make(token.value)
            }
        })
        .collect();
    let handles = pool.submit_all(input).unwrap();
    let kept: Vec<Counted> = handles[..50].iter().map(|h| h.result().unwrap()).collect();
    handles[50..].iter().for_each(|h| h.wait());
    assert_eq!(closures.dropped(), 100);
    assert_eq!((values.created(), values.dropped()), (100, 0));
    drop(handles); // 50 values never taken: dropped with their tasks
    assert!(eventually(|| values.dropped() == 50));
    drop(kept);
    assert_eq!(values.dropped(), 100);
}

#[test]
fn a_panicking_member_is_only_its_own_outcome() {
    let pool = ThreadPool::new(2).unwrap();
    let handles = pool
        .submit_all((0..5u32).map(|i| {
            move || {
                if i == 2 {
                    resume_unwind(Box::new("member 2"));
                }
                i
            }
        }))
        .unwrap();
    let outcomes: Vec<Result<u32, bool>> = handles
        .iter()
        .map(|h| h.result().map_err(|e| e.is_panic()))
        .collect();
    assert_eq!(outcomes, [Ok(0), Ok(1), Err(true), Ok(3), Ok(4)]);
}

#[test]
fn batches_from_many_threads_each_run_once() {
    let pool = ThreadPool::new(2).unwrap();
    let per_thread = scaled(50, 5);
    let runs = run_counts(4 * per_thread * 100);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (pool, runs) = (pool.clone(), runs.clone());
            std::thread::spawn(move || {
                for b in 0..per_thread {
                    let base = (t * per_thread + b) * 100;
                    let batch = (base..base + 100).map(|i| {
                        let runs = runs.clone();
                        move || runs[i].fetch_add(1, SeqCst)
                    });
                    for h in pool.submit_all(batch).unwrap() {
                        assert_eq!(h.result().unwrap(), 0);
                    }
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert!(runs.iter().all(|r| r.load(SeqCst) == 1));
}

//! Bad input and misuse a user can reach: each gives a clear typed error
//! (or a documented empty answer), never a panic or a hang.

mod support;

use std::time::Duration;
use stealpool::{
    as_completed, as_completed_timeout, wait, ReturnWhen, ShutdownOptions, TaskError, TaskHandle,
    ThreadPool, MAX_WORKERS,
};
use support::{block_on, submit_after, Latch, Watchdog, HANG};

/// Every `ReturnWhen`, for the empty-input cases.
const ALL_WHENS: [ReturnWhen; 3] = [
    ReturnWhen::FirstCompleted,
    ReturnWhen::FirstError,
    ReturnWhen::AllCompleted,
];

#[test]
fn zero_workers_is_a_build_error() {
    let err = ThreadPool::new(0).unwrap_err();
    assert_eq!(err.to_string(), "max_workers must be at least 1");
    let err = ThreadPool::builder().max_workers(0).build().unwrap_err();
    assert_eq!(err.to_string(), "max_workers must be at least 1");
}

#[test]
fn too_many_workers_or_threads_is_a_build_error() {
    let err = ThreadPool::new(MAX_WORKERS + 1).unwrap_err();
    assert!(err.to_string().contains("at most"), "{err}");
    let err = ThreadPool::builder()
        .max_workers(2)
        .max_blocking(usize::MAX)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("max_blocking"), "{err}");
}

#[test]
fn a_zero_or_tiny_stack_size_is_a_build_error_not_an_abort() {
    for size in [0, 16 << 10] {
        let err = ThreadPool::builder()
            .max_workers(1)
            .stack_size(size)
            .build()
            .unwrap_err();
        assert!(
            err.to_string().starts_with("stack_size must be at least"),
            "{err}"
        );
    }
}

// A stack size the OS refuses, and the minimum at work: tests/builder.rs,
// `stack_size_the_os_refuses_is_a_build_error` and
// `the_minimum_stack_runs_panics_nested_waits_callbacks_and_shutdown`.

#[test]
fn a_thread_name_prefix_with_a_nul_is_a_build_error() {
    let built = std::panic::catch_unwind(|| {
        ThreadPool::builder()
            .max_workers(1)
            .thread_name_prefix("bad\0name")
            .build()
            .map(drop)
    });
    assert!(
        matches!(&built, Ok(Err(e)) if e.to_string().contains("NUL")),
        "build should return a BuildError, not panic or succeed"
    );
}

#[test]
fn submit_after_shutdown_hands_the_closure_back() {
    let pool = ThreadPool::new(1).unwrap();
    pool.shutdown();
    let err = pool.submit(|| 3).unwrap_err();
    assert!(err.is_shutdown() && !err.is_broken());
    assert_eq!(err.to_string(), "submit after shutdown");
    assert_eq!(err.into_inner()(), 3);
    let err = pool.submit_fallible(|| Ok::<u8, ()>(1)).unwrap_err();
    assert!(err.is_shutdown());
    // map over a shut-down pool: each item says so, then the iteration ends.
    let out: Vec<_> = pool.map(|x: u8| x, [1, 2, 3]).chunk_size(1).collect();
    assert!(!out.is_empty());
    assert!(out.iter().all(|r| matches!(r, Err(TaskError::Shutdown))));
    // Shutting down again, in any mode, is fine.
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    pool.shutdown();
}

#[test]
fn waiting_twice_gives_result_taken() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| String::from("once")).unwrap();
    assert_eq!(h.result().unwrap(), "once");
    assert!(matches!(h.result(), Err(TaskError::ResultTaken)));
    assert!(matches!(h.clone().result(), Err(TaskError::ResultTaken)));
    assert!(matches!(
        h.result_timeout(Duration::ZERO),
        Err(TaskError::ResultTaken)
    ));
    assert_eq!(
        TaskError::ResultTaken.to_string(),
        "task result was already taken"
    );
    // A panic moves out once too.
    let p = pool
        .submit(|| -> u8 { std::panic::resume_unwind(Box::new("p")) })
        .unwrap();
    assert!(p.result().unwrap_err().is_panic());
    assert!(matches!(p.result(), Err(TaskError::ResultTaken)));
    // A cancellation reads the same every time.
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || ());
    let c = pool.submit(|| 1).unwrap();
    assert!(c.cancel() && c.cancel(), "cancel is idempotent");
    assert!(matches!(c.result(), Err(TaskError::Cancelled)));
    assert!(matches!(c.result(), Err(TaskError::Cancelled)));
    hold.open();
    blocker.result().unwrap();
    assert!(!blocker.cancel(), "a finished task cannot be cancelled");
}

#[test]
fn wait_and_as_completed_on_nothing_return_at_once() {
    let _watchdog = Watchdog::new("empty waits", HANG);
    let none = Vec::<TaskHandle<u8>>::new;
    for when in ALL_WHENS {
        for timeout in [None, Some(Duration::ZERO), Some(Duration::MAX)] {
            let w = wait(none(), when, timeout);
            assert!(
                w.done.is_empty() && w.not_done.is_empty(),
                "{when:?} {timeout:?}"
            );
        }
    }
    let mut it = as_completed(none());
    assert_eq!((it.total(), it.remaining()), (0, 0));
    assert!(it.next().is_none());
    assert!(matches!(it.next_timeout(Duration::ZERO), Ok(None)));
    assert!(it.into_pending().is_empty());
    for timeout in [Duration::ZERO, Duration::MAX] {
        let mut it = as_completed_timeout(none(), timeout);
        assert_eq!(it.total(), 0);
        assert!(it.next().is_none());
    }
}

#[test]
fn zero_timeouts_only_look() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let h = submit_after(&pool, &hold, || 9);
    assert!(h.result_timeout(Duration::ZERO).unwrap_err().is_timeout());
    assert!(!h.wait_timeout(Duration::ZERO));
    let w = wait([h.clone()], ReturnWhen::AllCompleted, Some(Duration::ZERO));
    assert_eq!((w.done.len(), w.not_done.len()), (0, 1));
    let mut it = as_completed([h.clone()]);
    assert!(it.next_timeout(Duration::ZERO).unwrap_err().is_timeout());
    let mut it = as_completed_timeout([h.clone()], Duration::ZERO);
    let timeout = it.next().unwrap().unwrap_err();
    assert_eq!(timeout.pending().len(), 1);
    assert!(it.next().is_none(), "ends after the timeout");
    // On a worker a zero timeout also only looks (and may run the task).
    let inner = pool
        .submit(|| {
            let pool = ThreadPool::current().unwrap();
            let child = pool.submit(|| 5).unwrap();
            match child.result_timeout(Duration::ZERO) {
                Ok(v) => v,
                Err(e) if e.is_timeout() => child.result().unwrap(),
                Err(e) => panic!("{e}"),
            }
        })
        .unwrap();
    hold.open();
    assert_eq!(h.result_timeout(HANG).unwrap(), 9);
    assert_eq!(inner.result().unwrap(), 5);
    // Once done, a zero timeout sees it.
    let done = pool.submit(|| 1).unwrap();
    done.wait();
    assert_eq!(done.result_timeout(Duration::ZERO).unwrap(), 1);
}

#[test]
fn huge_timeouts_wait_as_long_as_needed() {
    let _watchdog = Watchdog::new("huge timeouts", HANG * 2);
    let pool = ThreadPool::new(2).unwrap();
    for round in 0..5 {
        let hold = Latch::new();
        let h = submit_after(&pool, &hold, move || round);
        let opener = {
            let hold = hold.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                hold.open();
            })
        };
        let got = match round {
            0 => h.result_timeout(Duration::MAX).unwrap(),
            1 => {
                assert!(h.wait_timeout(Duration::MAX));
                h.result().unwrap()
            }
            2 => {
                let w = wait([h.clone()], ReturnWhen::AllCompleted, Some(Duration::MAX));
                assert_eq!(w.done.len(), 1);
                h.result().unwrap()
            }
            3 => {
                let mut it = as_completed_timeout([h.clone()], Duration::MAX);
                let first = it.next().unwrap().unwrap();
                first.result().unwrap()
            }
            _ => {
                let mut it = as_completed([h.clone()]);
                it.next_timeout(Duration::MAX)
                    .unwrap()
                    .unwrap()
                    .result()
                    .unwrap()
            }
        };
        assert_eq!(got, round);
        opener.join().unwrap();
    }
    let mapped: Vec<_> = pool
        .map(|x: u32| x + 1, 0..100)
        .timeout(Duration::MAX)
        .map(Result::unwrap)
        .collect();
    assert_eq!(mapped, (1..=100).collect::<Vec<_>>());
}

#[test]
fn a_zero_map_timeout_yields_values_then_at_most_one_timeout() {
    let pool = ThreadPool::new(2).unwrap();
    let out: Vec<_> = pool
        .map(|x: u32| x, 0..1000)
        .chunk_size(1)
        .timeout(Duration::ZERO)
        .collect();
    let values = out.iter().take_while(|r| r.is_ok()).count();
    assert!(values == out.len() || values + 1 == out.len(), "{out:?}");
    if values < out.len() {
        assert!(out[values].as_ref().unwrap_err().is_timeout());
    }
    for (i, r) in out.iter().take(values).enumerate() {
        assert_eq!(*r.as_ref().unwrap(), i as u32);
    }
}

#[test]
fn map_over_nothing_yields_nothing() {
    let pool = ThreadPool::new(2).unwrap();
    assert_eq!(pool.map(|x: u8| x, std::iter::empty()).count(), 0);
    assert_eq!(
        pool.map(|x: u8| x, Vec::new())
            .chunk_size(0)
            .window(0)
            .timeout(Duration::ZERO)
            .count(),
        0
    );
    // Zero chunk size and window count as one.
    let out: Vec<_> = pool
        .map(|x: u8| x * 2, [1, 2, 3])
        .chunk_size(0)
        .window(0)
        .map(Result::unwrap)
        .collect();
    assert_eq!(out, [2, 4, 6]);
}

#[test]
fn awaiting_after_the_value_was_taken_gives_result_taken() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| 11).unwrap();
    assert_eq!(block_on(h.clone()).unwrap(), 11);
    assert!(matches!(block_on(h.clone()), Err(TaskError::ResultTaken)));
    assert!(matches!(h.result(), Err(TaskError::ResultTaken)));

    let h = pool.submit(|| 12).unwrap();
    assert_eq!(h.result().unwrap(), 12);
    assert!(matches!(block_on(h), Err(TaskError::ResultTaken)));

    // A cancelled task awaits as Cancelled, every time.
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || ());
    let c = pool.submit(|| 13).unwrap();
    assert!(c.cancel());
    assert!(matches!(block_on(c.clone()), Err(TaskError::Cancelled)));
    assert!(matches!(block_on(c), Err(TaskError::Cancelled)));
    hold.open();
    blocker.result().unwrap();
}

#[test]
fn a_waiter_on_a_pool_dropped_meanwhile_still_gets_its_value() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let h = submit_after(&pool, &hold, || "kept");
    let dropper = std::thread::spawn(move || drop(pool)); // waits for the task
    hold.open();
    assert_eq!(h.result().unwrap(), "kept");
    dropper.join().unwrap();
}

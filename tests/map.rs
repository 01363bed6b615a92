//! `ThreadPool::map`: order, the first window at the call and laziness
//! after it, bounded memory, per-item panics, cancellation on drop, the
//! timeout from the call, one outcome per item through a shutdown, nesting.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stealpool::{ShutdownOptions, TaskError, ThreadPool};
use support::{submit_after, Census, Latch};

#[test]
fn results_come_in_input_order_although_tasks_finish_out_of_order() {
    let pool = ThreadPool::new(2).unwrap();
    let finished = Arc::new(Mutex::new(Vec::new()));
    let first_may_finish = Latch::new();
    let (order, gate) = (finished.clone(), first_may_finish.clone());
    let results: Vec<_> = pool
        .map(
            move |i: usize| {
                if i == 0 {
                    gate.wait(); // item 0 finishes only after item 1
                }
                order.lock().unwrap().push(i);
                if i == 1 {
                    gate.open();
                }
                i * 10
            },
            0..2,
        )
        .chunk_size(1)
        .map(Result::unwrap)
        .collect();
    assert_eq!(results, [0, 10]);
    assert_eq!(*finished.lock().unwrap(), [1, 0]);
}

#[test]
fn many_items_keep_their_order_with_every_chunking() {
    let pool = ThreadPool::new(2).unwrap();
    for chunk in [None, Some(1), Some(7), Some(10_000)] {
        let mut map = pool.map(|x: u64| x * 3, 0..20_000u64);
        if let Some(n) = chunk {
            map = map.chunk_size(n);
        }
        let out: Vec<u64> = map.collect::<Result<_, _>>().unwrap();
        assert_eq!(out.len(), 20_000, "chunk {chunk:?}");
        assert!(out.iter().enumerate().all(|(i, &v)| v == 3 * i as u64));
    }
}

#[test]
fn a_panicking_item_is_its_own_error_and_the_rest_still_run() {
    let pool = ThreadPool::new(2).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let counter = ran.clone();
    let out: Vec<_> = pool
        .map(
            move |i: u32| {
                counter.fetch_add(1, SeqCst);
                if i % 10 == 3 {
                    panic!("item {i}");
                }
                i
            },
            0..100u32,
        )
        .chunk_size(8)
        .collect();
    assert_eq!(out.len(), 100);
    assert_eq!(ran.load(SeqCst), 100);
    for (i, r) in out.into_iter().enumerate() {
        match r {
            Ok(v) => assert_eq!(v as usize, i),
            Err(e) => {
                assert_eq!(i % 10, 3);
                assert_eq!(e.panic_message(), Some(format!("item {i}").as_str()));
            }
        }
    }
    // The workers survived.
    assert_eq!(pool.submit(|| 5).unwrap().result().unwrap(), 5);
}

#[test]
fn back_to_back_panics_and_a_panicking_last_item_keep_their_places() {
    let pool = ThreadPool::new(2).unwrap();
    let panics = |i: u32| i % 4 == 1 || i % 4 == 2 || i == 99;
    let out: Vec<_> = pool
        .map(
            move |i: u32| {
                if panics(i) {
                    panic!("item {i}");
                }
                i
            },
            0..100u32,
        )
        .chunk_size(4)
        .collect();
    assert_eq!(out.len(), 100);
    for (i, r) in (0u32..).zip(out) {
        match r {
            Ok(v) => {
                assert!(!panics(i), "item {i} should have panicked");
                assert_eq!(v, i);
            }
            Err(e) => {
                assert!(panics(i), "item {i} should not have panicked");
                assert_eq!(e.panic_message(), Some(format!("item {i}").as_str()));
            }
        }
    }
}

/// An input that counts the items pulled from it.
fn counted_input(n: u32) -> (impl Iterator<Item = u32>, Arc<AtomicUsize>) {
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let input = (0..n).inspect(move |_| {
        p.fetch_add(1, SeqCst);
    });
    (input, pulled)
}

#[test]
fn the_call_submits_the_first_window_and_pulls_no_further() {
    // 2 workers: a window of 8 chunks, one item each before anything is
    // measured.
    let pool = ThreadPool::new(2).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let (input, pulled) = counted_input(1000);
    let map = pool.map(
        move |x| {
            count.fetch_add(1, SeqCst);
            x
        },
        input,
    );
    assert_eq!(pulled.load(SeqCst), 8, "the first window, at the call");
    // Nothing iterated: the shutdown waits for the window, which runs.
    pool.shutdown();
    assert_eq!(ran.load(SeqCst), 8);
    assert_eq!(pulled.load(SeqCst), 8, "no input pulled past the window");
    drop(map);
}

#[test]
fn a_plain_shutdown_keeps_every_item_and_its_outcome() {
    let pool = ThreadPool::new(2).unwrap();
    let it = pool.map(|x: i32| x.abs(), -5..5);
    pool.shutdown();
    let out: Vec<_> = it.collect();
    assert_eq!(out.len(), 10, "one outcome per item: {out:?}");
    // The window of 8 went in at the call and ran; the pool refused the
    // rest, and says so for each item.
    for (x, r) in (-5i32..5).zip(&out[..8]) {
        assert_eq!(r.as_ref().ok(), Some(&x.abs()), "{out:?}");
    }
    assert!(
        out[8..]
            .iter()
            .all(|r| matches!(r, Err(TaskError::Shutdown))),
        "{out:?}"
    );
}

#[test]
fn items_refused_mid_input_each_get_their_error_and_the_input_is_drained() {
    let pool = ThreadPool::new(1).unwrap();
    let (input, pulled) = counted_input(100);
    let mut it = pool.map(|x| x, input).chunk_size(7);
    assert_eq!(it.next().unwrap().unwrap(), 0);
    pool.shutdown();
    let rest: Vec<_> = it.collect();
    assert_eq!(rest.len(), 99);
    assert_eq!(pulled.load(SeqCst), 100);
    // Whatever was in the window at the shutdown ran; everything after is
    // refused: values first, then only errors.
    let values = rest.iter().take_while(|r| r.is_ok()).count();
    assert!(values >= 3, "the window of 4 was in flight: {values}");
    for (i, r) in rest[..values].iter().enumerate() {
        assert_eq!(*r.as_ref().unwrap() as usize, i + 1);
    }
    assert!(rest[values..]
        .iter()
        .all(|r| matches!(r, Err(TaskError::Shutdown))));
}

#[test]
fn a_cancelling_shutdown_gives_each_queued_item_cancelled_and_the_rest_shutdown() {
    // One worker, held by item 0; items 1-3 of the first window are queued.
    let pool = ThreadPool::new(1).unwrap();
    let (started, release) = (Latch::new(), Latch::new());
    let (s, r) = (started.clone(), release.clone());
    let it = pool.map(
        move |i: u32| {
            if i == 0 {
                s.open();
                r.wait();
            }
            i
        },
        0..6,
    );
    started.wait();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    release.open();
    let out: Vec<_> = it.collect();
    assert_eq!(out.len(), 6, "{out:?}");
    assert_eq!(out[0].as_ref().ok(), Some(&0));
    assert!(out[1..4]
        .iter()
        .all(|r| matches!(r, Err(TaskError::Cancelled))));
    assert!(out[4..]
        .iter()
        .all(|r| matches!(r, Err(TaskError::Shutdown))));
}

#[test]
fn a_broken_pool_refuses_each_item_as_pool_broken() {
    let pool = ThreadPool::builder()
        .max_workers(1)
        .initializer(|| panic!("initializer fails on purpose"))
        .build()
        .unwrap();
    assert!(support::eventually(|| pool
        .submit(|| ())
        .is_err_and(|e| e.is_broken())));
    let out: Vec<_> = pool.map(|x: u8| x, 0..5u8).collect();
    assert_eq!(out.len(), 5);
    assert!(
        out.iter().all(|r| matches!(r, Err(TaskError::PoolBroken))),
        "{out:?}"
    );
}

#[test]
fn dropping_a_never_advanced_map_cancels_what_has_not_started_and_leaks_nothing() {
    // One worker: item 0 starts and holds it; items 1-3 of the first
    // window are queued when the iterator is dropped.
    let pool = ThreadPool::new(1).unwrap();
    let (started, release) = (Latch::new(), Latch::new());
    let census = Census::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let (s, r, count, maker) = (
        started.clone(),
        release.clone(),
        ran.clone(),
        census.clone(),
    );
    let items: Vec<_> = (0..100).map(|i| census.make(i)).collect();
    let map = pool.map(
        move |c: support::Counted| {
            count.fetch_add(1, SeqCst);
            if c.value == 0 {
                s.open();
                r.wait();
            }
            maker.make(c.value)
        },
        items,
    );
    started.wait();
    drop(map);
    release.open();
    pool.shutdown();
    assert_eq!(ran.load(SeqCst), 1, "only the item that had started ran");
    assert_eq!(pool.stats().cancelled, 3, "{:?}", pool.stats());
    assert_eq!(census.live(), 0, "every item and result was dropped");
}

#[test]
fn a_late_reader_gets_every_result_that_finished_before_the_deadline() {
    let pool = ThreadPool::new(2).unwrap();
    let it = pool
        .map(|x: u32| x * 2, 0..6)
        .timeout(Duration::from_millis(1));
    // The six items went in at the call; the shutdown waits for them, the
    // sleep makes sure the deadline is behind us.
    pool.shutdown();
    std::thread::sleep(Duration::from_millis(2));
    let out: Vec<u32> = it.collect::<Result<_, _>>().unwrap();
    assert_eq!(out, [0, 2, 4, 6, 8, 10]);
}

#[test]
fn the_timeout_hits_the_first_unfinished_item_and_pulls_nothing_after_the_deadline() {
    // One worker, window of 4: items 0-1 finish, item 2 holds the worker.
    let pool = ThreadPool::new(1).unwrap();
    let (started, release) = (Latch::new(), Latch::new());
    let (s, r) = (started.clone(), release.clone());
    let (input, pulled) = counted_input(10);
    let mut it = pool
        .map(
            move |i| {
                if i == 2 {
                    s.open();
                    r.wait();
                }
                i
            },
            input,
        )
        .timeout(Duration::from_millis(1));
    started.wait();
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(it.next().unwrap().unwrap(), 0);
    assert_eq!(it.next().unwrap().unwrap(), 1);
    assert!(matches!(it.next(), Some(Err(TaskError::Timeout))));
    assert!(it.next().is_none());
    assert_eq!(pulled.load(SeqCst), 4, "nothing pulled after the deadline");
    release.open();
    drop(it);
    pool.shutdown();
    // Item 3 was queued behind item 2: the timeout cancelled it.
    assert_eq!(pool.stats().cancelled, 1, "{:?}", pool.stats());
}

#[test]
fn past_the_deadline_an_input_with_items_left_ends_in_one_timeout() {
    // The window (4 on one worker) finished; the 5th item would be pulled
    // after the deadline: it is the one timed out, and it never runs.
    let pool = ThreadPool::new(1).unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let count = ran.clone();
    let it = pool
        .map(
            move |x: u32| {
                count.fetch_add(1, SeqCst);
                x
            },
            (0..9).filter(|_| true), // a size_hint without an exact length
        )
        .timeout(Duration::ZERO);
    pool.shutdown();
    let out: Vec<_> = it.collect();
    assert_eq!(out.len(), 5, "{out:?}");
    assert!(out[..4].iter().all(Result::is_ok));
    assert!(matches!(out[4], Err(TaskError::Timeout)));
    assert_eq!(ran.load(SeqCst), 4);
}

#[test]
fn an_endless_input_runs_in_bounded_memory() {
    let pool = ThreadPool::new(2).unwrap();
    let census = Census::new();
    let maker = census.clone();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = pulled.clone();
    let input = (0u64..).map(move |i| {
        p.fetch_add(1, SeqCst);
        maker.make(i)
    });
    let firsts: Vec<u64> = pool
        .map(|c: support::Counted| c.value * 2, input)
        .chunk_size(4)
        .window(8)
        .take(1000)
        .map(Result::unwrap)
        .collect();
    assert_eq!(firsts.len(), 1000);
    assert!(firsts.iter().enumerate().all(|(i, &v)| v == 2 * i as u64));
    // At most the window (8 chunks of 4) plus the chunk being pulled is
    // ever ahead of the consumer.
    assert!(
        census.peak() <= 8 * 4 + 4,
        "peak live items {}",
        census.peak()
    );
    assert!(
        pulled.load(SeqCst) <= 1000 + 8 * 4,
        "pulled {}",
        pulled.load(SeqCst)
    );
    assert_eq!(census.live(), 0, "every item pulled was dropped");
}

#[test]
fn a_million_cheap_items_are_batched_into_few_tasks() {
    let pool = ThreadPool::new(2).unwrap();
    let before = pool.stats().submitted;
    let sum: u64 = pool
        .map(|x: u64| x & 0xff, 0..1_000_000u64)
        .map(Result::unwrap)
        .sum();
    assert_eq!(sum, (0..1_000_000u64).map(|x| x & 0xff).sum::<u64>());
    let tasks = pool.stats().submitted - before;
    assert!(tasks < 20_000, "{tasks} tasks for 1,000,000 items");
}

#[test]
fn dropping_the_iterator_cancels_every_item_not_started() {
    // One worker: item 0 finishes, item 1 then holds the worker, so the
    // rest of the window is still queued when the iterator is dropped.
    let pool = ThreadPool::new(1).unwrap();
    let (started, release) = (Latch::new(), Latch::new());
    let ran = Arc::new(AtomicUsize::new(0));
    let (s, r, count) = (started.clone(), release.clone(), ran.clone());
    let mut map = pool
        .map(
            move |i: u32| {
                count.fetch_add(1, SeqCst);
                if i == 1 {
                    s.open();
                    r.wait();
                }
                i
            },
            0..1_000u32,
        )
        .chunk_size(1)
        .window(16);
    assert_eq!(map.next().unwrap().unwrap(), 0);
    started.wait();
    drop(map);
    release.open();
    pool.shutdown();
    assert_eq!(
        ran.load(SeqCst),
        2,
        "only the finished and the running item ran"
    );
    assert!(pool.stats().cancelled >= 15, "{:?}", pool.stats());
}

#[test]
fn the_timeout_counts_from_the_call_and_ends_the_iteration() {
    let pool = ThreadPool::new(2).unwrap();
    let release = Latch::new();
    let r = release.clone();
    let mut map = pool
        .map(
            move |i: u32| {
                if i == 2 {
                    r.wait();
                }
                i
            },
            0..10u32,
        )
        .chunk_size(1)
        .timeout(Duration::from_millis(50));
    assert_eq!(map.next().unwrap().unwrap(), 0);
    assert_eq!(map.next().unwrap().unwrap(), 1);
    assert!(matches!(map.next(), Some(Err(TaskError::Timeout))));
    assert!(map.next().is_none(), "the iteration ends after a timeout");
    release.open();
}

#[test]
fn a_zero_timeout_yields_a_timeout_unless_already_done() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || ());
    let out: Vec<_> = pool
        .map(|x: u8| x, 0..3u8)
        .timeout(Duration::ZERO)
        .collect();
    assert_eq!(out.len(), 1);
    assert!(matches!(out[0], Err(TaskError::Timeout)));
    hold.open();
    blocker.result().unwrap();
}

#[test]
fn an_empty_input_yields_nothing() {
    let pool = ThreadPool::new(2).unwrap();
    let before = pool.stats().submitted;
    assert_eq!(pool.map(|x: u8| x, std::iter::empty()).count(), 0);
    assert_eq!(pool.stats().submitted, before);
}

#[test]
fn size_hint_brackets_what_is_left_at_every_step() {
    let pool = ThreadPool::new(2).unwrap();
    let mut it = pool.map(|x: u32| x, 0..1000u32).chunk_size(64);
    assert_eq!(it.size_hint(), (0, Some(1000)));
    let mut left = 1000;
    while let Some(r) = it.next() {
        r.unwrap();
        left -= 1;
        let (lo, hi) = it.size_hint();
        assert!(lo <= left && hi == Some(left), "{lo}..{hi:?} around {left}");
    }
    assert_eq!(left, 0);
    assert_eq!(it.size_hint(), (0, Some(0)));
    // An endless input has no upper bound.
    assert_eq!(pool.map(|x: u64| x, 0..).size_hint().1, None);
}

#[test]
fn after_shutdown_every_item_is_a_shutdown_error() {
    let pool = ThreadPool::new(2).unwrap();
    pool.shutdown();
    let out: Vec<_> = pool.map(|x: u8| x, 0..5u8).chunk_size(2).collect();
    assert_eq!(out.len(), 5);
    assert!(
        out.iter().all(|r| matches!(r, Err(TaskError::Shutdown))),
        "{out:?}"
    );
}

#[test]
fn map_inside_a_task_on_one_worker_completes() {
    let pool = ThreadPool::new(1).unwrap();
    let inner = pool.clone();
    let total = pool
        .submit(move || {
            inner
                .map(|x: u64| x + 1, 0..1_000u64)
                .chunk_size(3)
                .map(Result::unwrap)
                .sum::<u64>()
        })
        .unwrap()
        .result()
        .unwrap();
    assert_eq!(total, 500_500);
}

#[test]
fn results_not_collected_are_dropped_once() {
    let pool = ThreadPool::new(2).unwrap();
    let census = Census::new();
    let maker = census.clone();
    let mut map = pool
        .map(move |i: u64| maker.make(i), 0..200u64)
        .chunk_size(5);
    for _ in 0..17 {
        map.next().unwrap().unwrap();
    }
    drop(map);
    pool.shutdown();
    assert_eq!(
        census.live(),
        0,
        "created {} dropped {}",
        census.created(),
        census.dropped()
    );
}

/// Values of 2 KiB travel in byte-capped chunks whose buffers are reused
/// from chunk to chunk: every value comes out in order, once, and those
/// never handed out are dropped with the map.
#[test]
fn large_values_come_out_in_order_and_each_is_dropped_once() {
    let pool = ThreadPool::new(2).unwrap();
    let census = Census::new();
    let maker = census.clone();
    let mut map = pool.map(move |i: u64| (maker.make(i), [i as u8; 2048]), 0..3000u64);
    let kept: Vec<_> = map.by_ref().take(2000).map(Result::unwrap).collect();
    for (i, (token, bytes)) in kept.iter().enumerate() {
        assert_eq!(token.value, i as u64);
        assert!(bytes.iter().all(|&b| b == i as u8));
    }
    drop(map);
    pool.shutdown();
    assert_eq!(census.live(), 2000, "only the values kept are alive");
    drop(kept);
    assert_eq!(census.live(), 0);
}

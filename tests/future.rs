//! Handles as `Future`s: a hand-written `block_on`, tokio, a handle moved
//! between tasks, clones awaited at once, and drop-without-cancel.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use stealpool::{TaskError, ThreadPool};
use support::{submit_after, Latch};

/// Unparks a thread and counts its wakes.
struct ThreadWaker {
    thread: std::thread::Thread,
    wakes: AtomicUsize,
}

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, SeqCst);
        self.thread.unpark();
    }
}

fn counting_waker() -> (Arc<ThreadWaker>, Waker) {
    let inner = Arc::new(ThreadWaker {
        thread: std::thread::current(),
        wakes: AtomicUsize::new(0),
    });
    (inner.clone(), Waker::from(inner))
}

/// The smallest executor: poll, park until woken, repeat.
fn block_on<F: Future>(future: F) -> F::Output {
    let (_, waker) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(support::HANG);
    }
}

#[test]
fn a_handle_resolves_under_a_hand_written_block_on() {
    let pool = ThreadPool::new(2).unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, move || "value");
    let opener = std::thread::spawn(move || hold.open());
    assert_eq!(block_on(handle).unwrap(), "value");
    opener.join().unwrap();
}

#[test]
fn panics_and_cancels_resolve_as_errors() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || ());
    let queued = pool.submit(|| 1).unwrap();
    assert!(queued.cancel());
    assert!(matches!(block_on(queued), Err(TaskError::Cancelled)));
    let panics = pool.submit(|| -> u8 { panic!("async boom") }).unwrap();
    hold.open();
    assert_eq!(
        block_on(panics).unwrap_err().panic_message(),
        Some("async boom")
    );
    blocker.result().unwrap();
}

#[test]
fn awaiting_after_the_value_was_taken_is_result_taken() {
    let pool = ThreadPool::new(1).unwrap();
    let handle = pool.submit(|| 3).unwrap();
    let other = handle.clone();
    assert_eq!(handle.result().unwrap(), 3);
    assert!(matches!(block_on(other), Err(TaskError::ResultTaken)));
}

/// Polls `handle` once with `waker`.
fn poll_with<T: Send + 'static>(
    handle: &mut stealpool::TaskHandle<T>,
    waker: &Waker,
) -> Poll<Result<T, TaskError>> {
    Pin::new(handle).poll(&mut Context::from_waker(waker))
}

#[test]
fn a_handle_moved_to_another_task_wakes_only_it_and_releases_the_old_waker() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let mut handle = submit_after(&pool, &hold, || ());
    let (first, first_waker) = counting_waker();
    let (second, second_waker) = counting_waker();
    assert!(poll_with(&mut handle, &first_waker).is_pending());
    // A second poll from "another task" replaces the waker...
    assert!(poll_with(&mut handle, &second_waker).is_pending());
    // ...and the pool no longer holds the first one.
    drop(first_waker);
    assert_eq!(
        Arc::strong_count(&first),
        1,
        "the replaced waker is released"
    );
    hold.open();
    assert!(
        support::eventually(|| second.wakes.load(SeqCst) > 0),
        "latest waker never woken"
    );
    assert!(poll_with(&mut handle, &second_waker).is_ready());
    assert_eq!(
        (first.wakes.load(SeqCst), second.wakes.load(SeqCst)),
        (0, 1)
    );
}

#[test]
fn two_clones_awaited_by_two_tasks_at_once_both_wake() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let mut one = submit_after(&pool, &hold, || 5);
    let mut two = one.clone();
    let (first, first_waker) = counting_waker();
    let (second, second_waker) = counting_waker();
    assert!(poll_with(&mut one, &first_waker).is_pending());
    assert!(poll_with(&mut two, &second_waker).is_pending());
    hold.open();
    assert!(
        support::eventually(|| first.wakes.load(SeqCst) == 1 && second.wakes.load(SeqCst) == 1),
        "each awaiting task is woken once"
    );
    // The first clone polled after completion gets the value.
    assert!(matches!(
        poll_with(&mut two, &second_waker),
        Poll::Ready(Ok(5))
    ));
    assert!(matches!(
        poll_with(&mut one, &first_waker),
        Poll::Ready(Err(TaskError::ResultTaken))
    ));
}

#[test]
fn re_polls_with_the_same_waker_wake_it_once() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let mut handle = submit_after(&pool, &hold, || ());
    let (counter, waker) = counting_waker();
    for _ in 0..100 {
        assert!(poll_with(&mut handle, &waker).is_pending());
    }
    hold.open();
    assert!(support::eventually(|| counter.wakes.load(SeqCst) > 0));
    assert!(poll_with(&mut handle, &waker).is_ready());
    assert_eq!(counter.wakes.load(SeqCst), 1, "one registration, one wake");
}

#[test]
fn clones_awaited_from_many_tokio_tasks_at_once_all_finish() {
    let pool = ThreadPool::new(2).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, || 7u32);
    let got: Vec<bool> = rt.block_on(async {
        let joins: Vec<_> = (0..8)
            .map(|_| {
                let clone = handle.clone();
                // A lost wake-up fails the test instead of hanging it.
                tokio::spawn(async move {
                    let outcome = tokio::time::timeout(support::HANG, clone).await;
                    outcome.expect("an awaiting task was never woken").is_ok()
                })
            })
            .collect();
        // Give the tasks a chance to poll before the value exists (not a
        // guarantee: a task that polls late finds it finished, also fine;
        // the test above forces the order).
        tokio::task::yield_now().await;
        hold.open();
        let mut got = Vec::new();
        for j in joins {
            got.push(j.await.unwrap());
        }
        got
    });
    assert_eq!(
        got.iter().filter(|ok| **ok).count(),
        1,
        "one value, one taker"
    );
    assert_eq!(got.len(), 8);
}

#[test]
fn dropping_a_pending_await_does_not_cancel_the_task() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, move || 11);
    let keep = handle.clone();
    {
        let mut fut = handle;
        let (_, waker) = counting_waker();
        assert!(Pin::new(&mut fut)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    } // dropped while pending
    assert!(!keep.cancelled());
    hold.open();
    assert_eq!(keep.result().unwrap(), 11);
}

#[test]
fn handles_await_under_tokio_from_many_tasks() {
    let pool = ThreadPool::new(2).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let sum: u64 = rt.block_on(async {
        let joins: Vec<_> = (0..100u64)
            .map(|i| {
                let handle = pool.submit(move || i * 2).unwrap();
                tokio::spawn(async move { handle.await.unwrap() })
            })
            .collect();
        let mut sum = 0;
        for j in joins {
            sum += j.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, 9_900);
}

#[test]
fn a_timeout_around_an_await_leaves_the_handle_usable() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, move || "late");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let copy = handle.clone();
    let timed = rt
        .block_on(async { tokio::time::timeout(std::time::Duration::from_millis(10), copy).await });
    assert!(timed.is_err(), "timed out");
    hold.open();
    assert_eq!(rt.block_on(handle).unwrap(), "late");
}

/// A waker whose `wake` panics, as hostile async code may hand us.
struct PanickingWaker;

impl Wake for PanickingWaker {
    fn wake(self: Arc<Self>) {
        panic!("waker exploded");
    }
}

#[test]
fn a_panicking_waker_leaves_every_other_listener_told() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let mut handle = submit_after(&pool, &hold, || 9);
    let bad = Waker::from(Arc::new(PanickingWaker));
    assert!(poll_with(&mut handle, &bad).is_pending());
    let (good, good_waker) = counting_waker();
    let mut clone = handle.clone();
    assert!(poll_with(&mut clone, &good_waker).is_pending());
    let called = Arc::new(AtomicUsize::new(0));
    let c = called.clone();
    handle.add_done_callback(move |_| {
        c.fetch_add(1, SeqCst);
    });
    let waiter = {
        let h = handle.clone();
        std::thread::spawn(move || h.wait_timeout(support::HANG))
    };
    hold.open();
    assert!(waiter.join().unwrap(), "a blocked waiter was never woken");
    assert!(support::eventually(|| good.wakes.load(SeqCst) == 1));
    assert!(support::eventually(|| called.load(SeqCst) == 1));
    assert_eq!(handle.result().unwrap(), 9);
    // The worker survived: the pool still runs tasks.
    assert_eq!(pool.submit(|| 1).unwrap().result().unwrap(), 1);
}

#[test]
fn cancel_with_a_panicking_waker_does_not_panic_and_as_completed_yields_it() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || 0);
    let mut queued = pool.submit(|| 1).unwrap();
    let bad = Waker::from(Arc::new(PanickingWaker));
    assert!(poll_with(&mut queued, &bad).is_pending());
    let watched = queued.clone();
    let cancelled = std::thread::spawn(move || queued.cancel()).join();
    assert!(matches!(cancelled, Ok(true)), "cancel() panicked or lost");
    let mut done = stealpool::as_completed_timeout([watched], support::HANG);
    let first = done.next().expect("one handle").expect("not a timeout");
    assert!(first.cancelled());
    hold.open();
    blocker.result().unwrap();
}

#[test]
fn dropped_awaiting_clones_release_their_wakers() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, || 2);
    let (counter, waker) = counting_waker();
    for _ in 0..10_000 {
        let mut clone = handle.clone();
        assert!(poll_with(&mut clone, &waker).is_pending());
    }
    // Each clone's drop took its registration (and its waker) back.
    assert_eq!(Arc::strong_count(&counter), 2, "waker clones still held");
    let mut last = handle.clone();
    assert!(poll_with(&mut last, &waker).is_pending());
    hold.open();
    assert!(support::eventually(|| counter.wakes.load(SeqCst) == 1));
    assert_eq!(handle.result().unwrap(), 2);
}

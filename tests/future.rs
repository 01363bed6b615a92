//! Handles as `Future`s: a hand-written `block_on`, tokio, waker
//! replacement, and drop-without-cancel.

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

#[test]
fn the_latest_waker_is_the_one_woken() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let mut handle = submit_after(&pool, &hold, || ());
    let (first, first_waker) = counting_waker();
    let (second, second_waker) = counting_waker();
    let mut pinned = Pin::new(&mut handle);
    assert!(pinned
        .as_mut()
        .poll(&mut Context::from_waker(&first_waker))
        .is_pending());
    // A second poll from "another task" replaces the waker.
    assert!(pinned
        .as_mut()
        .poll(&mut Context::from_waker(&second_waker))
        .is_pending());
    hold.open();
    assert!(
        support::eventually(|| second.wakes.load(SeqCst) > 0),
        "latest waker never woken"
    );
    assert_eq!(first.wakes.load(SeqCst), 0, "the replaced waker was woken");
    assert!(pinned
        .as_mut()
        .poll(&mut Context::from_waker(&second_waker))
        .is_ready());
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

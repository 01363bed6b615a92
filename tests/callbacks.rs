//! Done callbacks: exactly once, on the finishing thread or at once, in
//! order, for done, panicked and cancelled tasks, and contained when they
//! panic.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Mutex};
use stealpool::ThreadPool;
use support::{submit_after, Latch};

#[test]
fn runs_once_on_the_thread_that_finished_the_task() {
    let pool = ThreadPool::builder()
        .max_workers(1)
        .thread_name_prefix("cb")
        .build()
        .unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, || ());
    let (tx, rx) = mpsc::channel();
    handle.add_done_callback(move |h| {
        tx.send((std::thread::current().name().map(String::from), h.done()))
            .unwrap();
    });
    hold.open();
    let (name, done) = rx.recv_timeout(support::HANG).unwrap();
    assert_eq!(name.as_deref(), Some("cb-0"));
    assert!(done, "the handle is finished when the callback runs");
    pool.shutdown();
    assert!(rx.try_recv().is_err(), "ran more than once");
}

#[test]
fn runs_at_once_on_the_caller_when_already_finished() {
    let pool = ThreadPool::new(1).unwrap();
    let handle = pool.submit(|| 4).unwrap();
    handle.wait();
    let me = std::thread::current().id();
    let ran_here = Arc::new(Mutex::new(None));
    let r = ran_here.clone();
    handle.add_done_callback(move |h| {
        *r.lock().unwrap() = Some((std::thread::current().id(), h.result().unwrap()));
    });
    // No waiting: it already ran, here, and took the value.
    assert_eq!(*ran_here.lock().unwrap(), Some((me, 4)));
}

#[test]
fn callbacks_run_in_the_order_they_were_added() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, || ());
    let order = Arc::new(Mutex::new(Vec::new()));
    for i in 0..10 {
        let order = order.clone();
        handle.add_done_callback(move |_| order.lock().unwrap().push(i));
    }
    hold.open();
    pool.shutdown();
    assert_eq!(*order.lock().unwrap(), (0..10).collect::<Vec<_>>());
}

#[test]
fn cancel_runs_the_callbacks_and_the_handle_reads_cancelled() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let blocker = submit_after(&pool, &hold, || ());
    let queued = pool.submit(|| ()).unwrap();
    let (tx, rx) = mpsc::channel();
    queued.add_done_callback(move |h| {
        tx.send((std::thread::current().id(), h.cancelled()))
            .unwrap()
    });
    assert!(queued.cancel());
    // The canceller made the terminal transition, so it ran the callback.
    assert_eq!(rx.try_recv().unwrap(), (std::thread::current().id(), true));
    hold.open();
    blocker.result().unwrap();
    pool.shutdown();
    assert!(rx.try_recv().is_err(), "ran more than once");
}

#[test]
fn a_panicked_task_runs_its_callbacks_with_failed_set() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, move || {
        panic!("task");
    });
    let (tx, rx) = mpsc::channel();
    handle.add_done_callback(move |h: &stealpool::TaskHandle<()>| tx.send(h.failed()).unwrap());
    hold.open();
    assert!(rx.recv_timeout(support::HANG).unwrap());
    assert!(handle.result().unwrap_err().is_panic());
}

#[test]
fn a_panicking_callback_is_contained_and_the_rest_still_run() {
    let pool = ThreadPool::new(1).unwrap();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, || ());
    let ran = Arc::new(AtomicUsize::new(0));
    for i in 0..3 {
        let ran = ran.clone();
        handle.add_done_callback(move |_| {
            ran.fetch_add(1, SeqCst);
            if i == 1 {
                panic!("callback {i}");
            }
        });
    }
    hold.open();
    handle.result().unwrap();
    // The worker survived and keeps serving.
    assert_eq!(pool.submit(|| 8).unwrap().result().unwrap(), 8);
    pool.shutdown();
    assert_eq!(ran.load(SeqCst), 3);
    // An immediate callback that panics is contained on the caller too.
    handle.add_done_callback(|_| panic!("late callback"));
}

#[test]
fn callbacks_added_while_the_task_completes_each_run_exactly_once() {
    // Adders race the completion; every callback runs exactly once, either
    // on the completer or at once on its adder.
    let pool = ThreadPool::new(2).unwrap();
    for round in 0..300 {
        let start = Arc::new(std::sync::Barrier::new(3));
        let s = start.clone();
        let handle = pool
            .submit(move || {
                s.wait();
                round
            })
            .unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let adders: Vec<_> = (0..2)
            .map(|_| {
                let (handle, ran, start) = (handle.clone(), ran.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..20 {
                        let ran = ran.clone();
                        handle.add_done_callback(move |_| {
                            ran.fetch_add(1, SeqCst);
                        });
                    }
                })
            })
            .collect();
        for a in adders {
            a.join().unwrap();
        }
        handle.wait();
        assert!(support::eventually(|| ran.load(SeqCst) >= 40));
        assert_eq!(ran.load(SeqCst), 40, "round {round}");
    }
}

#[test]
fn a_callback_does_not_keep_its_task_alive() {
    let pool = ThreadPool::new(1).unwrap();
    let census = support::Census::new();
    let c = census.clone();
    let hold = Latch::new();
    let handle = submit_after(&pool, &hold, move || c.make(1));
    handle.add_done_callback(|h| drop(h.result()));
    drop(handle);
    hold.open();
    pool.shutdown();
    assert_eq!(census.created(), 1);
    assert_eq!(census.live(), 0, "the value was dropped once");
}

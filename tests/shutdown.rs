//! shutdown, shutdown_with and drop: nothing accepted is lost, nothing hangs.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use std::time::Duration;
use stealpool::{ShutdownOptions, SubmitError, TaskError, ThreadPool};

#[test]
fn shutdown_runs_everything_accepted_then_rejects() {
    let pool = ThreadPool::new(2).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..500)
        .map(|_| {
            let r = runs.clone();
            pool.submit(move || r.fetch_add(1, SeqCst)).unwrap()
        })
        .collect();
    pool.shutdown();
    assert_eq!(runs.load(SeqCst), 500, "shutdown waits for queued tasks");
    assert!(handles.iter().all(|h| h.done()));
    assert!(pool.is_shutdown());
    match pool.submit(|| 1) {
        Err(SubmitError::Shutdown(f)) => assert_eq!(f(), 1, "the closure comes back unrun"),
        other => panic!("expected Shutdown, got {other:?}"),
    }
    pool.shutdown(); // idempotent
}

#[test]
fn cancel_pending_resolves_queued_handles_cancelled() {
    let pool = ThreadPool::new(1).unwrap();
    let started = Arc::new(Barrier::new(2));
    let (tx, rx) = mpsc::channel::<()>();
    let s = started.clone();
    let running = pool
        .submit(move || {
            s.wait();
            rx.recv().unwrap();
            "finished"
        })
        .unwrap();
    started.wait();
    let runs = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..50)
        .map(|_| {
            let r = runs.clone();
            pool.submit(move || r.fetch_add(1, SeqCst)).unwrap()
        })
        .collect();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(true));
    for h in &queued {
        assert!(matches!(h.result(), Err(TaskError::Cancelled)));
    }
    tx.send(()).unwrap();
    assert_eq!(
        running.result().unwrap(),
        "finished",
        "the running task is not cancelled"
    );
    pool.shutdown(); // now wait for the workers
    assert_eq!(runs.load(SeqCst), 0);
}

#[test]
fn non_waiting_shutdown_returns_while_a_task_blocks() {
    let pool = ThreadPool::new(2).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let blocked = pool.submit(move || rx.recv().unwrap()).unwrap();
    pool.shutdown_with(ShutdownOptions::new().wait(false).cancel_pending(false));
    assert!(pool.is_shutdown());
    assert!(blocked
        .result_timeout(Duration::from_millis(1))
        .unwrap_err()
        .is_timeout());
    tx.send(()).unwrap();
    blocked.result().unwrap();
}

#[test]
fn dropping_the_last_handle_on_a_worker_does_not_deadlock() {
    let (tx, rx) = mpsc::channel();
    {
        let pool = ThreadPool::new(2).unwrap();
        let inner = pool.clone();
        let h = pool
            .submit(move || {
                let last = inner; // moved in: dropped on the worker
                let h = last.submit(|| 3).unwrap();
                tx.send(h.result().unwrap()).unwrap();
                drop(last);
            })
            .unwrap();
        drop(pool); // not the last: the task still holds one
        h.wait();
    }
    assert_eq!(rx.recv_timeout(Duration::from_secs(30)).unwrap(), 3);
}

#[test]
fn shutdown_from_inside_a_task_does_not_wait_for_itself() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool
        .submit(|| {
            let pool = ThreadPool::current().unwrap();
            pool.shutdown(); // would deadlock if it joined this worker
            pool.is_shutdown()
        })
        .unwrap();
    assert!(h.result().unwrap());
    assert!(pool.submit(|| ()).unwrap_err().is_shutdown());
    pool.shutdown();
}

#[test]
fn concurrent_waiting_shutdowns_both_wait() {
    let pool = ThreadPool::new(2).unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..200 {
        let r = runs.clone();
        pool.submit(move || {
            std::thread::yield_now();
            r.fetch_add(1, SeqCst);
        })
        .unwrap();
    }
    let others: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            let runs = runs.clone();
            std::thread::spawn(move || {
                pool.shutdown();
                runs.load(SeqCst)
            })
        })
        .collect();
    for t in others {
        assert_eq!(t.join().unwrap(), 200);
    }
}

#[test]
fn a_cancelling_shutdown_leaves_no_task_that_was_pending_at_its_return_to_run() {
    // Workers idle-spinning on an injector full of tasks steal them in
    // batches: some are off every queue, between the injector and a deque,
    // or popped and not yet claimed, when the drain runs. Those must end
    // cancelled too, not run after the call returned.
    for _round in 0..40 {
        let pool = ThreadPool::new(2).unwrap();
        let handles: Vec<_> = (0..2_000u32)
            .map(|i| pool.submit(move || i).unwrap())
            .collect();
        pool.shutdown_with(
            stealpool::ShutdownOptions::new()
                .wait(false)
                .cancel_pending(true),
        );
        let pending_at_return: Vec<bool> =
            handles.iter().map(|h| !h.done() && !h.running()).collect();
        pool.shutdown();
        for (h, was_pending) in handles.iter().zip(pending_at_return) {
            assert!(h.done());
            if was_pending {
                assert!(
                    h.cancelled(),
                    "a task pending when the call returned ran later"
                );
            }
        }
    }
}

//! submit/result, the queries, handle semantics and the types' auto traits.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc, Barrier};
use stealpool::{TaskError, TaskHandle, ThreadPool};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn public_types_are_send_and_sync() {
    assert_send_sync::<ThreadPool>();
    assert_send_sync::<TaskHandle<u32>>();
    assert_send_sync::<TaskError>();
    assert_send_sync::<stealpool::BuildError>();
    // A closure that is Send but not Sync still gives a Send + Sync error.
    assert_send_sync::<stealpool::SubmitError<std::cell::Cell<u8>>>();
}

#[test]
fn results_come_back_with_their_values() {
    let pool = ThreadPool::new(4).unwrap();
    let handles: Vec<_> = (0..1000u64)
        .map(|i| pool.submit(move || i * 3).unwrap())
        .collect();
    for (i, h) in handles.iter().enumerate() {
        assert_eq!(h.result().unwrap(), i as u64 * 3);
    }
}

#[test]
fn submit_error_and_task_error_work_with_question_mark(
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let pool = ThreadPool::new(1)?;
    let value = pool.submit(|| String::from("ok"))?.result()?;
    assert_eq!(value, "ok");
    Ok(())
}

#[test]
fn second_wait_reports_result_taken() {
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| vec![1, 2, 3]).unwrap();
    assert_eq!(h.result().unwrap(), vec![1, 2, 3]);
    assert!(matches!(h.result(), Err(TaskError::ResultTaken)));
    let clone = h.clone();
    assert!(matches!(clone.result(), Err(TaskError::ResultTaken)));
    assert!(h.done());
}

#[test]
fn queries_follow_the_lifecycle() {
    let pool = ThreadPool::new(1).unwrap();
    let started = Arc::new(Barrier::new(2));
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let s = started.clone();
    let h = pool
        .submit(move || {
            s.wait();
            release_rx.recv().unwrap();
        })
        .unwrap();
    let queued = pool.submit(|| ()).unwrap();
    started.wait();
    assert!(h.running() && !h.done() && !h.cancelled());
    assert!(!queued.running() && !queued.done() && !queued.cancelled());
    release_tx.send(()).unwrap();
    h.result().unwrap();
    assert!(!h.running() && h.done() && !h.cancelled());
    queued.result().unwrap();
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    let pool = ThreadPool::new(2).unwrap();
    let (tx, rx) = mpsc::channel();
    drop(pool.submit(move || tx.send(99).unwrap()).unwrap());
    assert_eq!(rx.recv().unwrap(), 99);
}

#[test]
fn handles_outlive_the_pool() {
    let pool = ThreadPool::new(2).unwrap();
    let handles: Vec<_> = (0..100).map(|i| pool.submit(move || i).unwrap()).collect();
    drop(pool); // waits for the queued work, joins the workers
    let sum: i32 = handles.iter().map(|h| h.result().unwrap()).sum();
    assert_eq!(sum, 4950);
}

#[test]
fn clones_share_one_pool_and_the_last_drop_shuts_it_down() {
    let runs = Arc::new(AtomicUsize::new(0));
    let pool = ThreadPool::new(2).unwrap();
    let clone = pool.clone();
    let r = runs.clone();
    let h = clone.submit(move || r.fetch_add(1, SeqCst)).unwrap();
    drop(clone);
    assert!(!pool.is_shutdown(), "one handle is still alive");
    h.result().unwrap();
    let r = runs.clone();
    pool.submit(move || r.fetch_add(1, SeqCst)).unwrap();
    drop(pool); // last handle: waits for the queued task
    assert_eq!(runs.load(SeqCst), 2);
}

#[test]
fn debug_output_does_not_need_debug_values() {
    struct Opaque;
    let pool = ThreadPool::new(1).unwrap();
    let h = pool.submit(|| Opaque).unwrap();
    h.wait();
    assert_eq!(format!("{h:?}"), "TaskHandle { state: Done }");
    assert!(format!("{pool:?}").contains("max_workers: 1"));
    assert!(h.result().is_ok());
}

#[test]
fn results_move_between_threads() {
    let pool = ThreadPool::new(2).unwrap();
    let h = pool.submit(|| Box::new([7u8; 64])).unwrap();
    let waiter = std::thread::spawn(move || h.result().unwrap()[0]);
    assert_eq!(waiter.join().unwrap(), 7);
}

#[test]
fn zero_and_huge_timeouts() {
    use std::time::Duration;
    let pool = ThreadPool::new(1).unwrap();
    let (tx, rx) = mpsc::channel::<()>();
    let h = pool.submit(move || rx.recv().unwrap()).unwrap();
    assert!(
        h.result_timeout(Duration::ZERO).unwrap_err().is_timeout(),
        "zero only polls"
    );
    assert!(!h.wait_timeout(Duration::ZERO));
    tx.send(()).unwrap();
    h.result_timeout(Duration::MAX).unwrap(); // no Instant overflow
    assert!(matches!(
        h.result_timeout(Duration::ZERO),
        Err(TaskError::ResultTaken)
    ));
}

#[test]
fn zero_timeout_on_a_worker_does_not_run_the_awaited_task() {
    use std::time::Duration;
    let pool = ThreadPool::new(1).unwrap();
    let outer = pool
        .submit(|| {
            let child = ThreadPool::current().unwrap().submit(|| 1).unwrap();
            let polled = child
                .result_timeout(Duration::ZERO)
                .map_err(|e| e.is_timeout());
            (polled, child.result().unwrap())
        })
        .unwrap();
    assert_eq!(outer.result().unwrap(), (Err(true), 1));
}
